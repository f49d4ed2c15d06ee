"""Lists. ``client.suppliers.list()`` is one page (``.data``, ``.next_cursor``, ``.has_next_page()``,
``.next_page()``) that is also an iterator over every item from that page on, fetching further pages
(cursor pagination) as the loop reaches them::

    for supplier in client.suppliers.list(limit=50):   # every supplier, 50 per request
        ...

On :class:`~cohera.AsyncCohera`, ``list()`` returns an :class:`AsyncPager`: ``await`` it for the first
page, or ``async for`` over it for every item (the request goes out on first use, not at ``list()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Fetches the page after ``cursor`` (``None``: the first) and returns the raw ``{data, next_cursor}``.
FetchPage = Callable[[str | None], Any]
AsyncFetchPage = Callable[[str | None], Awaitable[Any]]


def _parts(body: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    data = body.get("data")
    cursor = body.get("next_cursor")
    return (list(data) if isinstance(data, list) else [], cursor if isinstance(cursor, str) else None)


class Page(Generic[T]):
    """One page of a list, and an iterator over every item from here to the end of the list."""

    def __init__(self, body: Mapping[str, Any], fetch: FetchPage) -> None:
        self.data: list[T]
        self.next_cursor: str | None
        self.data, self.next_cursor = _parts(body)
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def next_page(self) -> Page[T] | None:
        """The next page, or ``None`` after the last."""
        if self.next_cursor is None:
            return None
        return Page(self._fetch(self.next_cursor), self._fetch)

    def __iter__(self) -> Iterator[T]:
        page: Page[T] | None = self
        while page is not None:
            yield from page.data
            page = page.next_page()

    def __repr__(self) -> str:
        return f"<Page of {len(self.data)} next_cursor={self.next_cursor!r}>"


class AsyncPage(Generic[T]):
    """One page of a list, and an async iterator over every item from here to the end of the list."""

    def __init__(self, body: Mapping[str, Any], fetch: AsyncFetchPage) -> None:
        self.data: list[T]
        self.next_cursor: str | None
        self.data, self.next_cursor = _parts(body)
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    async def next_page(self) -> AsyncPage[T] | None:
        """The next page, or ``None`` after the last."""
        if self.next_cursor is None:
            return None
        return AsyncPage(await self._fetch(self.next_cursor), self._fetch)

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] | None = self
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()

    def __repr__(self) -> str:
        return f"<AsyncPage of {len(self.data)} next_cursor={self.next_cursor!r}>"


class AsyncPager(Generic[T]):
    """What ``AsyncCohera``'s ``list()`` returns: awaitable (the first page) and async-iterable (every
    item). Lazy: nothing is sent until it is awaited or iterated, and awaiting it twice sends one request."""

    def __init__(self, fetch: AsyncFetchPage) -> None:
        self._fetch = fetch
        self._first: AsyncPage[T] | None = None

    async def _page(self) -> AsyncPage[T]:
        if self._first is None:
            self._first = AsyncPage(await self._fetch(None), self._fetch)
        return self._first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for item in await self._page():
            yield item
