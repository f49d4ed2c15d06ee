"""The organization itself: its settings (``/v1/organization``), its security report and its usage."""

from __future__ import annotations

from typing import TypedDict

from ..._models import Organization, SecurityReport, Usage
from ..._request import RequestOptions
from .._resource import AsyncResource


class Policy(TypedDict, total=False):
    #: The longest lifetime a new API key may have, days (``None``: no limit).
    max_key_lifetime_days: int | None
    #: The age at which the security report asks for a key's rotation, days.
    key_rotation_days: int | None


class AsyncOrganizationResource(AsyncResource):
    async def retrieve(self, *, options: RequestOptions | None = None) -> Organization:
        found: Organization = await self._transport.request(
            "GET", "/v1/organization", options=options
        )
        return found

    async def update(
        self, *, policy: Policy, options: RequestOptions | None = None
    ) -> Organization:
        updated: Organization = await self._transport.request(
            "PATCH", "/v1/organization", body={"policy": dict(policy)}, options=options
        )
        return updated


class AsyncSecurity(AsyncResource):
    async def report(self, *, options: RequestOptions | None = None) -> SecurityReport:
        """The reference's security checklist, answered for this organization."""
        report: SecurityReport = await self._transport.request(
            "GET", "/v1/security/report", options=options
        )
        return report


class AsyncUsageResource(AsyncResource):
    async def retrieve(
        self, *, days: int | None = None, options: RequestOptions | None = None
    ) -> Usage:
        """Requests per UTC day (oldest first), the tier's limits and where the current windows stand."""
        usage: Usage = await self._transport.request(
            "GET", "/v1/usage", query={"days": days}, options=options
        )
        return usage
