"""Verifying the webhooks Cohera sends (Standard Webhooks 1.0, https://www.standardwebhooks.com/).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds of the attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, space-separated: during a
secret rotation both secrets sign). :meth:`Webhook.verify` checks the timestamp against a tolerance (a
captured delivery cannot be replayed later) and a signature over the exact bytes received, then returns the
event. The same rules and error codes as the TypeScript SDK's ``Webhooks`` (packages/sdk/src/webhooks.ts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from .errors import CoheraError

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "Webhook",
    "WebhookEvent",
    "WebhookVerificationError",
    "WebhookVerificationErrorCode",
]

WebhookVerificationErrorCode = Literal[
    # webhook-id, webhook-timestamp or webhook-signature is absent (or given more than once).
    "missing_headers",
    # webhook-timestamp is not a number of seconds.
    "invalid_timestamp",
    # Older than the tolerance: a replay, or a clock far behind.
    "timestamp_too_old",
    # Further in the future than the tolerance.
    "timestamp_too_new",
    # No v1 signature matches any of the secrets (wrong secret, or the body was changed).
    "no_matching_signature",
    # A secret given to Webhook() is not "whsec_" followed by base64.
    "invalid_secret",
    # The body was parsed JSON (or anything but str or bytes): it cannot be verified.
    "not_raw_body",
    # The signature is valid but the body is not a JSON object.
    "invalid_payload",
]

#: What a Cohera webhook's body is: ``{"id", "type", "timestamp", "data"}``, ``data`` the object as the API
#: shows it. ``id`` equals the ``webhook-id`` header and is the same on every retry: skip ids already handled.
WebhookEvent = dict[str, Any]

DEFAULT_TOLERANCE_SECONDS = 300
_SECRET_PREFIX = "whsec_"


class WebhookVerificationError(CoheraError):
    """Why a webhook was refused. The message never contains a secret, a signature or the body."""

    code: WebhookVerificationErrorCode

    def __init__(self, code: WebhookVerificationErrorCode, message: str) -> None:
        super().__init__(message, code=code)
        self.code = code

    def __repr__(self) -> str:
        return f"WebhookVerificationError(code={self.code!r}, message={str(self)!r})"


class _HeaderItems(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


#: A plain dict (any letter case), ``httpx.Headers``, Flask/Werkzeug's ``request.headers``, Django's
#: ``request.headers``, or a list of ``(name, value)`` pairs as ASGI and ``http.server`` give them.
WebhookHeaders = Mapping[str, str] | _HeaderItems | Iterable[tuple[str, str]]
#: The raw request body exactly as received.
WebhookPayload = bytes | bytearray | memoryview | str


def _b64decode(text: str) -> bytes | None:
    """Strict base64, with missing padding tolerated (secrets are often copied without their ``=``)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _secret_key(secret: object) -> bytes:
    key = None
    if isinstance(secret, str):
        # The prefix is optional, as in the other Standard Webhooks libraries.
        key = _b64decode(secret.removeprefix(_SECRET_PREFIX))
    # The message describes the expected shape and never echoes the value: it is a secret, or close to one.
    if not key:
        raise WebhookVerificationError(
            "invalid_secret",
            'A webhook secret is not valid: expected the endpoint\'s signing secret, "whsec_" followed by '
            "base64 (shown once when the endpoint was created or its secret rotated)",
        )
    return key


def _raw_bytes(payload: object) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    raise WebhookVerificationError(
        "not_raw_body",
        "Pass the raw request body (str or bytes), not parsed JSON: the signature covers the exact bytes "
        "sent, which re-serializing does not reproduce (Flask: request.get_data(); Django: request.body; "
        "Starlette/FastAPI: await request.body())",
    )


def _header_pairs(headers: object) -> Iterable[tuple[str | bytes, str | bytes]]:
    items = getattr(headers, "items", None)
    if callable(items):
        pairs: Iterable[tuple[str | bytes, str | bytes]] = items()
        return pairs
    if isinstance(headers, Iterable) and not isinstance(headers, str | bytes):
        return headers
    raise WebhookVerificationError(
        "missing_headers", "Pass the request headers (a mapping or (name, value) pairs)"
    )


def _header_values(headers: object) -> dict[str, str | None]:
    """The three headers, case-insensitively; ``None`` marks one given twice (ambiguous, so refused)."""
    wanted = {"webhook-id", "webhook-timestamp", "webhook-signature"}
    found: dict[str, str | None] = {}
    for name, value in _header_pairs(headers):
        # ASGI servers give header names and values as bytes.
        key = (name.decode("latin-1") if isinstance(name, bytes) else str(name)).lower()
        if key not in wanted:
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        found[key] = None if key in found else text
    return found


