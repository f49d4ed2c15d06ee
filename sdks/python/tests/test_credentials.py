"""``client.credentials.revoke``: the public leaked-credential endpoint, from a client with no credential
(``Cohera(anonymous=True)``) and from one with a key, which must not send it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from cohera import AsyncCohera, AuthenticationError, Cohera, CoheraError
from loopback import LossyProxy, serve

#: How long the leak worker (it polls every 250 ms) may take to handle a reported key.
HANDLED_WITHIN_SECONDS = 15.0


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANDLED_WITHIN_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {HANDLED_WITHIN_SECONDS:g} s: {what}")
        time.sleep(0.2)


def refused(key: str, base_url: str) -> bool:
    with Cohera(api_key=key, base_url=base_url) as holder:
        try:
            holder.whoami()
        except AuthenticationError:
            return True
    return False


def test_revoking_a_live_and_a_test_key(server: Any) -> None:
    org = server.bootstrap(org=f"Leaky {uuid.uuid4().hex[:6]}", email=f"{uuid.uuid4().hex[:10]}@leak.test")
    with Cohera(api_key=org.api_key, base_url=server.base_url) as admin:
        live = admin.api_keys.create(name="Leaked live", scopes=["read:suppliers"])
        sandbox = admin.api_keys.create(name="Leaked test", scopes=["read:suppliers"], mode="test")
        bystander = admin.api_keys.create(name="Bystander", scopes=["read:suppliers"])
        assert live["key"].startswith("ck_live_") and sandbox["key"].startswith("ck_test_")
        # A bystander's key with its checksum broken: shaped like a key, yet no key.
        broken = bystander["key"][:-1] + ("A" if bystander["key"][-1] != "A" else "B")
        found = [live["key"], sandbox["key"], live["key"], "hello world", broken]

        with Cohera(anonymous=True, base_url=server.base_url) as anonymous:
            answer = anonymous.credentials.revoke(found)
        assert answer == {"received": 4}  # the duplicate is sent once

        for made in (live, sandbox):
            eventually(lambda: refused(made["key"], server.base_url), f"{made['name']} refused")
            revoked = admin.api_keys.retrieve(made["id"])
            assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "leaked"
        # The garbage changed nothing: the bystander's key and the admin's own still work.
        assert not refused(bystander["key"], server.base_url)
        assert admin.api_keys.retrieve(bystander["id"])["status"] == "active"
        assert admin.whoami()["org_id"] == org.org_id


def test_no_authorization_header_is_sent_and_batches_of_1000(server: Any) -> None:
    proxy = LossyProxy(server.base_url, lambda method, path, attempt: False)
    strings = [f"not-a-key-{i}" for i in range(1001)]
    with serve(proxy.handler()) as url:
        with Cohera(api_key=server.api_key, base_url=url) as client:
            assert client.credentials.revoke(strings + strings[:10]) == {"received": 1001}
            assert client.credentials.revoke([]) == {"received": 0}  # nothing to send: no request
            client.whoami()  # its other calls do send the key
    posts = [headers for method, path, headers in proxy.seen if path == "/v1/credentials/revoke"]
    assert len(posts) == 2
    assert all("authorization" not in {name.lower() for name in headers} for headers in posts)
    health = {name.lower(): value for name, value in proxy.seen[-1][2].items()}
    assert proxy.seen[-1][1] == "/health" and health["authorization"] == f"Bearer {server.api_key}"


def test_an_anonymous_client_refuses_other_calls_before_sending(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERA_API_KEY", server.api_key)  # ignored: anonymous means no credential at all
    proxy = LossyProxy(server.base_url, lambda method, path, attempt: False)
    with serve(proxy.handler()) as url:
        client = Cohera(anonymous=True, base_url=url)
        for call in (client.suppliers.list, client.whoami, lambda: client.members.remove("usr_x")):
            with pytest.raises(CoheraError) as missing:
                call()
            assert missing.value.code == "missing_credential" and missing.value.status is None
        assert "anonymous" in repr(client) and server.api_key not in repr(client)
        client.close()
    assert proxy.seen == []  # nothing reached the server
    with pytest.raises(CoheraError) as both:
        Cohera(anonymous=True, api_key=server.api_key)
    assert both.value.code == "conflicting_credentials"
    with pytest.raises(TypeError):
        Cohera(anonymous=True).credentials.revoke("ck_live_" + "x" * 38)  # one string, not a list


def test_async_revoke(server: Any) -> None:
    async def scenario() -> None:
        async with AsyncCohera(anonymous=True, base_url=server.base_url) as client:
            assert await client.credentials.revoke(iter(["garbage", "garbage"])) == {"received": 1}
            with pytest.raises(CoheraError) as missing:
                await client.organization.retrieve()
            assert missing.value.code == "missing_credential"

    asyncio.run(scenario())
