"""``/v1/audit-events``: the organization's tamper-evident audit log (``admin``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from ..._models import AuditEvent, AuditEventsVerifyResponse
from ..._pagination import AsyncPager
from ..._params import TimestampInput
from ..._request import RequestOptions
from .._resource import AsyncResource


class AsyncAuditEvents(AsyncResource):
    def list(
        self,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        result: Literal["success", "failure"] | None = None,
        since: TimestampInput | None = None,
        until: TimestampInput | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPager[AuditEvent]:
        """Newest first."""
        query = {
            "action": action,
            "actor_id": actor_id,
            "target_id": target_id,
            "result": result,
            "since": since,
            "until": until,
            "limit": limit,
            "cursor": cursor,
        }
        return self._list("/v1/audit-events", query, options)

    def export(
        self,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        result: Literal["success", "failure"] | None = None,
        since: TimestampInput | None = None,
        until: TimestampInput | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncIterator[AuditEvent]:
        """Every matching event, oldest first, streamed from the NDJSON export (live mode only). Lazy: the
        request goes out when the loop starts."""
        query = {
            "action": action,
            "actor_id": actor_id,
            "target_id": target_id,
            "result": result,
            "since": since,
            "until": until,
        }
        return self._transport.lines("/v1/audit-events/export", query=query, options=options)

    async def verify(
        self, *, digest: str | None = None, options: RequestOptions | None = None
    ) -> AuditEventsVerifyResponse:
        """Checks the hash chain (and, given a signed ``digest`` kept outside, that nothing was cut off
        its end)."""
        verified: AuditEventsVerifyResponse = await self._transport.request(
            "GET", "/v1/audit-events/verify", query={"digest": digest}, options=options
        )
        return verified
