"""``client.members`` and ``client.invitations`` against the real server, each test in an organization of
its own (the owner-role rules depend on who else is an owner)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from cohera import (
    AsyncCohera,
    Cohera,
    ConflictError,
    NotFoundError,
    Page,
    PermissionDeniedError,
    ValidationError,
)
from team_support import accept, join


@dataclass
class Team:
    """A fresh organization whose only member is its owner, and the owner's admin key."""

    client: Cohera
    api_key: str = field(repr=False)
    owner_id: str
    owner_email: str


def new_team(server: Any, name: str) -> Iterator[Team]:
    made = server.bootstrap(org=f"{name} {uuid.uuid4().hex[:6]}", email=f"{uuid.uuid4().hex[:10]}@team.test")
    with Cohera(api_key=made.api_key, base_url=server.base_url) as client:
        yield Team(client, made.api_key, made.user_id, made.email)


@pytest.fixture()
def team(server: Any) -> Iterator[Team]:
    yield from new_team(server, "Team")


@pytest.fixture()
def other_team(server: Any) -> Iterator[Team]:
    yield from new_team(server, "Other team")


def test_invitations_create_list_replace_revoke(team: Team) -> None:
    client = team.client
    created = client.invitations.create(email="Dana@Example.com", role="member")
    assert created["id"].startswith("inv_") and created["object"] == "invitation"
    assert created["email"] == "dana@example.com" and created["role"] == "member"
    assert created["status"] == "pending" and created["expires_at"] > created["created_at"]
    assert created["invited_by"]["kind"] == "api_key"
    assert created["accept_url"].startswith(client.base_url + "/invitations/accept?token=")

    listed = client.invitations.list()
    assert isinstance(listed, Page) and [i["id"] for i in listed] == [created["id"]]
    assert "accept_url" not in listed.data[0]  # the link is shown once

    # Re-inviting the same e-mail replaces the pending invitation, and its link.
    again = client.invitations.create(email="dana@example.com", role="viewer")
    assert [(i["id"], i["role"]) for i in client.invitations.list()] == [(again["id"], "viewer")]
    assert again["accept_url"] != created["accept_url"]
    assert httpx.get(created["accept_url"]).status_code == 410

    client.invitations.revoke(again["id"])
    assert client.invitations.list().data == []
    assert httpx.get(again["accept_url"]).status_code == 410
    with pytest.raises(NotFoundError):
        client.invitations.revoke(again["id"])
    with pytest.raises(ValidationError):
        client.invitations.create(email="not an e-mail", role="member")


def test_members_and_the_owner_rules(team: Team) -> None:
    client = team.client
    assert [(m["user_id"], m["email"], m["role"], m["object"]) for m in client.members.list()] == [
        (team.owner_id, team.owner_email, "owner", "member")
    ]
    # Someone already in the organization is not invited; its only owner stays one.
    with pytest.raises(ConflictError) as already:
        client.invitations.create(email=team.owner_email, role="admin")
    assert already.value.status == 409 and already.value.code == "already_member"
    with pytest.raises(ConflictError) as demoted:
        client.members.update(team.owner_id, role="admin")
    assert demoted.value.code == "last_owner"
    with pytest.raises(ConflictError) as removed:
        client.members.remove(team.owner_id)
    assert removed.value.code == "last_owner"

    dana = join(client, "member")
    assert [m["user_id"] for m in client.members.list(limit=1).data] == [dana["user_id"]]  # newest first
    assert {m["user_id"] for m in client.members.list(limit=1)} == {dana["user_id"], team.owner_id}
    assert client.invitations.list().data == []  # accepted: no longer pending
    assert client.members.update(dana["user_id"], role="viewer") == {**dana, "role": "viewer"}

    # With a second owner the first may step down; their key then acts as an admin, which cannot touch
    # the owner role.
    client.members.update(dana["user_id"], role="owner")
    assert client.members.update(team.owner_id, role="admin")["role"] == "admin"
    with pytest.raises(PermissionDeniedError) as forbidden:
        client.members.update(team.owner_id, role="owner")
    assert forbidden.value.code == "forbidden"
    with pytest.raises(PermissionDeniedError):
        client.members.remove(dana["user_id"])


def test_removing_a_member(team: Team) -> None:
    client = team.client
    member = join(client, "viewer")
    client.members.remove(member["user_id"])
    assert [m["user_id"] for m in client.members.list()] == [team.owner_id]
    with pytest.raises(NotFoundError):
        client.members.remove(member["user_id"])
    with pytest.raises(NotFoundError):
        client.members.update(member["user_id"], role="member")


def test_another_organizations_people_are_not_found(team: Team, other_team: Team) -> None:
    stranger = join(other_team.client, "member")
    invitation = other_team.client.invitations.create(email="someone@example.com", role="viewer")
    for call in (
        lambda: team.client.members.update(stranger["user_id"], role="viewer"),
        lambda: team.client.members.remove(stranger["user_id"]),
        lambda: team.client.members.update(other_team.owner_id, role="viewer"),
        lambda: team.client.invitations.revoke(invitation["id"]),
    ):
        with pytest.raises(NotFoundError) as missing:
            call()
        assert missing.value.status == 404 and missing.value.code == "not_found"
    # Untouched in their own organization.
    theirs = {m["user_id"]: m["role"] for m in other_team.client.members.list()}
    assert theirs == {stranger["user_id"]: "member", other_team.owner_id: "owner"}
    assert [i["id"] for i in other_team.client.invitations.list()] == [invitation["id"]]


def test_a_link_works_once(team: Team) -> None:
    invitation = team.client.invitations.create(email=f"{uuid.uuid4().hex[:8]}@team.test", role="member")
    accept(invitation["accept_url"])
    assert httpx.get(invitation["accept_url"]).status_code == 410


def test_async_members_and_invitations(server: Any, team: Team) -> None:
    async def scenario() -> None:
        async with AsyncCohera(api_key=team.api_key, base_url=server.base_url) as client:
            made = await client.invitations.create(email="async@example.com", role="viewer")
            assert [i["id"] async for i in client.invitations.list()] == [made["id"]]
            await client.invitations.revoke(made["id"])
            members = await client.members.list()
            assert [m["role"] for m in members.data] == ["owner"]
            with pytest.raises(ConflictError):
                await client.members.remove(team.owner_id)

    asyncio.run(scenario())
