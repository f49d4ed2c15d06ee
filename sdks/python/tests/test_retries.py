"""Retries against the real server: a real 429 waited out as its ``Retry-After`` says, a POST whose
response is lost retried under the same ``Idempotency-Key`` (one object, not two), network failures."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future
from typing import Any

import pytest

from cohera import APIConnectionError, Cohera, RateLimitError
from loopback import LossyProxy, serve


def rate_limited_retry(base_url: str, org: Any) -> dict[str, Any]:
    """Runs in conftest's background probe: an organization allowed 2 requests a minute spends them, sees
    a real 429 (no retry allowed), then makes one call allowed a single retry through a counting proxy.
    The server answers that call's first attempt with 429 and only lets the retry through once the
    window the 429 named is over: the call succeeding is the proof that the client waited as told."""
    refused: RateLimitError | None = None
    with Cohera(api_key=org.api_key, base_url=base_url, max_retries=0) as eager:
        for _ in range(12):  # 2 allowed per clock minute, then a 429
            try:
                eager.organization.retrieve()
            except RateLimitError as error:
                refused = error
                if error.retry_after is not None and error.retry_after >= 3:
                    break
                # The window ends within 2 s: the next call could land in the fresh one and not see the
                # 429 this test is about. Wait for it and spend it again.
                time.sleep((error.retry_after or 1) + 0.5)
    assert refused is not None, "the organization was never rate limited"
    proxy = LossyProxy(base_url, lambda method, path, attempt: False)
    with serve(proxy.handler()) as url:
        with Cohera(
            api_key=org.api_key, base_url=url, max_retries=1, max_retry_delay=61
        ) as patient:
            organization = patient.organization.retrieve()
            rate_limit = patient.last_rate_limit
    return {
        "refused": refused,
        "organization": organization,
        "attempts": [path for method, path, _ in proxy.seen],
        "rate_limit": rate_limit,
        "org_id": org.org_id,
    }


def test_real_429_raises_rate_limit_error_with_retry_after(
    rate_limit_probe: Future[dict[str, Any]],
) -> None:
    refused = rate_limit_probe.result(timeout=90)["refused"]
    assert isinstance(refused, RateLimitError)
    assert refused.status == 429 and refused.code == "rate_limited" and refused.request_id
    assert refused.retry_after is not None and 1 <= refused.retry_after <= 60
    assert refused.headers["retry-after"] == str(refused.retry_after)


def test_real_429_is_retried_after_retry_after(rate_limit_probe: Future[dict[str, Any]]) -> None:
    outcome = rate_limit_probe.result(timeout=90)
    # Two attempts of one call: the 429, then the retry the server accepted in the next window.
    assert outcome["attempts"] == ["/v1/organization", "/v1/organization"]
    assert outcome["organization"]["id"] == outcome["org_id"]
    assert outcome["rate_limit"].limit == 2 and outcome["rate_limit"].remaining == 1


def test_lost_post_response_is_retried_once_and_creates_one_object(
    client: Cohera, server: Any
) -> None:
    proxy = LossyProxy(
        server.base_url, lambda method, path, attempt: method == "POST" and attempt == 1
    )
    name = f"Once {uuid.uuid4().hex}"
    with serve(proxy.handler()) as url:
        with Cohera(api_key=server.api_key, base_url=url, max_retries=2) as flaky:
            created = flaky.suppliers.create(name=name, country="SE")
    posts = [headers for method, _, headers in proxy.seen if method == "POST"]
    assert len(posts) == 2
    keys = {v for headers in posts for k, v in headers.items() if k.lower() == "idempotency-key"}
    assert len(keys) == 1  # one key for the call, reused by its retry
    matching = [s["id"] for s in client.suppliers.list(limit=100) if s["name"] == name]
    assert matching == [created["id"]]


def test_idempotency_key_option_makes_a_repeated_call_safe(client: Cohera) -> None:
    name = f"Twice {uuid.uuid4().hex}"
    key = str(uuid.uuid4())
    first = client.suppliers.create(name=name, country="SE", options={"idempotency_key": key})
    again = client.suppliers.create(name=name, country="SE", options={"idempotency_key": key})
    assert first["id"] == again["id"]
    fresh = client.suppliers.create(name=name, country="SE")
    assert fresh["id"] != first["id"]


def test_without_retries_a_lost_response_is_a_connection_error(server: Any) -> None:
    proxy = LossyProxy(server.base_url, lambda method, path, attempt: attempt == 1)
    with serve(proxy.handler()) as url:
        with Cohera(api_key=server.api_key, base_url=url, max_retries=0) as once:
            with pytest.raises(APIConnectionError):
                once.organization.retrieve()
            # Per call, too: the option overrides the client's setting.
            with Cohera(api_key=server.api_key, base_url=url) as default:
                assert default.usage.retrieve(options={"max_retries": 1})["object"] == "usage"
    gets = [path for method, path, _ in proxy.seen if method == "GET"]
    assert gets == ["/v1/organization", "/v1/usage", "/v1/usage"]
