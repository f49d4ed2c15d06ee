"""cohera.auth.OAuth2 end to end against the session's server: an app registered through the API, sign-in
and consent driven over HTTP through the server's own pages, the code exchanged, the tokens used at the
API; then each check the app relies on: state and ``iss`` (RFC 9207), PKCE, single-use codes, refresh
rotation with reuse detection, revocation, a wrong secret, deny, scope and organization boundaries.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from auth_support import REDIRECT_URI, Browser, register_client

from cohera import Cohera
from cohera.auth import OAuth2, OAuthError, Tokens

SCOPES = ["read:certificates", "read:suppliers"]


@pytest.fixture(scope="module")
def app_client(server: Any) -> dict[str, Any]:
    return register_client(server)


@pytest.fixture
def oauth(server: Any, app_client: dict[str, Any]) -> Iterator[OAuth2]:
    with OAuth2(
        client_id=app_client["client_id"],
        client_secret=app_client["client_secret"],
        redirect_uri=REDIRECT_URI,
        base_url=server.base_url,
    ) as made:
        yield made


def sign_in_and_consent(server: Any, auth_url: str, decision: str = "allow") -> str:
    with Browser(server.base_url) as browser:
        return browser.authorize(auth_url, server.email, server.password, decision)


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def api_status(server: Any, token: str, path: str, method: str = "GET", body: Any = None) -> int:
    with httpx.Client(base_url=server.base_url) as http:
        response = http.request(method, path, json=body, headers={"authorization": f"Bearer {token}"})
        return response.status_code


def authorized(server: Any, oauth: OAuth2, scopes: list[str] = SCOPES) -> Tokens:
    callback = sign_in_and_consent(server, oauth.get_authorization_url(scopes=scopes))
    return oauth.exchange_code(oauth.parse_callback(callback))


def test_the_whole_flow_as_the_reference_shows_it(server: Any, oauth: OAuth2) -> None:
    auth_url = oauth.get_authorization_url(scopes=SCOPES)
    params = query(auth_url)
    assert auth_url.startswith(f"{server.base_url}/oauth/authorize?")
    assert params["response_type"] == "code"
    assert params["scope"] == "read:certificates read:suppliers"
    assert params["state"] == oauth.state
    # PKCE S256 (RFC 7636 §4.2): the challenge is the verifier's SHA-256, base64url without padding.
    assert oauth.code_verifier and 43 <= len(oauth.code_verifier) <= 128
    digest = hashlib.sha256(oauth.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert params["code_challenge_method"] == "S256"
    assert oauth.code_verifier not in auth_url

    callback = sign_in_and_consent(server, auth_url)
    assert callback.startswith(REDIRECT_URI + "?")
    assert query(callback)["iss"] == server.base_url

    tokens = oauth.exchange_code(query(callback)["code"])
    assert tokens.scopes == tuple(SCOPES)
    assert tokens.refresh_token
    assert tokens.expires_at is not None
    assert timedelta(minutes=59) < tokens.expires_at - datetime.now(timezone.utc) <= timedelta(hours=1)
    assert tokens.is_expired is False

    client = Cohera(access_token=tokens.access_token, base_url=server.base_url)
    list(client.certificates.list())
    with httpx.Client(base_url=server.base_url) as http:
        health = http.get("/health", headers={"authorization": f"Bearer {tokens.access_token}"}).json()
    assert health["auth"]["org_id"] == server.org_id
    assert sorted(health["auth"]["scopes"]) == sorted(SCOPES)
    # Within scope 200, beyond it 403: write:suppliers was not asked for.
    assert api_status(server, tokens.access_token, "/v1/suppliers") == 200
    new_supplier = {"name": "X", "country": "DE"}
    assert api_status(server, tokens.access_token, "/v1/suppliers", "POST", new_supplier) == 403


def test_a_web_app_across_processes_keeps_state_and_verifier_in_its_session(
    server: Any, app_client: dict[str, Any], oauth: OAuth2
) -> None:
    auth_url = oauth.get_authorization_url(scopes=SCOPES, state="session-bound-state-0123456789")
    session = {"state": oauth.state, "verifier": oauth.code_verifier}
    assert session["state"] == "session-bound-state-0123456789"
    callback = query(sign_in_and_consent(server, auth_url))
    # The callback handler runs in another process: a new object, with what the session kept.
    other = OAuth2(
        client_id=app_client["client_id"],
        client_secret=app_client["client_secret"],
        redirect_uri=REDIRECT_URI,
        base_url=server.base_url,
    )
    assert other.state is None and other.code_verifier is None
    tokens = other.exchange_code(
        callback["code"],
        code_verifier=session["verifier"],
        state=session["state"],
        returned_state=callback["state"],
        iss=callback["iss"],
    )
    assert api_status(server, tokens.access_token, "/v1/certificates") == 200


def test_forged_state_and_foreign_issuer_are_refused_before_the_code_is_spent(
    server: Any, oauth: OAuth2
) -> None:
    callback_url = sign_in_and_consent(server, oauth.get_authorization_url(scopes=SCOPES))
    callback = query(callback_url)
    with pytest.raises(OAuthError) as forged:
        oauth.exchange_code(callback["code"], returned_state="forged", iss=callback["iss"])
    assert forged.value.code == "state_mismatch"
    with pytest.raises(OAuthError) as mixed_up:
        oauth.exchange_code(callback["code"], returned_state=callback["state"], iss="https://evil.example")
    assert mixed_up.value.code == "issuer_mismatch"
    # RFC 9207 §2.4: the server advertises iss, so a callback without it is refused.
    assert oauth.metadata.iss_parameter_supported is True
    with pytest.raises(OAuthError) as missing:
        oauth.parse_callback({"code": callback["code"], "state": callback["state"]})
    assert missing.value.code == "issuer_mismatch"
    with pytest.raises(OAuthError) as other_state:
        oauth.parse_callback(callback_url, state="another-session's-state")
    assert other_state.value.code == "state_mismatch"
    # None of the refusals sent the code: it still works, once.
    tokens = oauth.exchange_code(oauth.parse_callback(callback_url))
    assert tokens.access_token
    with pytest.raises(OAuthError) as replayed:
        oauth.exchange_code(callback["code"])
    assert replayed.value.code == "invalid_grant"
    assert replayed.value.status == 400


def test_the_user_says_no(server: Any, oauth: OAuth2) -> None:
    callback = sign_in_and_consent(server, oauth.get_authorization_url(scopes=SCOPES), decision="deny")
    with pytest.raises(OAuthError) as denied:
        oauth.parse_callback(callback)
    assert denied.value.code == "access_denied"
    assert denied.value.error_description


def test_the_code_needs_its_verifier(server: Any, app_client: dict[str, Any], oauth: OAuth2) -> None:
    callback = query(sign_in_and_consent(server, oauth.get_authorization_url(scopes=SCOPES)))
    fresh = OAuth2(
        client_id=app_client["client_id"],
        client_secret=app_client["client_secret"],
        redirect_uri=REDIRECT_URI,
        base_url=server.base_url,
    )
    with pytest.raises(ValueError, match="PKCE verifier"):
        fresh.exchange_code(callback["code"])
    with pytest.raises(OAuthError) as wrong:
        fresh.exchange_code(callback["code"], code_verifier="x" * 43)
    assert wrong.value.code == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_grant(server: Any, oauth: OAuth2) -> None:
    first = authorized(server, oauth)
    second = oauth.refresh_token(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert api_status(server, second.access_token, "/v1/certificates") == 200
    narrowed = oauth.refresh_token(second.refresh_token, scopes=["read:certificates"])
    assert narrowed.scopes == ("read:certificates",)
    # The used refresh token presented again: refused, and the whole grant is revoked (RFC 9700 §4.14.2).
    with pytest.raises(OAuthError) as reused:
        oauth.refresh_token(first.refresh_token)
    assert reused.value.code == "invalid_grant"
    with pytest.raises(OAuthError) as revoked:
        oauth.refresh_token(narrowed.refresh_token)
    assert revoked.value.code == "invalid_grant"


def test_revoked_access_token_is_refused_by_the_api(server: Any, oauth: OAuth2) -> None:
    tokens = authorized(server, oauth)
    assert api_status(server, tokens.access_token, "/v1/certificates") == 200
    oauth.revoke(tokens.access_token, token_type_hint="access_token")
    deadline = time.monotonic() + 5
    while api_status(server, tokens.access_token, "/v1/certificates") != 401:
        assert time.monotonic() < deadline, "the revoked token still works after 5 s"
        time.sleep(0.1)


def test_revoking_the_refresh_token_ends_the_grant(server: Any, oauth: OAuth2) -> None:
    tokens = authorized(server, oauth)
    oauth.revoke(tokens.refresh_token or "", token_type_hint="refresh_token")
    with pytest.raises(OAuthError) as ended:
        oauth.refresh_token(tokens.refresh_token)
    assert ended.value.code == "invalid_grant"


def test_a_wrong_client_secret_never_shows_in_the_error(server: Any, app_client: dict[str, Any]) -> None:
    wrong_secret = "not-the-secret-" + "s" * 20
    oauth = OAuth2(
        client_id=app_client["client_id"],
        client_secret=wrong_secret,
        redirect_uri=REDIRECT_URI,
        base_url=server.base_url,
    )
    assert wrong_secret not in repr(oauth)
    with pytest.raises(OAuthError) as refused:
        oauth.refresh_token("some-refresh-token")
    assert refused.value.code == "invalid_client"
    assert refused.value.status == 401
    for shown in (str(refused.value), repr(refused.value)):
        assert wrong_secret not in shown and "some-refresh-token" not in shown


def test_a_public_app_with_pkce_only(server: Any) -> None:
    public = register_client(server, client_type="public", name="Python SDK public app")
    assert not public.get("client_secret")
    oauth = OAuth2(client_id=public["client_id"], redirect_uri=REDIRECT_URI, base_url=server.base_url)
    tokens = authorized(server, oauth, ["read:certificates"])
    assert api_status(server, tokens.access_token, "/v1/certificates") == 200
    assert oauth.refresh_token(tokens.refresh_token).access_token


def test_a_token_never_reaches_another_organization(server: Any, oauth: OAuth2) -> None:
    other = server.bootstrap(org="Python SDK other org", email="owner@other-org.python-sdk.test")
    with httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {other.api_key}"}) as api:
        supplier = api.post("/v1/suppliers", json={"name": "Other org supplier", "country": "FR"}).json()
    tokens = authorized(server, oauth)
    assert api_status(server, tokens.access_token, f"/v1/suppliers/{supplier['id']}") == 404


def test_asking_beyond_the_app_scopes_is_refused(server: Any, oauth: OAuth2) -> None:
    # The app was registered without admin: the server refuses the request before sign-in.
    callback = sign_in_and_consent(server, oauth.get_authorization_url(scopes=["admin"]))
    with pytest.raises(OAuthError) as refused:
        oauth.parse_callback(callback)
    assert refused.value.code == "invalid_scope"


def test_configuration_errors_are_clear(server: Any) -> None:
    with pytest.raises(Exception, match="client_id"):
        OAuth2(redirect_uri=REDIRECT_URI, base_url=server.base_url)
    with pytest.raises(Exception, match="redirect_uri"):
        OAuth2(client_id="cli_x", base_url=server.base_url)
    oauth = OAuth2(client_id="cli_x", redirect_uri=REDIRECT_URI, base_url=server.base_url)
    with pytest.raises(TypeError):
        oauth.get_authorization_url(scopes="read:certificates")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        oauth.exchange_code(None)  # type: ignore[arg-type]
    # Discovery checks the issuer (RFC 8414 §3.3): a server naming another issuer is refused.
    mismatched = OAuth2(
        client_id="cli_x",
        redirect_uri=REDIRECT_URI,
        base_url=server.base_url,
        issuer="https://elsewhere.example",
    )
    with pytest.raises(OAuthError) as refused:
        mismatched.get_authorization_url(scopes=SCOPES)
    assert refused.value.code == "issuer_mismatch"


def test_environment_defaults(
    server: Any, app_client: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERA_BASE_URL", server.base_url)
    monkeypatch.setenv("COHERA_CLIENT_ID", app_client["client_id"])
    monkeypatch.setenv("COHERA_CLIENT_SECRET", app_client["client_secret"])
    oauth = OAuth2(redirect_uri=REDIRECT_URI)
    assert oauth.base_url == server.base_url and oauth.client_id == app_client["client_id"]
    assert authorized(server, oauth).access_token


def test_tokens_expiry_and_storage() -> None:
    now = datetime.now(timezone.utc)
    assert Tokens("a", "r", now + timedelta(seconds=30)).is_expired is True
    assert Tokens("a", "r", now + timedelta(seconds=120)).is_expired is False
    assert Tokens("a", "r", now - timedelta(seconds=1)).is_expired is True
    assert Tokens("a", "r", None).is_expired is False
    fresh = Tokens.from_response(
        {"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "scope": "read:certificates"},
        previous_refresh_token="old-rt",
    )
    assert fresh.refresh_token == "old-rt"  # RFC 6749 §6: no new one, the old one stays
    stored = fresh.to_dict()
    assert stored["scope"] == "read:certificates" and stored["expires_at"].endswith("Z")
    assert Tokens.from_dict(stored) == fresh
    # The TypeScript SDK's toJSON() shape reads back too.
    ts_shape = {**stored, "expires_at": "2030-01-01T00:00:00.000Z"}
    assert Tokens.from_dict(ts_shape).expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    shown = repr(Tokens("secret-access", "secret-refresh", None))
    assert "secret-access" not in shown and "secret-refresh" not in shown
    with pytest.raises(ValueError):
        Tokens.from_dict({})


def test_cohera_with_a_token_callable(server: Any, oauth: OAuth2) -> None:
    """An app that refreshes its tokens hands the client a function returning the current access token."""
    store = {"tokens": authorized(server, oauth)}

    def current() -> str:
        if store["tokens"].is_expired:
            store["tokens"] = oauth.refresh_token(store["tokens"].refresh_token)
        return store["tokens"].access_token

    client = Cohera(access_token=current, base_url=server.base_url)
    list(client.certificates.list())
