"""The three ways to authenticate a client, as credential sources for the transport: a fixed bearer (an
API key or an access token), a function returning a current access token (an app that refreshes its OAuth
tokens itself), and a service account that mints its own JWTs, reuses each for most of its life and renews
it ahead of expiry. None of them shows its secret in ``repr``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from .errors import CoheraError

API_KEY_SHAPE = re.compile(r"^ck_(live|test)_[0-9A-Za-z]{38}$")
MAX_TOKEN_LIFETIME_SECONDS = 3600


@runtime_checkable
class TokenMinter(Protocol):
    """What ``Cohera(service_account=…)`` needs: :class:`cohera.auth.ServiceAccount` is one."""

    def generate_token(self, scopes: list[str], expires_in: int = 3600) -> str: ...


class Credential(Protocol):
    def current(self) -> str: ...

    def invalidate(self) -> bool:
        """Called once when the server refused the credential; True when a new one is worth a retry."""
        ...

    @property
    def kind(self) -> str: ...


class StaticCredential:
    def __init__(self, value: str, kind: str) -> None:
        self._value = value
        self._kind = kind

    @property
    def kind(self) -> str:
        return self._kind

    def current(self) -> str:
        return self._value

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{self._kind} [redacted]>"


class CallbackCredential:
    def __init__(self, get: Callable[[], str]) -> None:
        self._get = get

    @property
    def kind(self) -> str:
        return "access_token_callback"

    def current(self) -> str:
        value = self._get()
        if not isinstance(value, str) or value == "":
            raise CoheraError("the access_token callable returned no token", code="invalid_credential")
        return value

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<access_token_callback>"


class ServiceAccountCredential:
    """Mints a token, reuses it, and renews it when less than ``renew_before`` seconds are left: a tenth
    of the lifetime but at least 30 s (room for clock skew and a slow request), and never more than half
    the lifetime (so a short-lived token is still reused)."""

    def __init__(
        self,
        account: TokenMinter,
        scopes: Sequence[str],
        lifetime: int = MAX_TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._account = account
        self._scopes = list(scopes)
        self._lifetime = lifetime
        self._renew_before = min(max(30.0, lifetime / 10), lifetime / 2)
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        # One mint at a time: threads arriving at renewal share one token instead of each signing one.
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        return "service_account"

    def current(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                issued = self._clock()
                self._token = self._account.generate_token(
                    scopes=list(self._scopes), expires_in=self._lifetime
                )
                self._renew_at = issued + self._lifetime - self._renew_before
            return self._token

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def __repr__(self) -> str:
        return f"<service_account scopes={self._scopes!r}>"


class AnonymousCredential:
    """The credential of a ``Cohera(anonymous=True)`` client: there is none. Public calls (those sent with
    ``anonymous=True``, e.g. ``credentials.revoke``) never ask for it; any other call raises before a byte is
    sent, instead of reaching the server as an unauthenticated request."""

    @property
    def kind(self) -> str:
        return "anonymous"

    def current(self) -> str:
        raise CoheraError(
            "This client was made with anonymous=True and has no credential; only public calls such as "
            "credentials.revoke() work. Give api_key=, access_token= or service_account= for the others.",
            code="missing_credential",
        )

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<anonymous>"


def resolve_credential(
    api_key: str | None,
    access_token: str | Callable[[], str] | None,
    service_account: TokenMinter | None,
    scopes: Sequence[str] | None,
    token_lifetime: int,
    anonymous: bool = False,
) -> Credential:
    given = [value for value in (api_key, access_token, service_account) if value is not None]
    if anonymous:
        # Not even COHERA_API_KEY: a client meant to hand in a found key must not send the user's own.
        if given:
            raise CoheraError(
                "An anonymous client takes no credential: drop anonymous=True or the credential",
                code="conflicting_credentials",
            )
        return AnonymousCredential()
    if len(given) > 1:
        raise CoheraError(
            "Give one credential: api_key, access_token or service_account, not several",
            code="conflicting_credentials",
        )
    if service_account is not None:
        if not scopes:
            raise CoheraError(
                'A service_account client needs scopes, e.g. scopes=["read:certificates"]',
                code="missing_scopes",
            )
        if not 1 <= token_lifetime <= MAX_TOKEN_LIFETIME_SECONDS:
            raise CoheraError(
                f"token_lifetime must be from 1 to {MAX_TOKEN_LIFETIME_SECONDS} seconds",
                code="invalid_token_lifetime",
            )
        return ServiceAccountCredential(service_account, scopes, token_lifetime)
    if callable(access_token):
        return CallbackCredential(access_token)
    if isinstance(access_token, str):
        if access_token == "":
            raise CoheraError("access_token is empty", code="invalid_credential")
        return StaticCredential(access_token, "access_token")
    key = api_key if api_key is not None else os.environ.get("COHERA_API_KEY")
    if key is None:
        raise CoheraError(
            "No credential. Give one of: an API key (Cohera(api_key=…) or the COHERA_API_KEY environment "
            "variable), an access token (Cohera(access_token=…)), or a service account "
            "(Cohera(service_account=…, scopes=[…])).",
            code="missing_credential",
        )
    # The message names the shape, never the value: a mistyped key is still mostly a key.
    if not API_KEY_SHAPE.match(key):
        raise CoheraError(
            "The API key is not a Cohera API key (expected ck_live_… or ck_test_… and 38 more "
            "characters). For an OAuth or service-account token, use access_token=.",
            code="invalid_credential",
        )
    return StaticCredential(key, "api_key")
