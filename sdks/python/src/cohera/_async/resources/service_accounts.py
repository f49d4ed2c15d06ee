"""``/v1/service-accounts`` and their signing keys (``admin``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._models import Mode, Scope, ServiceAccount, ServiceAccountKey, ServiceAccountKeyFile
from ..._pagination import AsyncPager
from ..._params import OMIT, Omit, TimestampInput, fields
from ..._request import RequestOptions, segment
from .._resource import AsyncResource


class AsyncServiceAccounts(AsyncResource):
    async def create(
        self,
        *,
        name: str,
        scopes: Sequence[Scope],
        mode: Mode | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> ServiceAccount:
        body = fields(name=name, scopes=list(scopes), mode=mode)
        created: ServiceAccount = await self._transport.request(
            "POST", "/v1/service-accounts", body=body, options=options
        )
        return created

    async def retrieve(self, id: str, *, options: RequestOptions | None = None) -> ServiceAccount:
        found: ServiceAccount = await self._transport.request(
            "GET", f"/v1/service-accounts/{segment(id)}", options=options
        )
        return found

    async def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        """Deletes the account and its keys: its tokens stop working at once."""
        await self._transport.request(
            "DELETE", f"/v1/service-accounts/{segment(id)}", options=options
        )

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPager[ServiceAccount]:
        return self._list("/v1/service-accounts", {"limit": limit, "cursor": cursor}, options)

    async def create_key(
        self,
        id: str,
        *,
        public_key: str | Omit = OMIT,
        algorithm: Literal["ES256", "RS256", "EdDSA"] | Omit = OMIT,
        expires_at: TimestampInput | Omit = OMIT,
        expires_in_days: int | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> ServiceAccountKeyFile | ServiceAccountKey:
        """Without ``public_key``: the server generates a key pair and answers with the key file
        (``ServiceAccountKeyFile``, its private key shown only now; save it for
        ``ServiceAccount.from_file``). With one: the key is registered (``ServiceAccountKey``).

        The lifetime is given as for API keys: ``expires_in_days`` or ``expires_at`` (a plain date means
        the end of that day in UTC), or neither for a key that never expires (the security report's
        ``service_account_keys_without_expiry`` lists it). Under the organization's
        ``max_key_lifetime_days`` an expiry within it is required (``ValidationError`` otherwise)."""
        body = fields(
            public_key=public_key,
            algorithm=algorithm,
            expires_at=expires_at,
            expires_in_days=expires_in_days,
        )
        created: ServiceAccountKeyFile | ServiceAccountKey = await self._transport.request(
            "POST", f"/v1/service-accounts/{segment(id)}/keys", body=body, options=options
        )
        return created

    def list_keys(
        self, id: str, *, options: RequestOptions | None = None
    ) -> AsyncPager[ServiceAccountKey]:
        return self._list(f"/v1/service-accounts/{segment(id)}/keys", {}, options)

    async def delete_key(
        self, id: str, key_id: str, *, options: RequestOptions | None = None
    ) -> None:
        path = f"/v1/service-accounts/{segment(id)}/keys/{segment(key_id, 'key_id')}"
        await self._transport.request("DELETE", path, options=options)
