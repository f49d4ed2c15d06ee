"""The app side of the OAuth 2.0 authorization-code flow with PKCE (RFC 6749, RFC 7636, RFC 9700).

Build the authorization URL, check the callback (state against CSRF, ``error``, ``iss`` per RFC 9207
against mix-up), exchange the code, refresh (the server rotates refresh tokens), revoke (RFC 7009).

Token requests go through plain ``httpx`` and are never retried: a code is single use and a refresh token
is rotated on use, so replaying a request whose answer was lost would burn the code or, for a refresh
token, look like reuse and revoke the whole grant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx

from .._options import DEFAULT_BASE_URL
from .._request import user_agent
from ..errors import APIConnectionError, APITimeoutError, CoheraError, OAuthError
from .discovery import Metadata, discover
from .tokens import Tokens

__all__ = ["DEFAULT_BASE_URL", "OAuth2"]

DEFAULT_TIMEOUT_SECONDS = 30.0


def _random_token() -> str:
    # 32 random bytes, base64url without padding: 43 characters, within RFC 7636's 43-128 for a verifier.
    return secrets.token_urlsafe(32)


def _challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _basic_authorization(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: each part is form-encoded before the Basic encoding.
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _same(a: str, b: str) -> bool:
    # Constant time: the state is a secret an attacker forging a callback is trying to guess.
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class OAuth2:
    """An OAuth app (``cli_…``) signing people in to Cohera.

    Example::

        oauth = OAuth2(client_id="cli_…", client_secret="…", redirect_uri="https://yourapp.com/callback")
        auth_url = oauth.get_authorization_url(scopes=["read:certificates"])
        session["state"], session["verifier"] = oauth.state, oauth.code_verifier   # multi-process apps
        # … later, in the callback handler (possibly another process):
        tokens = OAuth2(...).exchange_code(
            request.args["code"], code_verifier=session["verifier"], state=session["state"],
            returned_state=request.args.get("state"), iss=request.args.get("iss"),
        )
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        *,
        base_url: str | None = None,
        scopes: Sequence[str] | None = None,
        issuer: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        http_client: httpx.Client | None = None,
    ) -> None:
        """``client_id`` and ``client_secret`` default to ``COHERA_CLIENT_ID`` / ``COHERA_CLIENT_SECRET``
        (none for a public app); ``base_url`` to ``COHERA_BASE_URL``, else the client's default;
        ``issuer`` (the server's ``COHERA_PUBLIC_URL``) to ``base_url``; ``scopes`` are the default scopes
        of :meth:`get_authorization_url`."""
        client_id = client_id or os.environ.get("COHERA_CLIENT_ID")
        if not client_id:
            raise CoheraError("OAuth2 needs a client_id (or COHERA_CLIENT_ID)", code="missing_client_id")
        if not redirect_uri:
            raise CoheraError(
                "OAuth2 needs a redirect_uri: one of the app's registered redirect URIs, exactly",
                code="missing_redirect_uri",
            )
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.base_url = (base_url or os.environ.get("COHERA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.issuer = (issuer or self.base_url).rstrip("/")
        self.scopes = list(scopes) if scopes is not None else None
        self._client_secret = client_secret or os.environ.get("COHERA_CLIENT_SECRET") or None
        self._http = http_client or httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"user-agent": user_agent()}
        )
        self._owns_http = http_client is None
        self._state: str | None = None
        self._code_verifier: str | None = None

    # Never the secret, the state or the verifier: a repr ends up in logs and tracebacks.
    def __repr__(self) -> str:
        kind = "confidential" if self._client_secret else "public"
        return f"OAuth2(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r}, {kind})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> OAuth2:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def state(self) -> str | None:
        """The state of the last :meth:`get_authorization_url`: keep it in the user's session."""
        return self._state

    @property
    def code_verifier(self) -> str | None:
        """The PKCE verifier of the last :meth:`get_authorization_url`: keep it in the user's session, never
        in a URL or a cookie the browser can read."""
        return self._code_verifier

    @property
    def metadata(self) -> Metadata:
        """The authorization server's metadata (RFC 8414), fetched once per process."""
        return discover(self._http, self.base_url, self.issuer)

    def get_authorization_url(
        self,
        scopes: Sequence[str] | None = None,
        state: str | None = None,
        *,
        prompt: Literal["login", "consent", "none"] | None = None,
    ) -> str:
        """Where to send the user, with a fresh PKCE verifier (S256) and state, both kept on this object."""
        if isinstance(scopes, str):
            raise TypeError('scopes must be a list, e.g. ["read:certificates"], not a string')
        chosen = list(scopes) if scopes is not None else self.scopes
        if not chosen:
            raise ValueError('get_authorization_url needs scopes, e.g. ["read:certificates"]')
        self._state = state or _random_token()
        self._code_verifier = _random_token()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(chosen),
            "state": self._state,
            "code_challenge": _challenge_of(self._code_verifier),
            "code_challenge_method": "S256",
        }
        if prompt:
            query["prompt"] = prompt
        endpoint = self.metadata.authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    def parse_callback(self, callback: str | Mapping[str, Any], *, state: str | None = None) -> str:
        """Checks the redirect back to the app (its full URL, or its query parameters as a mapping such as
        Flask's ``request.args``) and returns the code. ``state`` defaults to :attr:`state`."""
        params: dict[str, Any]
        if isinstance(callback, str):
            params = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}
        else:
            names = ("code", "state", "iss", "error", "error_description")
            params = {name: callback.get(name) for name in names}
        self._check_callback(params.get("state"), params.get("iss"), state)
        error = params.get("error")
        if error:
            description = params.get("error_description")
            raise OAuthError(
                f"Authorization failed: {error}" + (f" ({description})" if description else ""),
                code=str(error),
                error_description=str(description) if description else None,
            )
        code = params.get("code")
        if not code:
            raise OAuthError("The callback has no code", code="missing_code")
        return str(code)

    def _check_callback(self, returned_state: Any, iss: Any, state: str | None) -> None:
        expected = state or self._state
        if expected is None:
            raise OAuthError(
                "No state to check the callback against: pass state= (kept from get_authorization_url)",
                code="state_mismatch",
            )
        if not isinstance(returned_state, str) or not _same(returned_state, expected):
            raise OAuthError(
                "The callback's state does not match the authorization request (a forged or stale callback)",
                code="state_mismatch",
            )
        metadata = self.metadata
        if iss is None:
            # RFC 9207 §2.4: when the server says it always sends iss, a callback without it is refused.
            if metadata.iss_parameter_supported:
                raise OAuthError(
                    "The callback has no iss parameter, which this server always sends (RFC 9207): pass the "
                    "callback's iss too",
                    code="issuer_mismatch",
                )
            return
        if not isinstance(iss, str) or iss.rstrip("/") != metadata.issuer:
            raise OAuthError(
                f"The callback comes from issuer {iss!r}, not {metadata.issuer!r}", code="issuer_mismatch"
            )

    def exchange_code(
        self,
        code: str,
        *,
        code_verifier: str | None = None,
        state: str | None = None,
        returned_state: str | None = None,
        iss: str | None = None,
    ) -> Tokens:
        """Exchanges the callback's code (single use, valid 60 s) for tokens.

        ``code_verifier`` and ``state`` default to what :meth:`get_authorization_url` kept on this object.
        Pass the callback's ``state`` as ``returned_state`` (and its ``iss``) to have them checked here; a
        mismatch raises :class:`~cohera.errors.OAuthError` (``state_mismatch`` / ``issuer_mismatch``)
        before the code is sent anywhere.
        """
        if not code or not isinstance(code, str):
            raise ValueError("exchange_code needs the code from the callback's query string")
        verifier = code_verifier or self._code_verifier
        if not verifier:
            raise ValueError(
                "exchange_code needs the PKCE verifier: call get_authorization_url on this object first, "
                "or pass code_verifier= (kept from oauth.code_verifier in the user's session)"
            )
        if returned_state is not None or iss is not None:
            self._check_callback(returned_state, iss, state)
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            }
        )

    def refresh_token(self, refresh_token: str | None, scopes: Sequence[str] | None = None) -> Tokens:
        """New tokens for a refresh token, optionally narrowed to ``scopes``. The server rotates refresh
        tokens: store the returned ones and drop the old (a used refresh token presented again revokes the
        grant)."""
        if not refresh_token:
            raise ValueError("refresh_token needs a refresh token (tokens.refresh_token)")
        fields = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scopes:
            fields["scope"] = " ".join(scopes)
        return self._token_request(fields, refresh_token)

    def revoke(
        self, token: str, *, token_type_hint: Literal["access_token", "refresh_token"] | None = None
    ) -> None:
        """Revokes an access or refresh token (RFC 7009; revoking a refresh token ends the grant)."""
        if not token:
            raise ValueError("revoke needs a token")
        fields = {"token": token}
        if token_type_hint:
            fields["token_type_hint"] = token_type_hint
        endpoint = self.metadata.revocation_endpoint or f"{self.base_url}/oauth/revoke"
        self._post(endpoint, fields)

    def _token_request(self, fields: dict[str, str], previous_refresh_token: str | None = None) -> Tokens:
        body = self._post(self.metadata.token_endpoint, fields)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OAuthError("The token response has no access_token", code="invalid_token_response")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise OAuthError(f"Unsupported token_type {token_type!r}", code="invalid_token_response")
        return Tokens.from_response(body, previous_refresh_token)

    def _post(self, url: str, fields: dict[str, str]) -> Any:
        headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
        if self._client_secret:
            headers["authorization"] = _basic_authorization(self.client_id, self._client_secret)
        else:
            fields = {**fields, "client_id": self.client_id}
        path = urlsplit(url).path
        try:
            response = self._http.post(url, content=urlencode(fields), headers=headers)
        except httpx.TimeoutException as error:
            raise APITimeoutError(f"POST {path} timed out") from error
        except httpx.HTTPError as error:
            raise APIConnectionError(f"POST {path} failed: could not reach {self.base_url}") from error
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if not 200 <= response.status_code < 300:
            answer: dict[str, Any] = body if isinstance(body, dict) else {}
            oauth_error = answer.get("error")
            code = oauth_error if isinstance(oauth_error, str) else f"http_{response.status_code}"
            given = answer.get("error_description")
            description = given if isinstance(given, str) else None
            # error/error_description are the server's words (RFC 6749 §5.2), never a token or a secret.
            raise OAuthError(
                f"{path}: {code}" + (f" ({description})" if description else ""),
                code=code,
                error_description=description,
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return body
