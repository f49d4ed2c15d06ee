# GENERATED from _async/resources/webhooks.py by scripts/unasync.py: edit the async source, not this.
"""``/v1/webhook-endpoints`` (with their deliveries) and ``/v1/events`` (``admin``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._models import (
    Event,
    EventType,
    WebhookEndpoint,
    WebhookEndpointDelivery,
    WebhookEndpointRecoverResponse,
    WebhookEndpointRotateSecretResponse,
    WebhookEndpointTestResponse,
    WebhookEndpointWithSecret,
)
from ..._pagination import Page
from ..._params import OMIT, Omit, TimestampInput, fields
from ..._request import RequestOptions, segment
from .._resource import Resource

PATH = "/v1/webhook-endpoints"


class WebhookEndpoints(Resource):
    def create(
        self,
        *,
        url: str,
        events: Sequence[EventType],
        description: str | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> WebhookEndpointWithSecret:
        """The signing secret (``whsec_…``) is in this response only."""
        body = fields(url=url, events=list(events), description=description)
        created: WebhookEndpointWithSecret = self._transport.request(
            "POST", PATH, body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> WebhookEndpoint:
        found: WebhookEndpoint = self._transport.request(
            "GET", f"{PATH}/{segment(id)}", options=options
        )
        return found

    def update(
        self,
        id: str,
        *,
        url: str | Omit = OMIT,
        events: Sequence[EventType] | Omit = OMIT,
        description: str | Omit = OMIT,
        status: Literal["enabled", "disabled"] | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> WebhookEndpoint:
        body = fields(
            url=url,
            events=events if isinstance(events, Omit) else list(events),
            description=description,
            status=status,
        )
        updated: WebhookEndpoint = self._transport.request(
            "PATCH", f"{PATH}/{segment(id)}", body=body, options=options
        )
        return updated

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        self._transport.request("DELETE", f"{PATH}/{segment(id)}", options=options)

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[WebhookEndpoint]:
        return self._list(PATH, {"limit": limit, "cursor": cursor}, options)

    def rotate_secret(
        self,
        id: str,
        *,
        grace_period_seconds: int | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> WebhookEndpointRotateSecretResponse:
        """A new signing secret; the old one also signs for ``grace_period_seconds``."""
        rotated: WebhookEndpointRotateSecretResponse = self._transport.request(
            "POST",
            f"{PATH}/{segment(id)}/rotate-secret",
            body=fields(grace_period_seconds=grace_period_seconds),
            options=options,
        )
        return rotated

    def test(
        self, id: str, *, options: RequestOptions | None = None
    ) -> WebhookEndpointTestResponse:
        """Queues a ``webhook.test`` message to the endpoint."""
        queued: WebhookEndpointTestResponse = self._transport.request(
            "POST", f"{PATH}/{segment(id)}/test", options=options
        )
        return queued

    def list_deliveries(
        self,
        id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[WebhookEndpointDelivery]:
        return self._list(
            f"{PATH}/{segment(id)}/deliveries", {"limit": limit, "cursor": cursor}, options
        )

    def retry_delivery(
        self, id: str, message_id: str, *, options: RequestOptions | None = None
    ) -> None:
        """Sends one message to the endpoint again."""
        path = f"{PATH}/{segment(id)}/deliveries/{segment(message_id, 'message_id')}/retry"
        self._transport.request("POST", path, options=options)

    def recover(
        self, id: str, *, since: TimestampInput, options: RequestOptions | None = None
    ) -> WebhookEndpointRecoverResponse:
        """Queues again every failed message since ``since``."""
        recovered: WebhookEndpointRecoverResponse = self._transport.request(
            "POST", f"{PATH}/{segment(id)}/recover", body={"since": since}, options=options
        )
        return recovered


class Events(Resource):
    def list(
        self,
        *,
        type: EventType | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Event]:
        return self._list("/v1/events", {"type": type, "limit": limit, "cursor": cursor}, options)
