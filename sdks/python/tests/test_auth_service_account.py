"""cohera.auth.ServiceAccount: the reference's JWTs, exactly its claims, verified by the session's server.

An account and a key are created through the API, ``service-account.json`` is written as a user saves it,
and the tokens minted from it are used at the API; then what the server must refuse (scopes beyond the
ceiling, a tampered token, a deleted key, another account's key, another organization) and what the SDK
refuses itself (a lifetime over an hour, a bad file), with no private key in any message.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from auth_support import admin, create_service_account, write_service_account_file
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cohera import Cohera, NotFoundError
from cohera.auth import ServiceAccount, ServiceAccountError

CEILING = ["read:certificates", "read:suppliers"]


def status(server: Any, token: str, path: str = "/v1/certificates") -> int:
    with httpx.Client(base_url=server.base_url) as http:
        return http.get(path, headers={"authorization": f"Bearer {token}"}).status_code


@pytest.fixture(scope="module")
def key_file(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_service_account_file(server, tmp_path_factory.mktemp("sa"), CEILING)


def test_the_reference_example_with_exactly_its_claims(server: Any, key_file: Path) -> None:
    sa = ServiceAccount.from_file(str(key_file))
    token = sa.generate_token(scopes=["read:certificates"], expires_in=3600)

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": sa.key_id}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert list(claims) == ["iss", "sub", "aud", "exp", "iat", "scopes", "org_id"]
    file = json.loads(key_file.read_text())
    assert claims["iss"] == file["issuer"] == "cohera.io"
    assert claims["aud"] == file["audience"] == "https://api.cohera.io"
    assert claims["sub"] == file["service_account_id"] == sa.id
    assert claims["org_id"] == server.org_id
    assert claims["scopes"] == ["read:certificates"]
    assert claims["exp"] - claims["iat"] == 3600

    client = Cohera(access_token=token, base_url=server.base_url)
    list(client.certificates.list())
    with httpx.Client(base_url=server.base_url) as http:
        health = http.get("/health", headers={"authorization": f"Bearer {token}"}).json()
    assert health["auth"]["kind"] == "service_account"
    assert health["auth"]["id"] == sa.id
    # Within the token's scopes 200; the ceiling's other scope was not put in this token: 403.
    assert status(server, token, "/v1/suppliers") == 403


def test_the_client_mints_and_reuses_tokens_itself(server: Any, key_file: Path) -> None:
    sa = ServiceAccount.from_file(key_file)
    client = Cohera(
        service_account=sa, scopes=["read:certificates", "read:suppliers"], base_url=server.base_url
    )
    list(client.certificates.list())
    list(client.suppliers.list())


def test_what_the_server_refuses(server: Any, key_file: Path) -> None:
    sa = ServiceAccount.from_file(key_file)
    # Beyond the account's ceiling.
    assert status(server, sa.generate_token(scopes=["write:certificates"])) == 401
    # Tampered: the claims changed after signing.
    token = sa.generate_token(scopes=["read:certificates"])
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["scopes"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert status(server, f"{head}.{forged}.{signature}") == 401
    # Another account's key, presenting this account's kid.
    stranger = create_service_account(server, CEILING, name="Stranger")
    file = json.loads(key_file.read_text())
    impostor = ServiceAccount.from_dict({**file, "private_key": stranger["private_key"]})
    assert status(server, impostor.generate_token(scopes=["read:certificates"])) == 401
    # Claiming another organization.
    other_org = ServiceAccount.from_dict({**file, "org_id": "org_0000000000000000000000"})
    assert status(server, other_org.generate_token(scopes=["read:certificates"])) == 401
    # Wrong audience.
    elsewhere = ServiceAccount.from_dict({**file, "audience": "https://elsewhere.example"})
    assert status(server, elsewhere.generate_token(scopes=["read:certificates"])) == 401


def test_a_test_mode_account_never_sees_live_data(server: Any) -> None:
    with admin(server) as api:
        live = api.post("/v1/suppliers", json={"name": "Live-only supplier", "country": "NL"}).json()
    sa = ServiceAccount.from_dict(create_service_account(server, CEILING, name="Sandbox reader", mode="test"))
    token = sa.generate_token(scopes=["read:suppliers"])
    assert status(server, token, "/v1/suppliers") == 200
    assert status(server, token, f"/v1/suppliers/{live['id']}") == 404
    with pytest.raises(NotFoundError):
        client = Cohera(service_account=sa, scopes=["read:suppliers"], base_url=server.base_url)
        client.suppliers.retrieve(live["id"])


def test_a_deleted_key_stops_working(server: Any, tmp_path: Path) -> None:
    sa = ServiceAccount.from_file(write_service_account_file(server, tmp_path, CEILING))
    token = sa.generate_token(scopes=["read:certificates"])
    assert status(server, token) == 200
    with admin(server) as api:
        assert api.delete(f"/v1/service-accounts/{sa.id}/keys/{sa.key_id}").status_code == 204
    assert status(server, token) == 401


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("EdDSA", lambda: ed25519.Ed25519PrivateKey.generate()),
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_uploaded_public_keys_of_each_algorithm(server: Any, algorithm: str, make_key: Any) -> None:
    private = make_key()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with admin(server) as api:
        account = api.post(
            "/v1/service-accounts", json={"name": f"Uploaded {algorithm}", "scopes": CEILING}
        ).json()
        key = api.post(
            f"/v1/service-accounts/{account['id']}/keys",
            json={"public_key": public_pem, "algorithm": algorithm},
        )
        assert key.status_code == 201, key.text
    sa = ServiceAccount.from_dict(
        {
            "type": "service_account",
            "service_account_id": account["id"],
            "org_id": server.org_id,
            "private_key_id": key.json()["id"],
            "private_key": private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            "algorithm": algorithm,
            "issuer": "cohera.io",
            "audience": "https://api.cohera.io",
            "api_base_url": server.base_url,
        }
    )
    token = sa.generate_token(scopes=["read:suppliers"], expires_in=60)
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": sa.key_id}
    assert status(server, token, "/v1/suppliers") == 200


def test_lifetime_and_scopes_are_checked_before_signing(key_file: Path) -> None:
    sa = ServiceAccount.from_file(key_file)
    with pytest.raises(ValueError, match="3600"):
        sa.generate_token(scopes=["read:certificates"], expires_in=3601)
    with pytest.raises(ValueError):
        sa.generate_token(scopes=["read:certificates"], expires_in=0)
    with pytest.raises(TypeError):
        sa.generate_token(scopes=["read:certificates"], expires_in=60.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sa.generate_token(scopes="read:certificates")
    with pytest.raises(ValueError):
        sa.generate_token(scopes=[])
    short_lived = sa.generate_token(scopes=["read:certificates"], expires_in=60)
    short = jwt.decode(short_lived, options={"verify_signature": False})
    assert short["exp"] - short["iat"] == 60


def test_bad_files_are_named_never_echoed(key_file: Path, tmp_path: Path) -> None:
    good = json.loads(key_file.read_text())
    private_key = good["private_key"]
    cases: list[Any] = [
        {**good, "type": "user"},
        {**good, "algorithm": "HS256"},
        {**good, "algorithm": "none"},
        {**good, "service_account_id": "usr_123"},
        {**good, "private_key": private_key.replace("A", "B", 3)},
        {**good, "algorithm": "RS256"},  # an EC key cannot sign RS256
        {key: value for key, value in good.items() if key != "private_key_id"},
        ["not", "an", "object"],
    ]
    for case in cases:
        with pytest.raises(ServiceAccountError) as refused:
            ServiceAccount.from_dict(case)
        assert refused.value.code == "invalid_service_account"
        for shown in (str(refused.value), repr(refused.value)):
            assert "PRIVATE KEY" not in shown and private_key[40:80] not in shown
        assert refused.value.__cause__ is None or "PRIVATE" not in str(refused.value.__cause__)
    with pytest.raises(ServiceAccountError, match="cannot read"):
        ServiceAccount.from_file(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ServiceAccountError, match="not JSON"):
        ServiceAccount.from_file(tmp_path / "broken.json")
    sa = ServiceAccount.from_dict(good)
    assert "PRIVATE" not in repr(sa) and "private_key" not in sa.to_dict()
    assert sa.api_base_url == good["api_base_url"]
