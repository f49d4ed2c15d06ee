"""The authorization server's metadata (RFC 8414), fetched once per issuer and process and cached.

A web app often builds a new ``OAuth2`` per request (the state and verifier live in its session, not in the
object), so the cache is per process rather than per object: one discovery round trip, not one per login.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import APIConnectionError, APITimeoutError, OAuthError

__all__ = ["Metadata", "clear_cache", "discover"]

#: Metadata changes only when the operator reconfigures the server; an hour bounds how stale it gets.
CACHE_SECONDS = 3600.0
WELL_KNOWN_PATH = "/.well-known/oauth-authorization-server"


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None
    #: RFC 9207: the server puts ``iss`` in every authorization response, so a callback without it is refused.
    iss_parameter_supported: bool


_cache: dict[str, tuple[float, Metadata]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forgets every cached document (for tests, or after the server's configuration changed)."""
    with _lock:
        _cache.clear()


def _parse(document: Any, url: str, expected_issuer: str) -> Metadata:
    if not isinstance(document, dict):
        raise OAuthError(f"{url} did not answer with a JSON object", code="invalid_metadata")
    issuer = document.get("issuer")
    # RFC 8414 §3.3: the issuer in the document must be the one the client expects, or an attacker's
    # server could pass itself off as ours (mix-up). The trailing slash is the only difference tolerated.
    if not isinstance(issuer, str) or issuer.rstrip("/") != expected_issuer:
        raise OAuthError(
            f"The authorization server at {url} names issuer {issuer!r}, not {expected_issuer!r} "
            "(pass issuer=… to OAuth2 if the server's public URL differs from base_url)",
            code="issuer_mismatch",
        )
    endpoints: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise OAuthError(f"The metadata at {url} has no {name}", code="invalid_metadata")
        endpoints[name] = value
    revocation = document.get("revocation_endpoint")
    return Metadata(
        issuer=issuer.rstrip("/"),
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        revocation_endpoint=revocation if isinstance(revocation, str) and revocation else None,
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
    )


def discover(http: httpx.Client, base_url: str, expected_issuer: str) -> Metadata:
    """The metadata at ``{base_url}/.well-known/oauth-authorization-server``, from the cache when fresh."""
    key = f"{base_url}\n{expected_issuer}"
    with _lock:
        cached = _cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    url = f"{base_url}{WELL_KNOWN_PATH}"
    try:
        response = http.get(url, headers={"accept": "application/json"})
    except httpx.TimeoutException as error:
        raise APITimeoutError(f"GET {WELL_KNOWN_PATH} timed out") from error
    except httpx.HTTPError as error:
        raise APIConnectionError(f"GET {WELL_KNOWN_PATH} failed: could not reach {base_url}") from error
    if response.status_code != 200:
        raise OAuthError(
            f"GET {WELL_KNOWN_PATH} answered {response.status_code}: is {base_url} a Cohera server?",
            code="invalid_metadata",
            status=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )
    try:
        document = response.json()
    except ValueError:
        document = None
    metadata = _parse(document, url, expected_issuer)
    with _lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, metadata)
    return metadata
