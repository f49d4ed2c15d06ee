# GENERATED from _async/resources/service_accounts.py by scripts/unasync.py: edit the async source, not this.
"""``/v1/service-accounts`` and their signing keys (``admin``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._models import Mode, Scope, ServiceAccount, ServiceAccountKey, ServiceAccountKeyFile
from ..._pagination import Page
from ..._params import OMIT, Omit, TimestampInput, fields
from ..._request import RequestOptions, segment
from .._resource import Resource


class ServiceAccounts(Resource):
    def create(
        self,
        *,
        name: str,
        scopes: Sequence[Scope],
        mode: Mode | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> ServiceAccount:
        body = fields(name=name, scopes=list(scopes), mode=mode)
        created: ServiceAccount = self._transport.request(
            "POST", "/v1/service-accounts", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> ServiceAccount:
        found: ServiceAccount = self._transport.request(
            "GET", f"/v1/service-accounts/{segment(id)}", options=options
        )
        return found

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        """Deletes the account and its keys: its tokens stop working at once."""
        self._transport.request(
            "DELETE", f"/v1/service-accounts/{segment(id)}", options=options
        )

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[ServiceAccount]:
        return self._list("/v1/service-accounts", {"limit": limit, "cursor": cursor}, options)

    def create_key(
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
        created: ServiceAccountKeyFile | ServiceAccountKey = self._transport.request(
            "POST", f"/v1/service-accounts/{segment(id)}/keys", body=body, options=options
        )
        return created

    def list_keys(
        self, id: str, *, options: RequestOptions | None = None
    ) -> Page[ServiceAccountKey]:
        return self._list(f"/v1/service-accounts/{segment(id)}/keys", {}, options)

    def delete_key(
        self, id: str, key_id: str, *, options: RequestOptions | None = None
    ) -> None:
        path = f"/v1/service-accounts/{segment(id)}/keys/{segment(key_id, 'key_id')}"
        self._transport.request("DELETE", path, options=options)
