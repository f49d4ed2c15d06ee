"""Credentials beyond API keys: OAuth 2.0 for apps acting for people, service accounts for machines.

As the reference documentation shows them::

    from cohera.auth import OAuth2, ServiceAccount
"""

from ..errors import OAuthError
from .oauth2 import OAuth2
from .service_account import MAX_TOKEN_LIFETIME_SECONDS, ServiceAccount, ServiceAccountError
from .tokens import Tokens

__all__ = [
    "MAX_TOKEN_LIFETIME_SECONDS",
    "OAuth2",
    "OAuthError",
    "ServiceAccount",
    "ServiceAccountError",
    "Tokens",
]
