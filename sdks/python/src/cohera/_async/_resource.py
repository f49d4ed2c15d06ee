"""What every asynchronous resource shares (hand-written: lists differ in shape between the clients)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._pagination import AsyncPager
from .._request import QueryValue, RequestOptions
from ._transport import AsyncTransport


class AsyncResource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    def _list(
        self, path: str, query: Mapping[str, QueryValue], options: RequestOptions | None
    ) -> AsyncPager[Any]:
        first = query.get("cursor")

        async def fetch(cursor: str | None) -> Any:
            return await self._transport.request(
                "GET", path, query={**query, "cursor": cursor or first}, options=options
            )

        return AsyncPager(fetch)
