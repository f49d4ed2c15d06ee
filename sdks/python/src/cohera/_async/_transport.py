"""Moves one call's bytes: the decisions (retry, wait, renew, which error) are ``cohera._request``'s."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from .._credentials import Credential
from .._request import (
    Attempts,
    Done,
    Fail,
    Method,
    QueryValue,
    RateLimit,
    RequestOptions,
    Settings,
    prepare,
    rate_limit_of,
    stream_broken,
)


class AsyncTransport:
    def __init__(
        self, settings: Settings, credential: Credential, http: httpx.AsyncClient | None
    ) -> None:
        self.settings = settings
        self.credential = credential
        self._own_http = http is None
        # Redirects are never followed: a redirect would carry the Authorization header elsewhere.
        self.http = http if http is not None else httpx.AsyncClient(follow_redirects=False)
        self.last_rate_limit: RateLimit | None = None

    async def request(
        self,
        method: Method,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        anonymous: bool = False,
    ) -> Any:
        """``anonymous``: a public endpoint, sent without ``Authorization`` even when the client has a
        credential (a key handed in as leaked must not travel with the reporter's own)."""
        prepared = prepare(self.settings, method, path, query=query, body=body, options=options)
        attempts = Attempts(prepared, self.settings, self.credential, anonymous)
        while True:
            try:
                response = await self.http.request(
                    prepared.method,
                    prepared.url,
                    headers=attempts.headers(),
                    content=prepared.content,
                    timeout=prepared.timeout,
                )
            except httpx.TransportError as error:
                step = attempts.after_error(error)
            else:
                step = attempts.after_response(
                    response.status_code, response.headers, response.content
                )
                self.last_rate_limit = attempts.rate_limit or self.last_rate_limit
            if isinstance(step, Done):
                return step.value
            if isinstance(step, Fail):
                # Raised outside the `except`: the httpx exception (whose request holds the credential)
                # is not chained into the traceback; its class and text are in the message.
                raise step.error
            await asyncio.sleep(step.delay)

    async def lines(
        self,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncIterator[Any]:
        """``GET`` an NDJSON stream, one parsed object per line, read as it arrives (a long export is
        never held in memory). Retried like any call until the response starts; a connection lost after
        that raises ``APIConnectionError`` instead: a retry would hand out the first lines again."""
        prepared = prepare(
            self.settings, "GET", path, query=query, options=options, accept="application/x-ndjson"
        )
        attempts = Attempts(prepared, self.settings, self.credential)
        started = False
        while True:
            try:
                async with self.http.stream(
                    prepared.method,
                    prepared.url,
                    headers=attempts.headers(),
                    timeout=prepared.timeout,
                ) as response:
                    if response.is_success:
                        self.last_rate_limit = rate_limit_of(response.headers) or self.last_rate_limit
                        started = True
                        async for line in response.aiter_lines():
                            if line.strip():
                                yield json.loads(line)
                        return
                    await response.aread()
                    step = attempts.after_response(
                        response.status_code, response.headers, response.content
                    )
            except httpx.TransportError as error:
                step = Fail(stream_broken(prepared)) if started else attempts.after_error(error)
            if isinstance(step, Fail):
                raise step.error  # outside the `except`: see request()
            if isinstance(step, Done):  # an empty 2xx body has no lines
                return
            await asyncio.sleep(step.delay)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
