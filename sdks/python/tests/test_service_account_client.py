"""``Cohera(service_account=…, scopes=…)``: the client mints a token, reuses it, renews it before it
expires, and mints a fresh one once when the server refuses it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cohera import AsyncCohera, AuthenticationError, Cohera, CoheraError, PermissionDeniedError
from cohera._credentials import ServiceAccountCredential
from cohera.auth import ServiceAccount


class Counting:
    """A real ServiceAccount, counting the tokens it signs."""

    def __init__(self, account: ServiceAccount) -> None:
        self.account = account
        self.api_base_url = account.api_base_url
        self.minted: list[str] = []

    def generate_token(self, scopes: list[str], expires_in: int = 3600) -> str:
        token = self.account.generate_token(scopes=scopes, expires_in=expires_in)
        self.minted.append(token)
        return token


@pytest.fixture()
def account(client: Cohera) -> Counting:
    made = client.service_accounts.create(name="Minting worker", scopes=["read:suppliers"])
    key_file = client.service_accounts.create_key(made["id"])
    return Counting(ServiceAccount.from_dict(key_file))


def test_mints_once_and_reuses(account: Counting, server: Any) -> None:
    # No base_url: the key file's api_base_url (the server's public URL) is used.
    with Cohera(service_account=account, scopes=["read:suppliers"]) as client:
        assert client.base_url == server.base_url
        for _ in range(3):
            list(client.suppliers.list(limit=1))
        assert client.whoami()["kind"] == "service_account"
        with pytest.raises(PermissionDeniedError):
            client.suppliers.create(name="Not allowed", country="SE")
    assert len(account.minted) == 1
    assert "minted" not in repr(client) and account.minted[0] not in repr(client)


def test_renews_before_expiry() -> None:
    now = [1000.0]
    minted: list[int] = []

    class Minter:
        def generate_token(self, scopes: list[str], expires_in: int = 3600) -> str:
            minted.append(expires_in)
            return f"token-{len(minted)}"

    credential = ServiceAccountCredential(Minter(), ["read:suppliers"], 600, clock=lambda: now[0])
    assert credential.current() == "token-1"
    now[0] += 600 - 61  # renew_before is max(30, 600/10) = 60 s
    assert credential.current() == "token-1"
    now[0] += 2
    assert credential.current() == "token-2" and minted == [600, 600]


def test_a_refused_token_is_minted_once_more(account: Counting, server: Any) -> None:
    class Stale(Counting):
        """Hands out a token the server refuses first (as after a clock jump), then real ones."""

        def generate_token(self, scopes: list[str], expires_in: int = 3600) -> str:
            if not self.minted:
                self.minted.append("stale")
                return "not-a-valid-token"
            return super().generate_token(scopes, expires_in)

    stale = Stale(account.account)
    with Cohera(service_account=stale, scopes=["read:suppliers"], base_url=server.base_url) as c:
        assert c.whoami()["kind"] == "service_account"
    assert len(stale.minted) == 2

    class AlwaysBad(Counting):
        def generate_token(self, scopes: list[str], expires_in: int = 3600) -> str:
            self.minted.append("bad")
            return "not-a-valid-token"

    bad = AlwaysBad(account.account)
    with Cohera(service_account=bad, scopes=["read:suppliers"], base_url=server.base_url) as c:
        with pytest.raises(AuthenticationError):
            c.whoami()
    assert len(bad.minted) == 2  # one renewal, not a loop


def test_async_client_and_argument_checks(account: Counting, server: Any) -> None:
    async def scenario() -> str:
        async with AsyncCohera(service_account=account, scopes=["read:suppliers"]) as client:
            await client.suppliers.list(limit=1)
            return (await client.whoami())["kind"]

    assert asyncio.run(scenario()) == "service_account"
    with pytest.raises(CoheraError) as missing:
        Cohera(service_account=account)
    assert missing.value.code == "missing_scopes"
    with pytest.raises(CoheraError):
        Cohera(service_account=account, scopes=["read:suppliers"], token_lifetime=7200)


def test_access_token_callable_is_called_per_request(account: Counting, server: Any) -> None:
    calls: list[int] = []

    def current() -> str:
        calls.append(1)
        return account.account.generate_token(scopes=["read:suppliers"], expires_in=300)

    with Cohera(access_token=current, base_url=server.base_url) as client:
        client.suppliers.list(limit=1)
        client.whoami()
    assert len(calls) == 2
