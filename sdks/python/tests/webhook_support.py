"""A real webhook receiver on 127.0.0.1 for the tests (the Python twin of the server's
test/support/webhook-receiver.ts), and one real delivery from the session's server to it."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from auth_support import admin

__all__ = ["Delivery", "Receiver", "real_delivery", "receiver", "start_receiver"]


@dataclass
class Receiver:
    url: str
    receipts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, seconds: float = 20.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + seconds
        with self.arrived:
            while len(self.receipts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} deliveries, got {len(self.receipts)}")
                self.arrived.wait(left)
            return list(self.receipts)


@dataclass(frozen=True)
class Delivery:
    secret: str
    endpoint_id: str
    headers: dict[str, str]
    body: bytes


def start_receiver() -> tuple[Receiver, http.server.ThreadingHTTPServer]:
    """An HTTP server on 127.0.0.1 keeping each request's headers and exact body bytes, answering 204."""
    holder: list[Receiver] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(204)
            self.end_headers()
            target = holder[0]
            with target.arrived:
                target.receipts.append((dict(self.headers.items()), body))
                target.arrived.notify_all()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder[0], server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made, server = start_receiver()
    yield made
    server.shutdown()
    server.server_close()


def real_delivery(server: Any) -> Delivery:
    """A ``webhook.test`` delivery from the server to a receiver of our own, with the endpoint's secret.
    The endpoint stays registered (disabled afterwards, so nothing else is sent to the closed port)."""
    made, http_server = start_receiver()
    try:
        with admin(server) as api:
            created = api.post("/v1/webhook-endpoints", json={"url": made.url, "events": ["webhook.test"]})
            assert created.status_code == 201, created.text
            endpoint = created.json()
            assert api.post(f"/v1/webhook-endpoints/{endpoint['id']}/test").status_code == 202
            [(headers, body)] = made.wait_for(1)
            api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"status": "disabled"})
        return Delivery(secret=endpoint["secret"], endpoint_id=endpoint["id"], headers=headers, body=body)
    finally:
        http_server.shutdown()
        http_server.server_close()
