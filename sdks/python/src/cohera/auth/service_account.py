"""A service account's credentials (``service-account.json``) and the short-lived JWTs they sign.

Exactly what the server verifies (DESIGN §3): header ``{alg, kid}``; claims ``iss``, ``sub``, ``aud``,
``exp``, ``iat``, ``scopes``, ``org_id``; a lifetime of at most an hour. Signed with PyJWT on
``cryptography``; the private key object stays private to the instance and is never printed or exported.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from ..errors import CoheraError

__all__ = ["MAX_TOKEN_LIFETIME_SECONDS", "ServiceAccount", "ServiceAccountError"]

#: The server refuses a service-account token whose ``exp - iat`` is longer than an hour.
MAX_TOKEN_LIFETIME_SECONDS = 3600

Algorithm = Literal["ES256", "RS256", "EdDSA"]
_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_FIELD_PATTERNS: dict[str, str] = {
    "service_account_id": "sa_",
    "org_id": "org_",
    "private_key_id": "sak_",
}


class ServiceAccountError(CoheraError):
    """``service-account.json`` is unreadable or not valid. The message names the field, never its value."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Invalid service-account credentials: {message}", code="invalid_service_account")


def _require(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ServiceAccountError(f'"{name}" is missing')
    prefix = _FIELD_PATTERNS.get(name)
    # Named, never echoed: for private_key the value is the secret itself.
    if prefix and not (value.startswith(prefix) and value[len(prefix) :].replace("_", "").isalnum()):
        raise ServiceAccountError(f'"{name}" is not valid (expected {prefix}…)')
    return value


def _load_key(pem: str, algorithm: Algorithm) -> _PrivateKey:
    problem = f'"private_key" is not a PKCS#8 {algorithm} private key'
    try:
        key = load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # `from None`: the chained exception's message could quote parts of the PEM.
        raise ServiceAccountError(problem) from None
    # The key must fit the algorithm the file names: ES256 is P-256 only (RFC 7518 §3.4).
    if algorithm == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return key
    if algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key
    if algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise ServiceAccountError(problem)


class ServiceAccount:
    """Credentials of a service account; mints the JWTs it authenticates with.

    Example::

        sa = ServiceAccount.from_file("service-account.json")
        token = sa.generate_token(scopes=["read:certificates"], expires_in=3600)
        client = Cohera(access_token=token)
        # or let the client mint, reuse and renew tokens itself:
        client = Cohera(service_account=sa, scopes=["read:certificates"])
    """

    __slots__ = ("algorithm", "api_base_url", "audience", "id", "issuer", "key_id", "org_id", "_private_key")

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Use :meth:`from_file` or :meth:`from_dict`."""
        if not isinstance(data, Mapping):
            raise ServiceAccountError("not a JSON object")
        if data.get("type") != "service_account":
            raise ServiceAccountError('"type" must be "service_account"')
        algorithm = data.get("algorithm")
        if algorithm not in ("ES256", "RS256", "EdDSA"):
            raise ServiceAccountError('"algorithm" must be one of ES256, RS256, EdDSA')
        #: ``sa_…``: the tokens' ``sub``.
        self.id = _require(data, "service_account_id")
        #: ``org_…``: the tokens' ``org_id``.
        self.org_id = _require(data, "org_id")
        #: ``sak_…``: the tokens' ``kid``.
        self.key_id = _require(data, "private_key_id")
        self.algorithm: Algorithm = cast(Algorithm, algorithm)
        self.issuer = _require(data, "issuer")
        self.audience = _require(data, "audience")
        #: The API this account belongs to: a client built with it uses it unless told otherwise.
        self.api_base_url: str | None = data.get("api_base_url") or None
        self._private_key = _load_key(_require(data, "private_key"), self.algorithm)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ServiceAccount:
        """Reads ``service-account.json`` (as the API returned it when the key was created)."""
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except OSError as error:
            raise ServiceAccountError(f"cannot read {os.fspath(path)} ({error.strerror})") from None
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str | bytes) -> ServiceAccount:
        try:
            data = json.loads(text)
        except ValueError:
            raise ServiceAccountError("not JSON") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceAccount:
        """From the ``service-account.json`` object, e.g. what ``client.service_accounts.create_key(…)``
        returned."""
        return cls(data)

    def __repr__(self) -> str:
        return f"ServiceAccount(id={self.id!r}, key_id={self.key_id!r}, org_id={self.org_id!r})"

    def to_dict(self) -> dict[str, Any]:
        """The account's public description: ``service-account.json`` without ``private_key``."""
        return {
            "type": "service_account",
            "service_account_id": self.id,
            "org_id": self.org_id,
            "private_key_id": self.key_id,
            "algorithm": self.algorithm,
            "issuer": self.issuer,
            "audience": self.audience,
            "api_base_url": self.api_base_url,
        }

    def generate_token(self, scopes: Sequence[str], expires_in: int = MAX_TOKEN_LIFETIME_SECONDS) -> str:
        """A signed JWT for ``Authorization: Bearer``, valid ``expires_in`` seconds (1 to 3600).

        Mint one per hour and reuse it, not one per request (the server caches a verified token).
        ``scopes`` must stay within the account's ceiling, or the server answers 401.
        """
        if isinstance(scopes, str) or not isinstance(scopes, Sequence):
            raise TypeError('generate_token: scopes must be a list, e.g. ["read:certificates"]')
        if not scopes or not all(isinstance(scope, str) and scope for scope in scopes):
            raise ValueError('generate_token: scopes must be a non-empty list, e.g. ["read:certificates"]')
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise TypeError("generate_token: expires_in must be a whole number of seconds")
        if not 1 <= expires_in <= MAX_TOKEN_LIFETIME_SECONDS:
            raise ValueError(
                f"generate_token: expires_in must be from 1 to {MAX_TOKEN_LIFETIME_SECONDS} seconds "
                f"(got {expires_in}): the server refuses service-account tokens living longer than an hour"
            )
        issued_at = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.id,
            "aud": self.audience,
            "exp": issued_at + expires_in,
            "iat": issued_at,
            "scopes": list(scopes),
            "org_id": self.org_id,
        }
        # typ=None drops PyJWT's default "typ": "JWT": the header is exactly {alg, kid}, as the reference.
        # PyJWT 2.6 annotates the key as str but signs with cryptography key objects (its documented use).
        key: Any = self._private_key
        return jwt.encode(claims, key, algorithm=self.algorithm, headers={"kid": self.key_id, "typ": None})
