"""cohera.webhooks.Webhook: Standard Webhooks v1 verification.

Three layers: the published test vectors of the Standard Webhooks project; each refusal with its code; and
real deliveries from the session's server to a receiver this module starts on 127.0.0.1 (a ``webhook.test``
event, then a secret rotation during which both secrets sign).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from auth_support import admin
from webhook_support import Receiver, receiver  # noqa: F401 (receiver is a fixture)

from cohera.errors import CoheraError
from cohera.webhooks import Webhook, WebhookVerificationError

# --- Standard Webhooks test vectors ---------------------------------------------------------------------
# From github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py and
# libraries/go/webhook_test.go (commit b2fa7b8): the message, payload and secret every library tests with,
# and the one fixed signature (test_sign_function). Written out here; none of their code is used.
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_PAYLOAD = '{"test": 2432232314}'
VECTOR_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_TIMESTAMP = 1614265330
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# A well-formed signature that matches nothing (the vectors' "invalid signature" value).
VECTOR_WRONG_SIGNATURE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
TOLERANCE = timedelta(minutes=5)


def reference_signature(secret_b64: str, msg_id: str, timestamp: int, payload: str) -> str:
    """The spec's construction written from its text, independent of the code under test."""
    key = base64.b64decode(secret_b64)
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def vector_headers(at: datetime | None = None, secret: str = VECTOR_SECRET) -> dict[str, str]:
    timestamp = int((at or datetime.now(timezone.utc)).timestamp())
    return {
        "webhook-id": VECTOR_MSG_ID,
        "webhook-signature": reference_signature(secret, VECTOR_MSG_ID, timestamp, VECTOR_PAYLOAD),
        "webhook-timestamp": str(timestamp),
    }


def test_sign_reproduces_the_published_signature() -> None:
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=timezone.utc)
    assert Webhook("whsec_" + VECTOR_SECRET).sign(VECTOR_MSG_ID, at, VECTOR_PAYLOAD) == VECTOR_SIGNATURE
    assert Webhook(VECTOR_SECRET).sign(VECTOR_MSG_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD) == VECTOR_SIGNATURE


def test_verifies_the_published_signature_at_its_own_time() -> None:
    headers = {
        "webhook-id": VECTOR_MSG_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    event = Webhook("whsec_" + VECTOR_SECRET).verify(VECTOR_PAYLOAD, headers, now=VECTOR_TIMESTAMP + 10)
    assert event == {"test": 2432232314}


@pytest.mark.parametrize("secret", [VECTOR_SECRET, "whsec_" + VECTOR_SECRET])
def test_valid_signature_with_and_without_prefix(secret: str) -> None:
    assert Webhook(secret).verify(VECTOR_PAYLOAD, vector_headers())["test"] == 2432232314


@pytest.mark.parametrize(
    ("unpadded", "padded"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS="),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr=="),
    ],
)
def test_secrets_copied_without_padding(unpadded: str, padded: str) -> None:
    headers = vector_headers(secret=padded)
    assert Webhook(unpadded).verify(VECTOR_PAYLOAD, headers)["test"] == 2432232314
    assert Webhook("whsec_" + unpadded).verify(VECTOR_PAYLOAD, headers)["test"] == 2432232314


def test_multiple_signatures_one_valid() -> None:
    headers = vector_headers()
    headers["webhook-signature"] = " ".join(
        [
            VECTOR_WRONG_SIGNATURE,
            VECTOR_WRONG_SIGNATURE.replace("v1,", "v2,"),
            headers["webhook-signature"],
            VECTOR_WRONG_SIGNATURE,
        ]
    )
    assert Webhook(VECTOR_SECRET).verify(VECTOR_PAYLOAD, headers)["test"] == 2432232314


def test_headers_are_case_insensitive_and_take_bytes_and_pairs() -> None:
    headers = vector_headers()
    webhook = Webhook(VECTOR_SECRET)
    assert webhook.verify(VECTOR_PAYLOAD.encode(), {k.title(): v for k, v in headers.items()})
    assert webhook.verify(bytearray(VECTOR_PAYLOAD.encode()), httpx.Headers(headers))
    assert webhook.verify(VECTOR_PAYLOAD, [(k.upper(), v) for k, v in headers.items()])


def expect_refusal(code: str, payload: Any, headers: Any, secret: Any = VECTOR_SECRET) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        Webhook(secret).verify(payload, headers)
    assert caught.value.code == code
    assert isinstance(caught.value, CoheraError)
    # No secret, signature or body in what gets logged.
    shown = f"{caught.value} {caught.value!r}"
    for secret_part in (VECTOR_SECRET, "2432232314", "g0hM9SsE"):
        assert secret_part not in shown


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = vector_headers()
    del headers[missing]
    expect_refusal("missing_headers", VECTOR_PAYLOAD, headers)


def test_repeated_header_is_ambiguous() -> None:
    headers = list(vector_headers().items()) + [("Webhook-Id", "msg_other")]
    expect_refusal("missing_headers", VECTOR_PAYLOAD, headers)


