"""A server whose database is down answers ``503 service_unavailable`` with ``Retry-After`` (the server's
docs/operations.md, "PostgreSQL is down or slow"). Both clients wait as told and retry what is safe to
retry: idempotent methods, and ``POST``, which carries an ``Idempotency-Key`` (the same on every attempt).
A ``PATCH`` is not retried, and a wait longer than ``max_retry_delay`` is not sat out. Against a real
loopback HTTP server that answers from a script."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from cohera import APIError, AsyncCohera, Cohera
from loopback import serve

KEY = "ck_live_" + "R" * 32 + "000000"
SUPPLIER = {
    "id": "sup_1",
    "object": "supplier",
    "name": "A",
    "country": "DE",
    "contact_email": None,
    "status": "active",
    "created_at": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
}
OUTAGE = {
    "type": "https://docs.cohera.io/errors#service_unavailable",
    "title": "The service is unavailable",
    "status": 503,
    "code": "service_unavailable",
    "detail": "The database is unreachable or too slow right now; retry in 1 s",
    "request_id": "req_outage",
}


class Script:
    """Answers each request with the next reply (the last one repeats) and records what it received."""

    def __init__(self, replies: list[tuple[int, dict[str, str], dict[str, Any]]]) -> None:
        self.replies = replies
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with script._lock:
                    script.received.append(
                        (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    index = min(len(script.received), len(script.replies)) - 1
                status, headers, body = script.replies[index]
                payload = json.dumps(body).encode()
                self.send_response(status)
                content_type = "application/problem+json" if status >= 400 else "application/json"
                self.send_header("content-type", content_type)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _answer

        return Handler


@contextmanager
def scripted(*replies: tuple[int, dict[str, str], dict[str, Any]]) -> Iterator[tuple[Script, str]]:
    script = Script(list(replies))
    with serve(script.handler()) as url:
        yield script, url


UNAVAILABLE = (503, {"retry-after": "1"}, OUTAGE)


def test_a_get_is_retried_after_retry_after_and_succeeds() -> None:
    with scripted(UNAVAILABLE, (200, {}, SUPPLIER)) as (script, url):
        with Cohera(api_key=KEY, base_url=url) as client:
            assert client.suppliers.retrieve("sup_1")["id"] == "sup_1"
    assert [path for _, path, _ in script.received] == ["/v1/suppliers/sup_1"] * 2


def test_a_post_is_retried_with_the_same_idempotency_key() -> None:
    with scripted(UNAVAILABLE, UNAVAILABLE, (201, {}, SUPPLIER)) as (script, url):
        with Cohera(api_key=KEY, base_url=url) as client:
            assert client.suppliers.create(name="A", country="DE")["id"] == "sup_1"
    keys = [headers["idempotency-key"] for method, _, headers in script.received if method == "POST"]
    assert len(keys) == 3 and len(set(keys)) == 1


def test_a_patch_is_not_retried_and_the_outage_is_an_api_error() -> None:
    with scripted(UNAVAILABLE, (200, {}, SUPPLIER)) as (script, url):
        with Cohera(api_key=KEY, base_url=url) as client:
            with pytest.raises(APIError) as raised:
                client.suppliers.update("sup_1", name="B")
    assert raised.value.status == 503 and raised.value.code == "service_unavailable"
    assert raised.value.headers["retry-after"] == "1"
    assert len(script.received) == 1


def test_a_wait_longer_than_max_retry_delay_is_not_sat_out() -> None:
    with scripted((503, {"retry-after": "120"}, OUTAGE), (200, {}, SUPPLIER)) as (script, url):
        with Cohera(api_key=KEY, base_url=url, max_retry_delay=60) as client:
            with pytest.raises(APIError) as raised:
                client.suppliers.retrieve("sup_1")
    assert raised.value.status == 503
    assert len(script.received) == 1


def test_the_async_client_retries_an_outage_too() -> None:
    async def main() -> tuple[str, str]:
        async with AsyncCohera(api_key=KEY, base_url=url) as client:
            fetched = await client.suppliers.retrieve("sup_1")
            created = await client.suppliers.create(name="A", country="DE")
            return fetched["id"], created["id"]

    with scripted(UNAVAILABLE, (200, {}, SUPPLIER)) as (script, url):
        assert asyncio.run(main()) == ("sup_1", "sup_1")
    # The GET once refused, then served; the POST served at once by the repeating last reply.
    assert [method for method, _, _ in script.received] == ["GET", "GET", "POST"]
