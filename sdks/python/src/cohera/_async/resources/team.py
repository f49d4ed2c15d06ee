"""The organization's people (``admin``): ``/v1/organization/members`` and ``/v1/organization/invitations``.

Only an owner's credential may touch the owner role (anyone else gets ``PermissionDeniedError``), and the
last owner can be neither demoted nor removed (``ConflictError`` with code ``last_owner``).
"""

from __future__ import annotations

from ..._models import Invitation, InvitationWithLink, Member, Role
from ..._pagination import AsyncPager
from ..._request import RequestOptions, segment
from .._resource import AsyncResource


class AsyncMembers(AsyncResource):
    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPager[Member]:
        """Newest account first."""
        return self._list("/v1/organization/members", {"limit": limit, "cursor": cursor}, options)

    async def update(
        self, user_id: str, *, role: Role, options: RequestOptions | None = None
    ) -> Member:
        """A new role; the person's sessions, API keys and OAuth tokens follow it within a second."""
        updated: Member = await self._transport.request(
            "PATCH",
            f"/v1/organization/members/{segment(user_id, 'user_id')}",
            body={"role": role},
            options=options,
        )
        return updated

    async def remove(self, user_id: str, *, options: RequestOptions | None = None) -> None:
        """Removes the person: their sessions, app authorizations and API keys in the organization end."""
        await self._transport.request(
            "DELETE", f"/v1/organization/members/{segment(user_id, 'user_id')}", options=options
        )


class AsyncInvitations(AsyncResource):
    async def create(
        self, *, email: str, role: Role, options: RequestOptions | None = None
    ) -> InvitationWithLink:
        """Invites ``email`` with ``role``. The single-use ``accept_url`` (valid 7 days) is in this answer
        only (also e-mailed when the server has SMTP; an idempotent replay does not repeat it). Re-inviting
        an e-mail with a pending invitation replaces it; an existing member is ``ConflictError``
        ``already_member``."""
        created: InvitationWithLink = await self._transport.request(
            "POST", "/v1/organization/invitations", body={"email": email, "role": role}, options=options
        )
        return created

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPager[Invitation]:
        """The pending invitations (expired ones too, with ``status`` ``expired``), newest first, without
        their links."""
        return self._list("/v1/organization/invitations", {"limit": limit, "cursor": cursor}, options)

    async def revoke(self, id: str, *, options: RequestOptions | None = None) -> None:
        """Its link stops working."""
        await self._transport.request(
            "DELETE", f"/v1/organization/invitations/{segment(id)}", options=options
        )
