"""The sans-I/O core both clients share: request building, backoff, reading the server's timing. Pure
functions, no server needed."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from cohera import Cohera, CoheraError
from cohera._request import (
    Settings,
    api_timestamp,
    backoff_delay,
    prepare,
    rate_limit_of,
    segment,
    server_timed_delay,
)
from cohera.errors import server_delay_seconds

SETTINGS = Settings(base_url="http://127.0.0.1:1", timeout=5, max_retries=2, max_retry_delay=60)


def test_every_post_gets_one_idempotency_key_and_other_methods_none() -> None:
    post = prepare(SETTINGS, "POST", "/v1/suppliers", body={"name": "A"})
    other = prepare(SETTINGS, "POST", "/v1/suppliers", body={"name": "A"})
    key = post.headers["idempotency-key"]
    assert len(key) == 36 and key != other.headers["idempotency-key"] and post.retry_safe
    assert post.content == b'{"name":"A"}' and post.headers["content-type"] == "application/json"
    mine = prepare(SETTINGS, "POST", "/v1/x", options={"idempotency_key": "job-42"})
    assert mine.headers["idempotency-key"] == "job-42"
    patch = prepare(SETTINGS, "PATCH", "/v1/suppliers/sup_1", body={})
    assert "idempotency-key" not in patch.headers and not patch.retry_safe
    assert prepare(SETTINGS, "DELETE", "/v1/suppliers/sup_1").retry_safe


def test_caller_headers_cannot_set_authorization_and_none_query_values_are_dropped() -> None:
    built = prepare(
        SETTINGS,
        "GET",
        "/v1/certificates",
        query={"status": "valid", "cursor": None, "expires_before": date(2027, 1, 31)},
        options={"headers": {"Authorization": "Bearer smuggled", "X-Trace": "1"}},
    )
    assert "authorization" not in built.headers and built.headers["x-trace"] == "1"
    assert built.headers["user-agent"].startswith("cohera-python/")
    assert built.url.params == httpx.QueryParams({"status": "valid", "expires_before": "2027-01-31"})


def test_timestamps() -> None:
    moment = datetime(2026, 11, 22, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert api_timestamp(moment) == "2026-11-22T10:00:00Z"
    assert api_timestamp(date(2026, 1, 15)) == "2026-01-15"
    with pytest.raises(CoheraError):
        api_timestamp(datetime(2026, 1, 1))


def test_ids_are_one_path_segment() -> None:
    assert segment("sup_1") == "sup_1" and segment("../keys") == "..%2Fkeys"
    client = Cohera(api_key="ck_test_" + "a" * 38, base_url="http://127.0.0.1:1")
    with pytest.raises(CoheraError) as empty:
        client.suppliers.retrieve("")
    assert empty.value.code == "invalid_id"


def test_backoff_is_exponential_with_equal_jitter_and_capped() -> None:
    assert backoff_delay(0, SETTINGS, rand=0) == 0.25 and backoff_delay(0, SETTINGS, rand=1) == 0.5
    assert backoff_delay(2, SETTINGS, rand=0) == 1.0 and backoff_delay(10, SETTINGS, rand=1) == 8.0
    assert server_timed_delay(3, rand=1) == pytest.approx(3.3)
    assert server_timed_delay(30, rand=1) == 31.0  # at most 1 s of jitter


def test_server_delay_reads_retry_after_and_the_rate_limit_reset() -> None:
    now = 1_800_000_000.0
    assert server_delay_seconds(httpx.Headers({"retry-after": "7"}), now) == 7.0
    later = datetime.fromtimestamp(now + 30, tz=timezone.utc)
    http_date = format_datetime(later, usegmt=True)
    assert server_delay_seconds(httpx.Headers({"retry-after": http_date}), now) == pytest.approx(30)
    spent = httpx.Headers(
        {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 12)}
    )
    assert server_delay_seconds(spent, now) == 12.0
    assert server_delay_seconds(httpx.Headers({}), now) is None
    state = rate_limit_of(spent)
    assert state is not None and state.limit == 60 and state.remaining == 0
    assert rate_limit_of(httpx.Headers({"x-ratelimit-limit": "x"})) is None
