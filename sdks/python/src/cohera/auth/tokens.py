"""The tokens of an OAuth grant, with their expiry (the TypeScript SDK's ``Tokens``, snake_case)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["DEFAULT_EXPIRY_LEEWAY_SECONDS", "Tokens"]

#: ``is_expired`` answers this early, so a request started now does not arrive with a token that lapsed
#: on the way (clock skew between the app and the server included).
DEFAULT_EXPIRY_LEEWAY_SECONDS = 60


def _utc(value: datetime) -> datetime:
    # A naive datetime is taken as UTC (what the server and to_dict write), never as local time.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint returned. Store ``to_dict()`` in your session; rebuild with ``from_dict``.

    The server rotates refresh tokens: after ``oauth.refresh_token(tokens.refresh_token)`` keep the new
    ``Tokens`` and drop the old, because presenting a used refresh token again revokes the whole grant.
    """

    # repr=False: a token printed in a log or a traceback would be a credential in the log.
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    #: When the access token expires (UTC), if the server said.
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"

    @classmethod
    def from_response(
        cls,
        response: Mapping[str, Any],
        previous_refresh_token: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Tokens:
        """From the token endpoint's JSON (RFC 6749 §5.1)."""
        issued = now or datetime.now(timezone.utc)
        expires_in = response.get("expires_in")
        scope = response.get("scope")
        return cls(
            access_token=str(response["access_token"]),
            # RFC 6749 §6: without a new refresh token in the answer, the old one stays valid.
            refresh_token=response.get("refresh_token") or previous_refresh_token,
            expires_at=(
                issued + timedelta(seconds=expires_in)
                if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
                else None
            ),
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
            token_type=str(response.get("token_type") or "Bearer"),
        )

    @property
    def is_expired(self) -> bool:
        """True when the access token has expired or will within 60 s (never for a token without a known
        expiry)."""
        return self.expires_within(DEFAULT_EXPIRY_LEEWAY_SECONDS)

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token has less than ``seconds`` left."""
        if self.expires_at is None:
            return False
        current = _utc(now) if now is not None else datetime.now(timezone.utc)
        return _utc(self.expires_at) - timedelta(seconds=seconds) <= current

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the same shape as the TypeScript SDK's ``Tokens.toJSON()`` (one session store can
        serve both): ``access_token``, ``refresh_token``, ``token_type``, ``scope`` (space-separated),
        ``expires_at`` (ISO 8601, UTC, or ``None``)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "scope": " ".join(self.scopes),
            "expires_at": (
                _utc(self.expires_at).isoformat().replace("+00:00", "Z") if self.expires_at else None
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tokens:
        """The inverse of :meth:`to_dict` (also reads the TypeScript SDK's ``toJSON()`` output)."""
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError('Tokens.from_dict: "access_token" is missing')
        expires_at = data.get("expires_at")
        scope = data.get("scope")
        scopes = data.get("scopes")
        return cls(
            access_token=access_token,
            refresh_token=data.get("refresh_token") or None,
            expires_at=(
                _utc(expires_at)
                if isinstance(expires_at, datetime)
                else _utc(datetime.fromisoformat(expires_at.replace("Z", "+00:00")))
                if isinstance(expires_at, str) and expires_at
                else None
            ),
            scopes=(
                tuple(scope.split())
                if isinstance(scope, str)
                else tuple(str(s) for s in scopes)
                if isinstance(scopes, list | tuple)
                else ()
            ),
            token_type=str(data.get("token_type") or "Bearer"),
        )
