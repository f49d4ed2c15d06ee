"""Making a second member of an organization the way a person does: an invitation through the SDK, then
its link accepted over HTTP with the accept page's form fields (``token``, ``password``,
``password_confirmation``), as a browser posts them."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from cohera import Cohera
from cohera.types import Role


def accept(accept_url: str, password: str | None = None) -> None:
    """Accepts an invitation link as a new person (a password of their own) and checks they joined."""
    token = parse_qs(urlsplit(accept_url).query)["token"][0]
    password = password or f"correct horse {uuid.uuid4().hex[:12]}"
    base_url = accept_url.split("/invitations/accept", 1)[0]
    with httpx.Client(base_url=base_url, follow_redirects=False) as browser:
        page = browser.get("/invitations/accept", params={"token": token})
        assert page.status_code == 200, page.text
        joined = browser.post(
            "/invitations/accept",
            data={"token": token, "password": password, "password_confirmation": password},
        )
    assert joined.status_code == 303, joined.text


def join(client: Cohera, role: Role = "member", email: str | None = None) -> dict[str, Any]:
    """A new member of ``client``'s organization with ``role``; returns their ``Member``."""
    email = email or f"person-{uuid.uuid4().hex[:10]}@python-sdk.test"
    invitation = client.invitations.create(email=email, role=role)
    accept(invitation["accept_url"])
    member = next((m for m in client.members.list() if m["email"] == email), None)
    assert member is not None and member["role"] == role, member
    return dict(member)