def test_invalid_timestamp() -> None:
    expect_refusal("invalid_timestamp", VECTOR_PAYLOAD, {**vector_headers(), "webhook-timestamp": "hello"})


def test_old_and_new_timestamps() -> None:
    now = datetime.now(timezone.utc)
    second = timedelta(seconds=1)
    expect_refusal("timestamp_too_old", VECTOR_PAYLOAD, vector_headers(now - TOLERANCE - second))
    expect_refusal("timestamp_too_new", VECTOR_PAYLOAD, vector_headers(now + TOLERANCE + second))


@pytest.mark.parametrize(
    "signature", [VECTOR_WRONG_SIGNATURE, "v1,", "v2," + VECTOR_SIGNATURE[3:], "garbage"]
)
def test_no_matching_signature(signature: str) -> None:
    headers = {**vector_headers(), "webhook-signature": signature}
    expect_refusal("no_matching_signature", VECTOR_PAYLOAD, headers)


def test_tampered_body_and_wrong_secret() -> None:
    headers = vector_headers()
    expect_refusal("no_matching_signature", '{"test": 2432232315}', headers)
    other = base64.b64encode(b"x" * 32).decode()
    expect_refusal("no_matching_signature", VECTOR_PAYLOAD, headers, secret="whsec_" + other)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", [], 42])
def test_invalid_secret(secret: Any) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        Webhook(secret)
    assert caught.value.code == "invalid_secret"
    assert "not base64" not in str(caught.value)


def test_parsed_body_is_refused() -> None:
    expect_refusal("not_raw_body", json.loads(VECTOR_PAYLOAD), vector_headers())


def test_signed_non_object_body() -> None:
    webhook = Webhook(VECTOR_SECRET)
    headers = webhook.generate_test_headers("[1, 2]")
    with pytest.raises(WebhookVerificationError) as caught:
        webhook.verify("[1, 2]", headers)
    assert caught.value.code == "invalid_payload"


def test_generate_test_headers_round_trip_and_rotation() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    body = json.dumps({"id": "msg_1", "type": "webhook.test", "data": {"issuer": "TÜV Nord"}})
    headers = Webhook([new, old]).generate_test_headers(body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers)["data"]["issuer"] == "TÜV Nord"
    assert Webhook(new).verify(body.encode(), headers)["type"] == "webhook.test"
    assert repr(Webhook(new)) == "Webhook(<1 secret(s)>)"


# --- Real deliveries from the server ----------------------------------------------------------------------


def test_a_real_delivery_verifies_and_a_tampered_one_does_not(server: Any, receiver: Receiver) -> None:
    with admin(server) as api:
        created = api.post("/v1/webhook-endpoints", json={"url": receiver.url, "events": ["webhook.test"]})
        assert created.status_code == 201, created.text
        endpoint = created.json()
        try:
            sent = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/test")
            assert sent.status_code == 202, sent.text
            [(headers, body)] = receiver.wait_for(1)
            event = Webhook(endpoint["secret"]).verify(body, headers)
            assert event["type"] == "webhook.test"
            assert event["id"] == sent.json()["message_id"] == headers["webhook-id"]
            assert event["data"]["webhook_endpoint_id"] == endpoint["id"]

            with pytest.raises(WebhookVerificationError) as caught:
                Webhook(endpoint["secret"]).verify(body.replace(b"webhook.test", b"webhook.tesT"), headers)
            assert caught.value.code == "no_matching_signature"
            other = api.post("/v1/webhook-endpoints", json={"url": receiver.url, "events": ["webhook.test"]})
            with pytest.raises(WebhookVerificationError):
                Webhook(other.json()["secret"]).verify(body, headers)
            api.delete(f"/v1/webhook-endpoints/{other.json()['id']}")
            # Replayed later than the tolerance: refused although the signature is genuine.
            later = int(headers["webhook-timestamp"]) + 301
            with pytest.raises(WebhookVerificationError) as replayed:
                Webhook(endpoint["secret"]).verify(body, headers, now=later)
            assert replayed.value.code == "timestamp_too_old"
        finally:
            api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


def test_during_a_rotation_both_secrets_verify(server: Any, receiver: Receiver) -> None:
    with admin(server) as api:
        subscription = {"url": receiver.url, "events": ["webhook.test"]}
        endpoint = api.post("/v1/webhook-endpoints", json=subscription).json()
        try:
            rotated = api.post(
                f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 600}
            )
            assert rotated.status_code == 200, rotated.text
            new_secret = rotated.json()["secret"]
            assert api.post(f"/v1/webhook-endpoints/{endpoint['id']}/test").status_code == 202
            [(headers, body)] = receiver.wait_for(1)
            assert len(headers["webhook-signature"].split(" ")) == 2
            for secret in (endpoint["secret"], new_secret, [new_secret, endpoint["secret"]]):
                assert Webhook(secret).verify(body, headers)["type"] == "webhook.test"
        finally:
            api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
