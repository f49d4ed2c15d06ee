"""What every synchronous resource shares (hand-written: lists differ in shape between the clients)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._pagination import Page
from .._request import QueryValue, RequestOptions
from ._transport import Transport


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _list(
        self, path: str, query: Mapping[str, QueryValue], options: RequestOptions | None
    ) -> Page[Any]:
        first = query.get("cursor")

        def fetch(cursor: str | None) -> Any:
            return self._transport.request(
                "GET", path, query={**query, "cursor": cursor or first}, options=options
            )

        # Eager, unlike the async pager: a sync call returns a page that exists.
        return Page(fetch(None), fetch)
