"""Sans-I/O core shared by :class:`~cohera.Cohera` and :class:`~cohera.AsyncCohera`: building a request,
deciding what a response (or a network failure) means — return it, wait and retry, mint a new token, or
raise the typed error — and reading the rate-limit standing. The two clients only move bytes and sleep.

A retry never repeats an effect: a request is retried only when it is idempotent by method or carries an
``Idempotency-Key`` (every POST gets one, generated once per call and reused by its retries, so the server
answers a retried POST with the first attempt's result instead of creating a second object).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypedDict
from urllib.parse import quote

import httpx

from ._version import VERSION
from .errors import (
    APIConnectionError,
    APITimeoutError,
    CoheraError,
    error_from_parts,
    server_delay_seconds,
)

if TYPE_CHECKING:
    from ._credentials import Credential

Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
QueryValue = str | int | float | bool | datetime | date | None

#: Statuses that say "try again": timeout, rate limited, bad gateway, unavailable, gateway timeout.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class RequestOptions(TypedDict, total=False):
    """Per-call options; every resource method takes them as ``options=``."""

    #: Seconds per attempt; overrides the client's ``timeout``.
    timeout: float
    #: Overrides the client's ``max_retries`` for this call.
    max_retries: int
    #: For POST: the ``Idempotency-Key`` to send (one is generated per call when absent). Pass your own to
    #: make a call safe to repeat across process restarts.
    idempotency_key: str
    #: Extra headers (an ``Authorization`` here is ignored: the client sets it).
    headers: Mapping[str, str]


def user_agent() -> str:
    return f"cohera-python/{VERSION}"


@dataclass(frozen=True)
class RateLimit:
    """``X-RateLimit-*`` of a response: the window with the fewest requests left."""

    limit: int
    remaining: int
    reset: datetime


def rate_limit_of(headers: httpx.Headers) -> RateLimit | None:
    values = [headers.get(f"x-ratelimit-{name}", "").strip() for name in ("limit", "remaining", "reset")]
    if not all(value.isdigit() for value in values):
        return None
    limit, remaining, reset = (int(value) for value in values)
    return RateLimit(limit, remaining, datetime.fromtimestamp(reset, tz=timezone.utc))


@dataclass(frozen=True)
class Settings:
    """The client's validated, frozen transport settings."""

    base_url: str
    timeout: float
    max_retries: int
    #: The longest server-requested wait (``Retry-After``) sat out before retrying; a longer one (a spent
    #: daily limit) raises the ``RateLimitError`` at once.
    max_retry_delay: float
    initial_backoff: float = 0.5
    max_backoff: float = 8.0


def api_timestamp(value: datetime | date) -> str:
    """ISO 8601 in UTC without fractions, as the API writes timestamps (``2026-11-22T10:00:00Z``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CoheraError(
                "a datetime sent to the API needs a time zone (e.g. datetime.now(timezone.utc))",
                code="naive_datetime",
            )
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _json_default(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return api_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _query_value(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return api_timestamp(value)
    return str(value)


def segment(value: str, what: str = "id") -> str:
    """An id as one path segment. An empty id would turn ``GET /v1/x/{id}`` into the list route, and a
    ``/`` or ``..`` would reach another route, so both are refused before anything is sent."""
    if not isinstance(value, str) or value == "":
        raise CoheraError(f"{what} must be a non-empty string", code="invalid_id")
    return quote(value, safe="")


@dataclass(frozen=True)
class Prepared:
    """One logical call, built once: every attempt sends these very bytes and this Idempotency-Key."""

    method: Method
    url: httpx.URL
    headers: httpx.Headers
    content: bytes | None
    timeout: float
    max_retries: int
    retry_safe: bool


def prepare(
    settings: Settings,
    method: Method,
    path: str,
    *,
    query: Mapping[str, QueryValue] | None = None,
    body: Mapping[str, Any] | None = None,
    options: RequestOptions | None = None,
    accept: str = "application/json",
) -> Prepared:
    options = options or {}
    headers = httpx.Headers(dict(options.get("headers", {})))
    headers.pop("authorization", None)
    headers.setdefault("accept", accept)
    headers["user-agent"] = user_agent()
    content = None
    if body is not None:
        content = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
        headers["content-type"] = "application/json"
    if method == "POST":
        headers["idempotency-key"] = options.get("idempotency_key") or str(uuid.uuid4())
    params = {name: _query_value(value) for name, value in (query or {}).items() if value is not None}
    max_retries = options.get("max_retries", settings.max_retries)
    return Prepared(
        method=method,
        url=httpx.URL(settings.base_url + path, params=params),
        headers=headers,
        content=content,
        timeout=options.get("timeout", settings.timeout),
        max_retries=max(0, int(max_retries)),
        retry_safe=method in _IDEMPOTENT_METHODS or "idempotency-key" in headers,
    )


@dataclass(frozen=True)
class Done:
    """The call succeeded: ``value`` is the parsed JSON body (``None`` for 204)."""

    value: Any


@dataclass(frozen=True)
class Retry:
    """Send the request again after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True)
