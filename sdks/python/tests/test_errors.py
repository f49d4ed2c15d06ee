"""Each error class from a real response (or a real network failure), and no credential in any message,
repr or traceback."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import cohera
from cohera import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    Cohera,
    CoheraError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from loopback import closed_port, silent_listener

#: Shaped like a key (so the client sends it) but unknown to the server.
UNKNOWN_KEY = "ck_live_" + "Q" * 38


def failure(call: Callable[[], object]) -> CoheraError:
    """Runs ``call`` and returns what it raised, with a traceback that starts here: the test's own frame
    (whose locals hold the key on purpose) is not part of it."""
    try:
        call()
    except CoheraError as error:
        return error
    raise AssertionError("no error was raised")


def rendered(error: BaseException) -> str:
    """Everything a log could show: message, repr, and the traceback with every frame's locals."""
    formatted = traceback.TracebackException.from_exception(error, capture_locals=True).format()
    return "".join([str(error), repr(error), *formatted])


def test_hierarchy() -> None:
    for subclass in (
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        ValidationError,
        cohera.RateLimitError,
    ):
        assert issubclass(subclass, APIError) and issubclass(subclass, CoheraError)
    assert issubclass(APITimeoutError, APIConnectionError) and issubclass(APIConnectionError, CoheraError)
    # Not the builtin PermissionError (an OSError), which `except OSError` would catch by surprise.
    assert not issubclass(PermissionDeniedError, PermissionError)


def test_authentication_error(server: Any) -> None:
    with Cohera(api_key=UNKNOWN_KEY, base_url=server.base_url) as stranger:
        error = failure(lambda: stranger.suppliers.list())
    assert isinstance(error, AuthenticationError)
    assert error.status == 401 and error.code and error.request_id and error.request_id.startswith("req_")
    assert error.problem is not None and error.problem["status"] == 401
    assert UNKNOWN_KEY not in rendered(error) and UNKNOWN_KEY[8:20] not in rendered(error)


def test_permission_denied_error(client: Cohera, server: Any) -> None:
    reader = client.api_keys.create(name="reader", scopes=["read:suppliers"])
    with Cohera(api_key=reader["key"], base_url=server.base_url) as limited:
        with pytest.raises(PermissionDeniedError) as raised:
            limited.suppliers.create(name="Nope", country="SE")
    assert raised.value.status == 403 and raised.value.code == "insufficient_scope"
    assert raised.value.required_scope == "write:suppliers" and raised.value.request_id


def test_not_found_conflict_and_validation_errors(client: Cohera) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.products.retrieve("prd_" + "0" * 22)
    assert missing.value.status == 404 and missing.value.code == "not_found"

    supplier = client.suppliers.create(name=f"Busy {uuid.uuid4().hex[:8]}", country="SE")
    client.products.create(name="Widget", sku=uuid.uuid4().hex, supplier_id=supplier["id"])
    with pytest.raises(ConflictError) as conflict:
        client.suppliers.delete(supplier["id"])
    assert conflict.value.status == 409 and conflict.value.request_id

    with pytest.raises(ValidationError) as invalid:
        client.suppliers.create(name="Acme GmbH", country="Germany")
    error = invalid.value
    assert error.status == 400 and error.code == "validation_failed"
    assert [e["field"] for e in error.errors] == ["body/country"]
    assert "country" in str(error) and error.request_id in str(error)


def test_connection_error_has_no_credential(server: Any) -> None:
    key = server.api_key
    client = Cohera(api_key=key, base_url=closed_port(), max_retries=0)
    error = failure(lambda: client.suppliers.create(name="Unreachable", country="SE"))
    assert isinstance(error, APIConnectionError)
    assert error.status is None and error.code == "connection_error" and error.request_id is None
    assert "POST /v1/suppliers" in str(error)
    # The httpx exception (whose request carries the Authorization header) is not chained.
    assert error.__cause__ is None and error.__suppress_context__ is False and error.__context__ is None
    assert key not in rendered(error)


def test_timeout_error(server: Any) -> None:
    with silent_listener() as url:
        with Cohera(api_key=server.api_key, base_url=url, timeout=0.3, max_retries=0) as client:
            error = failure(lambda: client.organization.retrieve())
    assert isinstance(error, APITimeoutError)
    assert error.code == "timeout" and "timed out after 0.3 s" in str(error)
    assert server.api_key not in rendered(error)


def test_client_repr_and_credential_errors_hide_the_key(server: Any) -> None:
    client = Cohera(api_key=server.api_key, base_url=server.base_url)
    assert server.api_key not in repr(client) and "api_key" in repr(client)
    assert server.api_key not in repr(vars(client))
    token_client = Cohera(access_token="opaque-token-value", base_url=server.base_url)
    assert "opaque-token-value" not in repr(token_client) + repr(vars(token_client))

    mistyped = server.api_key[:-1]
    with pytest.raises(CoheraError) as refused:
        Cohera(api_key=mistyped)
    assert refused.value.code == "invalid_credential" and mistyped not in str(refused.value)
    with pytest.raises(CoheraError) as several:
        Cohera(api_key=server.api_key, access_token="x")
    assert several.value.code == "conflicting_credentials"


def test_environment_configuration(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COHERA_API_KEY", raising=False)
    monkeypatch.delenv("COHERA_BASE_URL", raising=False)
    with pytest.raises(CoheraError) as none:
        Cohera()
    assert none.value.code == "missing_credential"
    assert Cohera(api_key=server.api_key).base_url == "http://127.0.0.1:8080"

    monkeypatch.setenv("COHERA_API_KEY", server.api_key)
    monkeypatch.setenv("COHERA_BASE_URL", server.base_url + "/")
    with Cohera() as from_env:
        assert from_env.base_url == server.base_url
        assert from_env.whoami()["org_id"] == server.org_id
    for bad in ("ftp://example.com", "http://user:pw@example.com", "not a url"):
        with pytest.raises(CoheraError):
            Cohera(base_url=bad)
