"""The Python client for the Cohera API.

    from cohera import Cohera
    client = Cohera()                      # COHERA_API_KEY and COHERA_BASE_URL from the environment
    for cert in client.certificates.list(status="valid"):
        print(cert["id"], cert["expires_at"])

``AsyncCohera`` has the same surface on ``httpx.AsyncClient``. OAuth2, tokens and service accounts are in
``cohera.auth``; webhook verification in ``cohera.webhooks``.
"""

from ._async.client import AsyncCohera
from ._pagination import AsyncPage, AsyncPager, Page
from ._params import OMIT, Omit
from ._request import RateLimit, RequestOptions
from ._sync.client import Cohera
from ._version import VERSION
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    CoheraError,
    ConflictError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
)

__version__ = VERSION

__all__ = [
    "Cohera",
    "AsyncCohera",
    "Page",
    "AsyncPage",
    "AsyncPager",
    "RateLimit",
    "RequestOptions",
    "OMIT",
    "Omit",
    "CoheraError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "RateLimitError",
    "APIConnectionError",
    "APITimeoutError",
    "OAuthError",
    "__version__",
]
