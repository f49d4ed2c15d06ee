# GENERATED from _async/resources/api_keys.py by scripts/unasync.py: edit the async source, not this.
"""``/v1/api-keys``: create, roll (rotation without downtime), revoke, and per-day usage (``admin``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..._models import ApiKey, ApiKeyUsageResponse, ApiKeyWithSecret, Mode, Scope
from ..._pagination import Page
from ..._params import OMIT, Omit, TimestampInput, fields
from ..._request import RequestOptions, segment
from .._resource import Resource


class ApiKeys(Resource):
    def create(
        self,
        *,
        name: str,
        scopes: Sequence[Scope],
        mode: Mode | Omit = OMIT,
        expires_at: TimestampInput | Omit = OMIT,
        expires_in_days: int | Omit = OMIT,
        rate_limit_per_minute: int | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> ApiKeyWithSecret:
        """The new key is in ``["key"]`` of this response only: Cohera keeps just a hash."""
        body = fields(
            name=name,
            scopes=list(scopes),
            mode=mode,
            expires_at=expires_at,
            expires_in_days=expires_in_days,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        created: ApiKeyWithSecret = self._transport.request(
            "POST", "/v1/api-keys", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> ApiKey:
        found: ApiKey = self._transport.request(
            "GET", f"/v1/api-keys/{segment(id)}", options=options
        )
        return found

    def list(
        self,
        *,
        mode: Mode | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[ApiKey]:
        return self._list(
            "/v1/api-keys", {"mode": mode, "limit": limit, "cursor": cursor}, options
        )

    def revoke(self, id: str, *, options: RequestOptions | None = None) -> ApiKey:
        """Stops the key at once, on every node (revocation fans out within a second)."""
        revoked: ApiKey = self._transport.request(
            "POST", f"/v1/api-keys/{segment(id)}/revoke", options=options
        )
        return revoked

    def roll(
        self,
        id: str,
        *,
        grace_period_seconds: int | Omit = OMIT,
        scopes: Sequence[Scope] | Omit = OMIT,
        expires_at: TimestampInput | Omit = OMIT,
        expires_in_days: int | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> ApiKeyWithSecret:
        """A new key with the same name, scopes and lifetime length; the old one keeps working for
        ``grace_period_seconds`` while you deploy the new one."""
        body = fields(
            grace_period_seconds=grace_period_seconds,
            scopes=scopes if isinstance(scopes, Omit) else list(scopes),
            expires_at=expires_at,
            expires_in_days=expires_in_days,
        )
        rolled: ApiKeyWithSecret = self._transport.request(
            "POST", f"/v1/api-keys/{segment(id)}/roll", body=body, options=options
        )
        return rolled

    def usage(
        self, id: str, *, days: int | None = None, options: RequestOptions | None = None
    ) -> ApiKeyUsageResponse:
        """Requests, errors and rate-limited requests per UTC day, oldest first."""
        usage: ApiKeyUsageResponse = self._transport.request(
            "GET", f"/v1/api-keys/{segment(id)}/usage", query={"days": days}, options=options
        )
        return usage