class Fail:
    error: CoheraError


Step = Done | Retry | Fail


def backoff_delay(attempt: int, settings: Settings, rand: float | None = None) -> float:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, so many clients'
    retries spread out yet none comes back at once. ``attempt`` counts from 0 (the first retry)."""
    ceiling = min(settings.max_backoff, settings.initial_backoff * 2.0**attempt)
    return ceiling / 2 + (random.random() if rand is None else rand) * ceiling / 2


def server_timed_delay(requested: float, rand: float | None = None) -> float:
    """A server-timed wait plus up to 10 % (at most 1 s) of jitter: rate-limit windows align to the
    clock, and every throttled client would otherwise come back in the same millisecond."""
    return requested + (random.random() if rand is None else rand) * min(1.0, requested * 0.1)


def _retryable(status: int, body: bytes) -> bool:
    if status in RETRYABLE_STATUSES:
        return True
    # 409 idempotency_key_in_use: an earlier attempt of this very call is still running (its response
    # was lost on the way); a retry after Retry-After gets that attempt's answer.
    return status == 409 and b'"idempotency_key_in_use"' in body


def stream_broken(prepared: Prepared) -> APIConnectionError:
    return APIConnectionError(
        f"{prepared.method} {prepared.url.path}: the connection broke in the middle of the response"
    )


class Attempts:
    """The retry state of one call. ``headers()`` before each attempt, then ``after_response`` or
    ``after_error`` says what to do next."""

    def __init__(
        self, prepared: Prepared, settings: Settings, credential: Credential, anonymous: bool = False
    ) -> None:
        self.prepared = prepared
        self._settings = settings
        self._credential = credential
        #: A public endpoint's call: no ``Authorization`` header, and the credential is never asked.
        self._anonymous = anonymous
        self._attempt = 0
        self._renewed = False
        self.rate_limit: RateLimit | None = None

    def headers(self) -> httpx.Headers:
        headers = self.prepared.headers.copy()
        if self._anonymous:
            return headers
        # Straight into httpx.Headers, whose repr hides it: no local variable of ours holds the bare token,
        # so not even a traceback printed with its locals shows it.
        headers["authorization"] = "Bearer " + self._credential.current()
        return headers

    def _may_retry(self) -> bool:
        return self.prepared.retry_safe and self._attempt < self.prepared.max_retries

    def after_error(self, error: httpx.TransportError) -> Step:
        p = self.prepared
        if self._may_retry():
            self._attempt += 1
            return Retry(backoff_delay(self._attempt - 1, self._settings))
        where = f"{p.method} {p.url.path}"
        # Only the exception's class and text: never the request it holds (its headers carry the key).
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if isinstance(error, httpx.TimeoutException):
            return Fail(APITimeoutError(f"{where} timed out after {p.timeout:g} s ({reason})"))
        return Fail(APIConnectionError(f"{where} failed: could not reach {p.url.host} ({reason})"))

    def after_response(self, status: int, headers: httpx.Headers, content: bytes) -> Step:
        rate_limit = rate_limit_of(headers)
        if rate_limit is not None:
            self.rate_limit = rate_limit
        if 200 <= status < 300:
            if status == 204 or not content:
                return Done(None)
            try:
                return Done(json.loads(content))
            except ValueError:
                return Done(content.decode(errors="replace"))
        # A minted token the server no longer accepts (clock skew, a rotated key): mint once more.
        renewable = not self._anonymous and not self._renewed
        if status == 401 and renewable and self._credential.invalidate():
            self._renewed = True
            return Retry(0.0)
        if self._may_retry() and _retryable(status, content):
            requested = server_delay_seconds(headers)
            if requested is None or requested <= self._settings.max_retry_delay:
                self._attempt += 1
                if requested is None:
                    return Retry(backoff_delay(self._attempt - 1, self._settings))
                return Retry(server_timed_delay(requested))
        return Fail(error_from_parts(status, headers, content))
