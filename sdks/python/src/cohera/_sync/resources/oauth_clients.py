# GENERATED from _async/resources/oauth_clients.py by scripts/unasync.py: edit the async source, not this.
"""``/v1/oauth/clients``: the OAuth apps registered by the organization (``admin``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._models import Mode, OAuthClient, OAuthClientWithSecret, Scope
from ..._pagination import Page
from ..._params import OMIT, Omit, fields
from ..._request import RequestOptions, segment
from .._resource import Resource


class OAuthClients(Resource):
    def create(
        self,
        *,
        name: str,
        redirect_uris: Sequence[str],
        client_type: Literal["confidential", "public"],
        scopes: Sequence[Scope],
        mode: Mode | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> OAuthClientWithSecret:
        """A confidential client's ``client_secret`` is in this response only."""
        body = fields(
            name=name,
            redirect_uris=list(redirect_uris),
            client_type=client_type,
            scopes=list(scopes),
            mode=mode,
        )
        created: OAuthClientWithSecret = self._transport.request(
            "POST", "/v1/oauth/clients", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> OAuthClient:
        found: OAuthClient = self._transport.request(
            "GET", f"/v1/oauth/clients/{segment(id)}", options=options
        )
        return found

    def update(
        self,
        id: str,
        *,
        name: str | Omit = OMIT,
        redirect_uris: Sequence[str] | Omit = OMIT,
        scopes: Sequence[Scope] | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> OAuthClient:
        """Narrowing ``scopes`` ends the authorizations (and their tokens) that hold more than the new
        ones."""
        body = fields(
            name=name,
            redirect_uris=redirect_uris if isinstance(redirect_uris, Omit) else list(redirect_uris),
            scopes=scopes if isinstance(scopes, Omit) else list(scopes),
        )
        updated: OAuthClient = self._transport.request(
            "PATCH", f"/v1/oauth/clients/{segment(id)}", body=body, options=options
        )
        return updated

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        """Deletes the app; the tokens it holds stop working."""
        self._transport.request("DELETE", f"/v1/oauth/clients/{segment(id)}", options=options)

    def list(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[OAuthClient]:
        return self._list("/v1/oauth/clients", {"limit": limit, "cursor": cursor}, options)

    def rotate_secret(
        self,
        id: str,
        *,
        grace_period_seconds: int | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> OAuthClientWithSecret:
        """A new ``client_secret``; the old one keeps working for ``grace_period_seconds``."""
        rotated: OAuthClientWithSecret = self._transport.request(
            "POST",
            f"/v1/oauth/clients/{segment(id)}/rotate-secret",
            body=fields(grace_period_seconds=grace_period_seconds),
            options=options,
        )
        return rotated
