# GENERATED from _async/resources/domain.py by scripts/unasync.py: edit the async source, not this.
"""The supply-chain data: suppliers, their products, and the certificates that cover them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._models import Certificate, Product, Supplier
from ..._pagination import Page
from ..._params import OMIT, Omit, TimestampInput, fields
from ..._request import RequestOptions, segment
from .._resource import Resource

SupplierStatus = Literal["active", "suspended"]
CertificateStatus = Literal["valid", "revoked"]
CertificateListStatus = Literal["valid", "expired", "revoked"]


class Suppliers(Resource):
    """``/v1/suppliers`` (``read:suppliers``, ``write:suppliers``)."""

    def create(
        self,
        *,
        name: str,
        country: str,
        contact_email: str | None | Omit = OMIT,
        status: SupplierStatus | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> Supplier:
        body = fields(name=name, country=country, contact_email=contact_email, status=status)
        created: Supplier = self._transport.request(
            "POST", "/v1/suppliers", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> Supplier:
        found: Supplier = self._transport.request(
            "GET", f"/v1/suppliers/{segment(id)}", options=options
        )
        return found

    def update(
        self,
        id: str,
        *,
        name: str | Omit = OMIT,
        country: str | Omit = OMIT,
        contact_email: str | None | Omit = OMIT,
        status: SupplierStatus | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> Supplier:
        body = fields(name=name, country=country, contact_email=contact_email, status=status)
        updated: Supplier = self._transport.request(
            "PATCH", f"/v1/suppliers/{segment(id)}", body=body, options=options
        )
        return updated

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        """A supplier its products still reference cannot be deleted (``ConflictError``)."""
        self._transport.request("DELETE", f"/v1/suppliers/{segment(id)}", options=options)

    def list(
        self,
        *,
        status: SupplierStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Supplier]:
        query = {"status": status, "limit": limit, "cursor": cursor}
        return self._list("/v1/suppliers", query, options)


class Products(Resource):
    """``/v1/products`` (``read:products``, ``write:products``)."""

    def create(
        self,
        *,
        name: str,
        sku: str,
        supplier_id: str,
        options: RequestOptions | None = None,
    ) -> Product:
        body = fields(name=name, sku=sku, supplier_id=supplier_id)
        created: Product = self._transport.request(
            "POST", "/v1/products", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> Product:
        found: Product = self._transport.request(
            "GET", f"/v1/products/{segment(id)}", options=options
        )
        return found

    def update(
        self,
        id: str,
        *,
        name: str | Omit = OMIT,
        sku: str | Omit = OMIT,
        supplier_id: str | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> Product:
        body = fields(name=name, sku=sku, supplier_id=supplier_id)
        updated: Product = self._transport.request(
            "PATCH", f"/v1/products/{segment(id)}", body=body, options=options
        )
        return updated

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        self._transport.request("DELETE", f"/v1/products/{segment(id)}", options=options)

    def list(
        self,
        *,
        supplier_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Product]:
        query = {"supplier_id": supplier_id, "limit": limit, "cursor": cursor}
        return self._list("/v1/products", query, options)


class Certificates(Resource):
    """``/v1/certificates`` (``read:certificates``, ``write:certificates``)."""

    def create(
        self,
        *,
        standard: str,
        number: str,
        issuer: str,
        supplier_id: str,
        issued_at: TimestampInput,
        expires_at: TimestampInput,
        product_ids: Sequence[str] | Omit = OMIT,
        status: CertificateStatus | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> Certificate:
        body = fields(
            standard=standard,
            number=number,
            issuer=issuer,
            supplier_id=supplier_id,
            issued_at=issued_at,
            expires_at=expires_at,
            product_ids=product_ids if isinstance(product_ids, Omit) else list(product_ids),
            status=status,
        )
        created: Certificate = self._transport.request(
            "POST", "/v1/certificates", body=body, options=options
        )
        return created

    def retrieve(self, id: str, *, options: RequestOptions | None = None) -> Certificate:
        found: Certificate = self._transport.request(
            "GET", f"/v1/certificates/{segment(id)}", options=options
        )
        return found

    def update(
        self,
        id: str,
        *,
        standard: str | Omit = OMIT,
        number: str | Omit = OMIT,
        issuer: str | Omit = OMIT,
        supplier_id: str | Omit = OMIT,
        issued_at: TimestampInput | Omit = OMIT,
        expires_at: TimestampInput | Omit = OMIT,
        product_ids: Sequence[str] | Omit = OMIT,
        status: CertificateStatus | Omit = OMIT,
        options: RequestOptions | None = None,
    ) -> Certificate:
        body = fields(
            standard=standard,
            number=number,
            issuer=issuer,
            supplier_id=supplier_id,
            issued_at=issued_at,
            expires_at=expires_at,
            product_ids=product_ids if isinstance(product_ids, Omit) else list(product_ids),
            status=status,
        )
        updated: Certificate = self._transport.request(
            "PATCH", f"/v1/certificates/{segment(id)}", body=body, options=options
        )
        return updated

    def delete(self, id: str, *, options: RequestOptions | None = None) -> None:
        self._transport.request("DELETE", f"/v1/certificates/{segment(id)}", options=options)

    def list(
        self,
        *,
        supplier_id: str | None = None,
        status: CertificateListStatus | None = None,
        expires_before: TimestampInput | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page[Certificate]:
        query = {
            "supplier_id": supplier_id,
            "status": status,
            "expires_before": expires_before,
            "limit": limit,
            "cursor": cursor,
        }
        return self._list("/v1/certificates", query, options)
