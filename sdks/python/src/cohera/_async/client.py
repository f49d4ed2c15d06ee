"""``AsyncCohera``: the client on ``httpx.AsyncClient``."""

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
from ._transport import AsyncTransport
from .resources.api_keys import AsyncApiKeys
from .resources.audit_events import AsyncAuditEvents
from .resources.credentials import AsyncCredentials
from .resources.domain import AsyncCertificates, AsyncProducts, AsyncSuppliers
from .resources.oauth_clients import AsyncOAuthClients
from .resources.organization import (
    AsyncOrganizationResource,
    AsyncSecurity,
    AsyncUsageResource,
)
from .resources.service_accounts import AsyncServiceAccounts
from .resources.team import AsyncInvitations, AsyncMembers
from .resources.webhooks import AsyncEvents, AsyncWebhookEndpoints


class AsyncCohera:
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
        http_client: httpx.AsyncClient | None = None,
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
        self._transport = AsyncTransport(settings, credential, http_client)
        transport = self._transport
        self.suppliers = AsyncSuppliers(transport)
        self.products = AsyncProducts(transport)
        self.certificates = AsyncCertificates(transport)
        self.api_keys = AsyncApiKeys(transport)
        self.service_accounts = AsyncServiceAccounts(transport)
        self.oauth_clients = AsyncOAuthClients(transport)
        self.webhook_endpoints = AsyncWebhookEndpoints(transport)
        self.events = AsyncEvents(transport)
        self.audit_events = AsyncAuditEvents(transport)
        self.organization = AsyncOrganizationResource(transport)
        self.security = AsyncSecurity(transport)
        self.usage = AsyncUsageResource(transport)
        #: The public leaked-credential report (no credential sent).
        self.credentials = AsyncCredentials(transport)
        #: The organization's people (``admin``): list, change a role, remove.
        self.members = AsyncMembers(transport)
        #: Invitations to join the organization (``admin``): create, list pending, revoke.
        self.invitations = AsyncInvitations(transport)

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._transport.settings.base_url

    @property
    def last_rate_limit(self) -> RateLimit | None:
        """``X-RateLimit-*`` of the last response that carried them (``None`` before any)."""
        return self._transport.last_rate_limit

    async def whoami(self, *, options: RequestOptions | None = None) -> CredentialInfo:
        """Who this client's credential is (``GET /health``): the "verify the new key works" step of a
        rotation. Raises ``AuthenticationError`` when the server refuses the credential."""
        health: Health = await self._transport.request("GET", "/health", options=options)
        auth = health.get("auth")
        if auth is None:
            raise CoheraError("the server did not identify the credential", code="no_auth_info")
        return auth

    async def aclose(self) -> None:
        """Closes the connection pool (not an ``http_client`` you passed in)."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncCohera:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncCohera base_url={self.base_url!r} credential={self._transport.credential.kind}>"
