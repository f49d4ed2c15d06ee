"""Typed errors. Every error the client raises is a :class:`CoheraError`; an HTTP error response is an
:class:`APIError` (or the subclass for its status) carrying the RFC 9457 problem document the server sent.

Nothing here ever holds the credential: errors are built from the response alone (its status, headers and
body), never from the request, whose ``Authorization`` header carries the key.
"""

from __future__ import annotations

import json
import math
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "CoheraError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "RateLimitError",
    "APIConnectionError",
    "APITimeoutError",
    "OAuthError",
    "error_from_response",
]


class CoheraError(Exception):
    """The base of every error the SDK raises."""

    #: The HTTP status, or ``None`` when no response arrived.
    status: int | None
    #: Stable and machine-readable: the server's problem ``code``, or the client's own.
    code: str
    #: The server's ``X-Request-Id``: quote it to support.
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "cohera_error",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class APIError(CoheraError):
    """The server answered with an error status; subclasses narrow it by status."""

    status: int

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        request_id: str | None,
        problem: dict[str, Any] | None,
        headers: httpx.Headers,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        #: The problem document as the server sent it (``None`` when the body was not one).
        self.problem = problem
        #: The response headers (never the request's: those carry the credential).
        self.headers = headers
        raw = (problem or {}).get("errors")
        #: Field-level problems of a ``validation_failed`` response, e.g. ``{"field": "body/country", …}``.
        self.errors: list[dict[str, Any]] = raw if isinstance(raw, list) else []


class AuthenticationError(APIError):
    """401: a missing, malformed, unknown, expired or revoked credential."""


class PermissionDeniedError(APIError):
    """403: a valid credential without the scope it needs (``required_scope``), or a refused action."""

    @property
    def required_scope(self) -> str | None:
        scope = (self.problem or {}).get("required_scope")
        return scope if isinstance(scope, str) else None


class NotFoundError(APIError):
    """404: no such object, or it belongs to another organization or mode (the API never says which)."""


class ConflictError(APIError):
    """409: conflicts with the current state (a duplicate, or a supplier its products still use)."""


class ValidationError(APIError):
    """400 or 422: the request is invalid; ``errors`` names each field."""


class RateLimitError(APIError):
    """429: over a rate limit; ``retry_after`` is the wait the server asked for, in whole seconds."""

    def __init__(self, message: str, *, retry_after: int | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class APIConnectionError(CoheraError):
    """No response arrived: the server could not be reached or the connection broke."""

    def __init__(self, message: str, *, code: str = "connection_error") -> None:
        super().__init__(message, code=code)


class APITimeoutError(APIConnectionError):
    """No response within the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="timeout")


class OAuthError(CoheraError):
    """An OAuth 2.0 error (RFC 6749 §5.2): ``code`` is the OAuth ``error`` (``invalid_grant``, …)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        error_description: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.error_description = error_description

    @property
    def error(self) -> str:
        """The RFC 6749 ``error`` (the same as ``code``)."""
        return self.code


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
}


def server_delay_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """How long the server asks us to wait: ``Retry-After`` (delta-seconds or an HTTP date, RFC 9110
    §10.2.3), else, when a window is spent, until ``X-RateLimit-Reset``. ``None`` when it says nothing."""
    now = time.time() if now is None else now
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    if retry_after:
        try:
            moment: float = parsedate_to_datetime(retry_after).timestamp()
            return max(0.0, moment - now)
        except (TypeError, ValueError):
            pass
    remaining = headers.get("x-ratelimit-remaining", "").strip()
    reset = headers.get("x-ratelimit-reset", "").strip()
    if remaining == "0" and reset.isdigit():
        return max(0.0, int(reset) - now)
    return None


def _problem(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
        return parsed
    return None


def error_from_parts(status: int, headers: httpx.Headers, body: bytes, reason: str = "") -> APIError:
    """The typed error for an error response, from its status, headers and raw body."""
    problem = _problem(body)
    request_id = (problem or {}).get("request_id") or headers.get("x-request-id")
    code = (problem or {}).get("code") or f"http_{status}"
    summary = (problem or {}).get("detail") or (problem or {}).get("title") or reason or "request failed"
    message = f"{status} {code}: {summary}" + (f" (request {request_id})" if request_id else "")
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id if isinstance(request_id, str) else None,
        "problem": problem,
        "headers": headers,
    }
    if status == 429:
        delay = server_delay_seconds(headers)
        return RateLimitError(
            message, retry_after=None if delay is None else math.ceil(delay), **common
        )
    return _BY_STATUS.get(status, APIError)(message, **common)


def error_from_response(response: httpx.Response) -> APIError:
    """The typed error for an ``httpx`` error response (its body must have been read)."""
    return error_from_parts(
        response.status_code, httpx.Headers(response.headers), response.content, response.reason_phrase
    )
