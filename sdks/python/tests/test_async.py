"""``AsyncCohera``: the same surface on ``httpx.AsyncClient``, against the real server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from cohera import (
    APIConnectionError,
    AsyncCohera,
    AsyncPage,
    AuthenticationError,
    Cohera,
    NotFoundError,
    ValidationError,
)
from loopback import LossyProxy, closed_port, serve

T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def test_same_public_surface_as_the_sync_client(server: Any) -> None:
    sync = Cohera(api_key=server.api_key, base_url=server.base_url)
    a = AsyncCohera(api_key=server.api_key, base_url=server.base_url)
    resources = (
        "suppliers", "products", "certificates", "api_keys", "service_accounts", "oauth_clients",
        "webhook_endpoints", "events", "audit_events", "organization", "security", "usage",
        "credentials", "members", "invitations",
    )
    for name in resources:
        sync_methods = {m for m in dir(getattr(sync, name)) if not m.startswith("_")}
        async_methods = {m for m in dir(getattr(a, name)) if not m.startswith("_")}
        assert sync_methods == async_methods and sync_methods, name
    assert server.api_key not in repr(a)


def test_crud_and_pagination(server: Any) -> None:
    async def scenario() -> None:
        async with AsyncCohera(api_key=server.api_key, base_url=server.base_url) as client:
            marker = f"Async {uuid.uuid4().hex[:8]}"
            made = await asyncio.gather(
                *(client.suppliers.create(name=f"{marker} {i}", country="SE") for i in range(5))
            )
            assert len({s["id"] for s in made}) == 5
            got = await client.suppliers.retrieve(made[0]["id"])
            assert got["name"] == made[0]["name"]
            updated = await client.suppliers.update(made[0]["id"], status="suspended")
            assert updated["status"] == "suspended"

            page = await client.suppliers.list(limit=2)
            assert isinstance(page, AsyncPage) and len(page.data) == 2 and page.has_next_page()
            following = await page.next_page()
            assert following is not None and following.data[0]["id"] != page.data[0]["id"]
            every = [s["id"] async for s in client.suppliers.list(limit=2)]
            assert {s["id"] for s in made} <= set(every) and len(every) == len(set(every))
            pager = client.suppliers.list(limit=3)
            assert (await pager) is (await pager)  # awaiting twice sends one request

            await client.suppliers.delete(made[0]["id"])
            with pytest.raises(NotFoundError):
                await client.suppliers.retrieve(made[0]["id"])
            with pytest.raises(ValidationError):
                await client.suppliers.create(name="Bad", country="Sweden")
            assert (await client.whoami())["org_id"] == server.org_id
            exported = [e async for e in client.audit_events.export(result="success")]
            assert exported and all(e["result"] == "success" for e in exported)
            assert client.last_rate_limit is not None

    run(scenario)


def test_errors_and_retries(server: Any) -> None:
    async def scenario() -> None:
        async with AsyncCohera(api_key="ck_live_" + "Z" * 38, base_url=server.base_url) as stranger:
            with pytest.raises(AuthenticationError):
                await stranger.organization.retrieve()
        async with AsyncCohera(api_key=server.api_key, base_url=closed_port(), max_retries=0) as c:
            with pytest.raises(APIConnectionError):
                await c.usage.retrieve()

        proxy = LossyProxy(
            server.base_url, lambda method, path, attempt: method == "POST" and attempt == 1
        )
        name = f"Async once {uuid.uuid4().hex}"
        with serve(proxy.handler()) as url:
            async with AsyncCohera(api_key=server.api_key, base_url=url) as flaky:
                created = await flaky.suppliers.create(name=name, country="SE")
        async with AsyncCohera(api_key=server.api_key, base_url=server.base_url) as client:
            same = [s["id"] async for s in client.suppliers.list(limit=100) if s["name"] == name]
        assert same == [created["id"]]
        assert len([m for m, _, _ in proxy.seen if m == "POST"]) == 2

    run(scenario)