class Webhook:
    """Verifies (and, for your tests, signs) Cohera webhooks with an endpoint's signing secret, or several.

    During a secret rotation pass both the new and the old secret: a delivery signed by either is accepted.

    Example (Flask)::

        from cohera.webhooks import Webhook, WebhookVerificationError

        webhook = Webhook(os.environ["COHERA_WEBHOOK_SECRET"])

        @app.post("/webhooks/cohera")
        def cohera_webhook():
            try:
                event = webhook.verify(request.get_data(), request.headers)
            except WebhookVerificationError:
                return "", 400
            handle(event)          # skip event["id"] if already handled: delivery is at least once
            return "", 204
    """

    __slots__ = ("_keys",)

    def __init__(self, secret: str | Sequence[str]) -> None:
        """Raises :class:`WebhookVerificationError` (``invalid_secret``) at once when a secret is not
        ``whsec_…``."""
        # A str, or a list of them; anything else is refused by _secret_key below.
        secrets: list[object] = list(secret) if isinstance(secret, list | tuple) else [secret]
        if not secrets:
            raise WebhookVerificationError("invalid_secret", "Give at least one webhook secret")
        self._keys = tuple(_secret_key(each) for each in secrets)

    def __repr__(self) -> str:
        return f"Webhook(<{len(self._keys)} secret(s)>)"

    def _macs(self, msg_id: str, timestamp: str, body: bytes) -> list[bytes]:
        content = f"{msg_id}.{timestamp}.".encode() + body
        return [hmac.new(key, content, hashlib.sha256).digest() for key in self._keys]

    def verify(
        self,
        payload: WebhookPayload,
        headers: WebhookHeaders,
        *,
        tolerance: int = DEFAULT_TOLERANCE_SECONDS,
        now: datetime | float | None = None,
    ) -> WebhookEvent:
        """The event, once the headers, the timestamp (within ``tolerance`` seconds either way) and a
        signature by one of the secrets all check out over the raw body; else
        :class:`WebhookVerificationError`.

        ``now`` is for tests (a ``datetime`` or Unix seconds); never take it from the request.
        """
        body = _raw_bytes(payload)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance >= 0:
            raise ValueError("tolerance must be a number of seconds, 0 or more")
        if headers is None:
            raise WebhookVerificationError("missing_headers", "Pass the request headers")
        values = _header_values(headers)
        msg_id = values.get("webhook-id")
        timestamp = values.get("webhook-timestamp")
        signature = values.get("webhook-signature")
        if not msg_id or not timestamp or not signature:
            missing = [
                name
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
                if not values.get(name)
            ]
            raise WebhookVerificationError(
                "missing_headers", f"Missing or repeated webhook header(s): {', '.join(missing)}"
            )

        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            raise WebhookVerificationError("invalid_timestamp", "webhook-timestamp is not Unix seconds")
        current = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else float(now)
        age = int(current // 1) - int(timestamp)
        if age > tolerance:
            raise WebhookVerificationError(
                "timestamp_too_old",
                f"webhook-timestamp is {age} s old, more than the {tolerance} s tolerance "
                "(a replay, or a slow clock)",
            )
        if -age > tolerance:
            raise WebhookVerificationError(
                "timestamp_too_new",
                f"webhook-timestamp is {-age} s in the future, more than the {tolerance} s tolerance "
                "(check the clock)",
            )

        # Only v1 (HMAC-SHA256) is ours; other versions and malformed entries are skipped, not fatal, as the
        # spec asks (a future scheme may be listed beside v1).
        candidates: list[bytes] = []
        for entry in signature.split(" "):
            version, comma, encoded = entry.partition(",")
            if comma and version == "v1":
                decoded = _b64decode(encoded)
                if decoded:
                    candidates.append(decoded)
        matched = False
        # Every pair is compared, each in constant time (hmac.compare_digest): an early exit on the first
        # differing byte would let an attacker find a valid signature byte by byte by timing the receiver.
        for expected in self._macs(msg_id, timestamp, body):
            for candidate in candidates:
                matched = hmac.compare_digest(expected, candidate) or matched
        if not matched:
            raise WebhookVerificationError(
                "no_matching_signature",
                "No webhook signature matches the secret(s): check the endpoint's secret, and that the body "
                "is passed exactly as received",
            )

        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            event = None
        if not isinstance(event, dict):
            raise WebhookVerificationError("invalid_payload", "The webhook body is not a JSON object")
        return event

    def sign(self, msg_id: str, timestamp: datetime | int, payload: WebhookPayload) -> str:
        """The ``webhook-signature`` value for a message, signed with every secret (space-separated), exactly
        as the server signs: for tests of your handler."""
        seconds = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else timestamp
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError("timestamp must be a datetime or whole Unix seconds")
        macs = self._macs(msg_id, str(seconds), _raw_bytes(payload))
        return " ".join(f"v1,{base64.b64encode(mac).decode('ascii')}" for mac in macs)

    def generate_test_headers(
        self,
        payload: WebhookPayload,
        *,
        msg_id: str | None = None,
        timestamp: datetime | int | None = None,
    ) -> dict[str, str]:
        """The headers of a delivery of ``payload`` (like stripe's ``generate_test_header_string``): post them
        with the payload to your handler in tests."""
        msg_id = msg_id or f"msg_test_{_secrets.token_hex(12)}"
        seconds = int(time.time()) if timestamp is None else (
            int(timestamp.timestamp()) if isinstance(timestamp, datetime) else timestamp
        )
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": self.sign(msg_id, seconds, payload),
            "content-type": "application/json",
        }
