"""What the auth, README and docs tests share: registering an OAuth app and a service account through the
API with the session's admin key, and a small cookie-keeping "browser" that signs in and answers the
consent page over HTTP exactly as a person's browser would (the documented form fields: ``email``,
``password``, ``decision=allow|deny`` and the consent page's ``csrf_token``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

#: Loopback, port 9 (discard): the browser stops at the redirect and nothing is ever sent there.
REDIRECT_URI = "http://127.0.0.1:9/callback"


def admin(server: Any) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {server.api_key}"})


def register_client(
    server: Any,
    *,
    redirect_uris: list[str] | None = None,
    client_type: str = "confidential",
    scopes: list[str] | None = None,
    name: str = "Python SDK test app",
) -> dict[str, Any]:
    """``POST /v1/oauth/clients``: the app with its ``client_id`` and (confidential) ``client_secret``."""
    with admin(server) as api:
        response = api.post(
            "/v1/oauth/clients",
            json={
                "name": name,
                "redirect_uris": redirect_uris or [REDIRECT_URI],
                "client_type": client_type,
                "scopes": scopes or ["read:certificates", "read:suppliers", "write:suppliers"],
            },
        )
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


def create_service_account(
    server: Any, scopes: list[str], name: str = "Python SDK worker", mode: str = "live"
) -> dict[str, Any]:
    """A service account and a server-generated key: the ``service-account.json`` object (shown once)."""
    with admin(server) as api:
        account = api.post("/v1/service-accounts", json={"name": name, "scopes": scopes, "mode": mode})
        assert account.status_code == 201, account.text
        key = api.post(f"/v1/service-accounts/{account.json()['id']}/keys", json={})
        assert key.status_code == 201, key.text
    credentials: dict[str, Any] = key.json()
    return credentials


def write_service_account_file(server: Any, directory: Path, scopes: list[str]) -> Path:
    path = directory / "service-account.json"
    path.write_text(json.dumps(create_service_account(server, scopes)))
    path.chmod(0o600)
    return path


class Browser:
    """Follows redirects on the server's origin only, keeps cookies, and stops at any other origin (the
    app's redirect URI), returning that URL: the callback the app would receive."""

    def __init__(self, base_url: str) -> None:
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
        self.http = httpx.Client(follow_redirects=False, timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _navigate(self, response: httpx.Response) -> tuple[httpx.Response, str | None]:
        for _ in range(10):
            location = response.headers.get("location")
            if not (300 <= response.status_code < 400 and location):
                return response, None
            target = urljoin(str(response.url), location)
            if not target.startswith(self.origin + "/"):
                return response, target
            response = self.http.get(target)
        raise AssertionError("too many redirects")

    def _submit(self, url: str, fields: dict[str, str]) -> tuple[httpx.Response, str | None]:
        response = self.http.post(
            url,
            data=fields,
            headers={"origin": self.origin, "content-type": "application/x-www-form-urlencoded"},
        )
        return self._navigate(response)

    def authorize(self, auth_url: str, email: str, password: str, decision: str = "allow") -> str:
        """Opens the authorization URL, signs in when asked, answers consent; returns the callback URL."""
        response, foreign = self._navigate(self.http.get(auth_url))
        if foreign:
            return foreign
        page = response.text
        if 'name="password"' in page:
            match = re.search(r'name="return_to" value="([^"]*)"', page)
            assert match, "the sign-in form has no return_to"
            response, foreign = self._submit(
                f"{self.origin}/auth/login",
                {"email": email, "password": password, "return_to": html.unescape(match.group(1))},
            )
            if foreign:
                return foreign
            page = response.text
        action = re.search(r'<form method="post" action="([^"]+)"', page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert action and "/decision" in action.group(1), (
            f"expected the consent page, got {response.status_code}"
        )
        assert token, "the consent form has no csrf_token"
        assert f'name="decision" value="{decision}"' in page, "no such button on the consent page"
        response, foreign = self._submit(
            urljoin(str(response.url), html.unescape(action.group(1))),
            {"decision": decision, "csrf_token": html.unescape(token.group(1))},
        )
        assert foreign, f"consent did not return to the app ({response.status_code})"
        return foreign
