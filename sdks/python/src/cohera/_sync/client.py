# GENERATED from _async/client.py by scripts/unasync.py: edit the async source, not this.
"""``Cohera``: the client on ``httpx.Client``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

import httpx

from .._credentials import MAX_TOKEN_LIFETIME_SECONDS, TokenMinter
from .._models import CredentialInfo, Health
from .._options import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    configure,
)
from .._request import RateLimit, RequestOptions
from ..errors import CoheraError
from ._transport import Transport
from .resources.api_keys import ApiKeys
from .resources.audit_events import AuditEvents
from .resources.credentials import Credentials
from .resources.domain import Certificates, Products, Suppliers
from .resources.oauth_clients import OAuthClients
from .resources.organization import (
    OrganizationResource,
    Security,
    UsageResource,
)
from .resources.service_accounts import ServiceAccounts
from .resources.team import Invitations, Members
from .resources.webhooks import Events, WebhookEndpoints


class Cohera:
    """The Cohera API client.

    It takes exactly one credential: ``api_key`` (default ``COHERA_API_KEY``), ``access_token`` (a token,
    or a callable returning the current one, called before every request), or ``service_account`` with
    ``scopes`` (it mints tokens, reuses them and renews them before they expire). The credential is sent
    only in the ``Authorization`` header and shows in no ``repr``, message or traceback. ``anonymous=True``
    takes none (not even ``COHERA_API_KEY``): only the public calls (``credentials.revoke``) work, and any
    other raises ``CoheraError`` ``missing_credential`` before sending anything.

    ``base_url`` defaults to ``COHERA_BASE_URL``, then the service account's ``api_base_url``, then
    ``http://127.0.0.1:8080``. ``timeout`` is seconds per attempt; ``max_retries`` counts retries after a
    network error or a 408, 429, 502, 503 or 504; a server-requested wait longer than
    ``max_retry_delay`` seconds (a spent daily limit) raises ``RateLimitError`` at once.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | Callable[[], str] | None = None,
        service_account: TokenMinter | None = None,
        scopes: Sequence[str] | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
        token_lifetime: int = MAX_TOKEN_LIFETIME_SECONDS,
        http_client: httpx.Client | None = None,
        anonymous: bool = False,
    ) -> None:
        credential, settings = configure(
            api_key=api_key,
            access_token=access_token,
            service_account=service_account,
            scopes=scopes,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_delay=max_retry_delay,
            token_lifetime=token_lifetime,
            anonymous=anonymous,
        )
        self._transport = Transport(settings, credential, http_client)
        transport = self._transport
        self.suppliers = Suppliers(transport)
        self.products = Products(transport)
        self.certificates = Certificates(transport)
        self.api_keys = ApiKeys(transport)
        self.service_accounts = ServiceAccounts(transport)
        self.oauth_clients = OAuthClients(transport)
        self.webhook_endpoints = WebhookEndpoints(transport)
        self.events = Events(transport)
        self.audit_events = AuditEvents(transport)
        self.organization = OrganizationResource(transport)
        self.security = Security(transport)
        self.usage = UsageResource(transport)
        #: The public leaked-credential report (no credential sent).
        self.credentials = Credentials(transport)
        #: The organization's people (``admin``): list, change a role, remove.
        self.members = Members(transport)
        #: Invitations to join the organization (``admin``): create, list pending, revoke.
        self.invitations = Invitations(transport)

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._transport.settings.base_url

    @property
    def last_rate_limit(self) -> RateLimit | None:
        """``X-RateLimit-*`` of the last response that carried them (``None`` before any)."""
        return self._transport.last_rate_limit

    def whoami(self, *, options: RequestOptions | None = None) -> CredentialInfo:
        """Who this client's credential is (``GET /health``): the "verify the new key works" step of a
        rotation. Raises ``AuthenticationError`` when the server refuses the credential."""
        health: Health = self._transport.request("GET", "/health", options=options)
        auth = health.get("auth")
        if auth is None:
            raise CoheraError("the server did not identify the credential", code="no_auth_info")
        return auth

    def close(self) -> None:
        """Closes the connection pool (not an ``http_client`` you passed in)."""
        self._transport.close()

    def __enter__(self) -> Cohera:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Cohera base_url={self.base_url!r} credential={self._transport.credential.kind}>"
