"""The clients' constructor arguments, validated once: shared by ``Cohera`` and ``AsyncCohera``."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import httpx

from ._credentials import (
    MAX_TOKEN_LIFETIME_SECONDS,
    Credential,
    TokenMinter,
    resolve_credential,
)
from ._request import Settings
from .errors import CoheraError

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_DELAY = 60.0


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        raise CoheraError(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} number",
            code=f"invalid_{name}",
        )
    return float(value)


def configure(
    *,
    api_key: str | None,
    access_token: str | Callable[[], str] | None,
    service_account: TokenMinter | None,
    scopes: Sequence[str] | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
    max_retry_delay: float,
    token_lifetime: int = MAX_TOKEN_LIFETIME_SECONDS,
    anonymous: bool = False,
) -> tuple[Credential, Settings]:
    if not isinstance(anonymous, bool):
        raise CoheraError("anonymous must be True or False", code="invalid_anonymous")
    credential = resolve_credential(
        api_key, access_token, service_account, scopes, token_lifetime, anonymous
    )
    account_url = getattr(service_account, "api_base_url", None)
    url = (
        base_url
        or os.environ.get("COHERA_BASE_URL")
        or (account_url if isinstance(account_url, str) else None)
        or DEFAULT_BASE_URL
    )
    try:
        parsed = httpx.URL(url)
    except Exception:
        raise CoheraError(f"base_url is not a URL: {url!r}", code="invalid_base_url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CoheraError("base_url must be an http(s) URL", code="invalid_base_url")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise CoheraError(
            "base_url must not carry credentials, a query or a fragment", code="invalid_base_url"
        )
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise CoheraError("max_retries must be a whole number ≥ 0", code="invalid_max_retries")
    return credential, Settings(
        base_url=str(parsed).rstrip("/"),
        timeout=_positive("timeout", timeout),
        max_retries=max_retries,
        max_retry_delay=_positive("max_retry_delay", max_retry_delay, allow_zero=True),
    )
