"""Every resource of the synchronous client against the real server: create, retrieve, update, delete and
list (one page, and every item across pages)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from cohera import Cohera, ConflictError, NotFoundError, Page, ValidationError


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def test_suppliers_crud_and_pagination(client: Cohera) -> None:
    marker = unique("Supplier")
    made = [client.suppliers.create(name=f"{marker} {i}", country="SE") for i in range(5)]
    assert made[0]["object"] == "supplier" and made[0]["contact_email"] is None

    found = client.suppliers.retrieve(made[0]["id"])
    assert found == made[0]

    updated = client.suppliers.update(made[0]["id"], contact_email="qa@example.com", status="suspended")
    assert updated["contact_email"] == "qa@example.com" and updated["status"] == "suspended"
    # None sends null (clears the field); an omitted argument leaves it alone.
    cleared = client.suppliers.update(made[0]["id"], contact_email=None)
    assert cleared["contact_email"] is None and cleared["status"] == "suspended"

    page = client.suppliers.list(limit=2)
    assert isinstance(page, Page) and len(page.data) == 2 and page.has_next_page()
    second = page.next_page()
    assert second is not None and {s["id"] for s in second.data}.isdisjoint(s["id"] for s in page.data)
    every = [s["id"] for s in client.suppliers.list(limit=2)]
    assert len(every) == len(set(every)) and {s["id"] for s in made} <= set(every)
    suspended = [s["id"] for s in client.suppliers.list(status="suspended")]
    assert made[0]["id"] in suspended and made[1]["id"] not in suspended

    client.suppliers.delete(made[0]["id"])
    with pytest.raises(NotFoundError):
        client.suppliers.retrieve(made[0]["id"])


def test_products_crud_pagination_and_filter(client: Cohera) -> None:
    supplier = client.suppliers.create(name=unique("Maker"), country="DE")
    other = client.suppliers.create(name=unique("Other"), country="DE")
    products = [
        client.products.create(name=f"Bolt {i}", sku=unique("SKU"), supplier_id=supplier["id"])
        for i in range(3)
    ]
    client.products.create(name="Nut", sku=unique("SKU"), supplier_id=other["id"])
    assert client.products.retrieve(products[0]["id"])["sku"] == products[0]["sku"]
    renamed = client.products.update(products[0]["id"], name="Bolt M8")
    assert renamed["name"] == "Bolt M8"

    mine = [p["id"] for p in client.products.list(supplier_id=supplier["id"], limit=2)]
    assert sorted(mine) == sorted(p["id"] for p in products)

    # A supplier its products still reference cannot go.
    with pytest.raises(ConflictError):
        client.suppliers.delete(supplier["id"])
    client.products.delete(products[0]["id"])
    with pytest.raises(NotFoundError):
        client.products.delete(products[0]["id"])


def test_certificates_crud_filters_and_dates(client: Cohera) -> None:
    supplier = client.suppliers.create(name=unique("Certified"), country="FI")
    product = client.products.create(name="Plate", sku=unique("SKU"), supplier_id=supplier["id"])
    today = date.today()
    soon = datetime.now(timezone.utc) + timedelta(days=30)
    cert = client.certificates.create(
        standard="ISO 9001",
        number=unique("QMS"),
        issuer="TÜV Nord",
        supplier_id=supplier["id"],
        product_ids=[product["id"]],
        issued_at=today - timedelta(days=10),  # a date: the API reads it as that day
        expires_at=soon,  # an aware datetime: sent as UTC
    )
    assert cert["status"] == "valid" and cert["product_ids"] == [product["id"]]
    expired = client.certificates.create(
        standard="ISO 14001",
        number=unique("EMS"),
        issuer="DNV",
        supplier_id=supplier["id"],
        issued_at="2020-01-01",
        expires_at="2021-01-01",
    )

    valid = [c["id"] for c in client.certificates.list(supplier_id=supplier["id"], status="valid")]
    assert valid == [cert["id"]]
    due = client.certificates.list(
        supplier_id=supplier["id"], expires_before=soon + timedelta(days=1), limit=1
    )
    assert {c["id"] for c in due} == {cert["id"], expired["id"]}

    revoked = client.certificates.update(cert["id"], status="revoked")
    assert revoked["status"] == "revoked"
    assert client.certificates.retrieve(cert["id"])["status"] == "revoked"
    client.certificates.delete(expired["id"])
    with pytest.raises(NotFoundError):
        client.certificates.retrieve(expired["id"])

    with pytest.raises(ValidationError) as invalid:
        client.certificates.update(cert["id"], expires_at="2019-01-01")  # before issued_at
    assert invalid.value.status == 400


def test_naive_datetimes_are_refused_before_sending(client: Cohera) -> None:
    from cohera import CoheraError

    with pytest.raises(CoheraError) as refused:
        client.certificates.list(expires_before=datetime(2030, 1, 1))
    assert refused.value.code == "naive_datetime" and refused.value.status is None


def test_api_keys_create_roll_usage_revoke(client: Cohera, server: Any) -> None:
    created = client.api_keys.create(
        name=unique("Reader"), scopes=["read:certificates"], expires_in_days=30
    )
    secret = created["key"]
    assert secret.startswith("ck_live_") and created["scopes"] == ["read:certificates"]
    assert client.api_keys.retrieve(created["id"])["name"] == created["name"]
    assert "key" not in client.api_keys.retrieve(created["id"])

    with Cohera(api_key=secret, base_url=server.base_url) as reader:
        assert reader.whoami()["scopes"] == ["read:certificates"]
        list(reader.certificates.list(limit=1))

    rolled = client.api_keys.roll(created["id"], grace_period_seconds=60)
    assert rolled["id"] != created["id"] and rolled["rolled_from"] == created["id"]
    usage = client.api_keys.usage(created["id"], days=2)
    assert len(usage["data"]) == 2 and usage["data"][-1]["requests"] >= 2

    ids = [k["id"] for k in client.api_keys.list(limit=1)]
    assert {created["id"], rolled["id"]} <= set(ids) and len(ids) == len(set(ids))
    revoked = client.api_keys.revoke(rolled["id"])
    assert revoked["status"] == "revoked"
    test_keys = [k["mode"] for k in client.api_keys.list(mode="test")]
    assert set(test_keys) <= {"test"}


def test_service_accounts_and_their_keys(client: Cohera) -> None:
    account = client.service_accounts.create(name=unique("Worker"), scopes=["read:suppliers"])
    assert client.service_accounts.retrieve(account["id"])["scopes"] == ["read:suppliers"]
    key_file = client.service_accounts.create_key(account["id"])
    assert key_file.get("type") == "service_account" and "private_key" in key_file
    second = client.service_accounts.create_key(account["id"], expires_in_days=7)
    keys = [k["id"] for k in client.service_accounts.list_keys(account["id"])]
    assert len(keys) == 2
    client.service_accounts.delete_key(account["id"], keys[0])
    assert len(client.service_accounts.list_keys(account["id"]).data) == 1
    assert second is not None
    ids = [a["id"] for a in client.service_accounts.list(limit=1)]
    assert account["id"] in ids
    client.service_accounts.delete(account["id"])
    with pytest.raises(NotFoundError):
        client.service_accounts.retrieve(account["id"])


def test_oauth_clients(client: Cohera) -> None:
    app = client.oauth_clients.create(
        name=unique("App"),
        redirect_uris=["https://app.example.com/callback"],
        client_type="confidential",
        scopes=["read:certificates"],
    )
    assert app["client_secret"] and app["client_id"] == app["id"]
    assert "client_secret" not in client.oauth_clients.retrieve(app["id"]) or (
        client.oauth_clients.retrieve(app["id"]).get("client_secret") is None
    )
    narrowed = client.oauth_clients.update(
        app["id"], redirect_uris=["https://app.example.com/v2/callback"], scopes=["read:certificates"]
    )
    assert narrowed["redirect_uris"] == ["https://app.example.com/v2/callback"]
    rotated = client.oauth_clients.rotate_secret(app["id"], grace_period_seconds=0)
    assert rotated["client_secret"] not in (None, app["client_secret"])
    assert app["id"] in [c["id"] for c in client.oauth_clients.list(limit=1)]
    client.oauth_clients.delete(app["id"])
    with pytest.raises(NotFoundError):
        client.oauth_clients.retrieve(app["id"])


def test_webhook_endpoints_deliveries_and_events(client: Cohera) -> None:
    # Port 9 (discard) on loopback (the session server allows private webhook URLs): whatever might be
    # queued for it never leaves the machine.
    endpoint = client.webhook_endpoints.create(
        url="http://127.0.0.1:9/cohera", events=["supplier.created"], description="qa"
    )
    assert endpoint["secret"].startswith("whsec_")
    assert client.webhook_endpoints.retrieve(endpoint["id"])["url"] == endpoint["url"]
    updated = client.webhook_endpoints.update(endpoint["id"], events=["*"], status="disabled")
    assert updated["events"] == ["*"] and updated["status"] == "disabled"
    rotated = client.webhook_endpoints.rotate_secret(endpoint["id"], grace_period_seconds=0)
    assert rotated["secret"] != endpoint["secret"]
    assert endpoint["id"] in [e["id"] for e in client.webhook_endpoints.list(limit=1)]
    deliveries = client.webhook_endpoints.list_deliveries(endpoint["id"])
    assert isinstance(deliveries.data, list)
    recovered = client.webhook_endpoints.recover(
        endpoint["id"], since=datetime.now(timezone.utc) - timedelta(hours=1)
    )
    assert recovered["requeued"] >= 0

    client.suppliers.create(name=unique("Evented"), country="NO")
    events = client.events.list(type="supplier.created", limit=1)
    assert events.data and all(e["type"] == "supplier.created" for e in events.data)

    client.webhook_endpoints.delete(endpoint["id"])
    with pytest.raises(NotFoundError):
        client.webhook_endpoints.retrieve(endpoint["id"])


def test_audit_events_organization_security_usage(client: Cohera) -> None:
    client.suppliers.create(name=unique("Audited"), country="SE")
    events = list(client.audit_events.list(limit=5, result="success"))
    assert events and all(e["result"] == "success" for e in events)
    verification = client.audit_events.verify()
    assert verification["ok"] is True and verification["checked"] >= 1

    organization = client.organization.retrieve()
    assert organization["object"] == "organization"
    changed = client.organization.update(policy={"key_rotation_days": 45})
    assert changed["policy"]["key_rotation_days"] == 45

    report = client.security.report()
    assert report["object"] == "security_report" and report["checks"]
    usage = client.usage.retrieve(days=3)
    assert usage["object"] == "usage" and len(usage["data"]) == 3
    assert client.last_rate_limit is not None and client.last_rate_limit.limit > 0


def test_audit_export_streams_every_matching_event(client: Cohera) -> None:
    client.suppliers.create(name=unique("Exported"), country="SE")
    newest = client.audit_events.list(limit=1).data[0]
    exported = list(client.audit_events.export(action=newest["action"]))
    assert newest["id"] in [e["id"] for e in exported]
    assert all(e["action"] == newest["action"] for e in exported)
    sequence = [e["seq"] for e in exported]
    assert sequence == sorted(sequence)  # oldest first
    stream = client.audit_events.export(result="success")
    assert next(iter(stream))["result"] == "success"
