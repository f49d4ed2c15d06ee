"""The API's objects and parameters as ``TypedDict``\\ s (generated from the server's OpenAPI document),
plus the argument types of the resource methods."""

from ._models import *  # noqa: F403
from ._models import __all__ as _models_all
from ._params import OMIT, Omit, TimestampInput
from ._request import RateLimit, RequestOptions

__all__ = [*_models_all, "OMIT", "Omit", "TimestampInput", "RateLimit", "RequestOptions"]
