/** The supply-chain data: suppliers, their products, and the certificates that cover them. */
import type {
  Certificate,
  CertificateCreateParams,
  CertificateListParams,
  CertificateUpdateParams,
  Product,
  ProductCreateParams,
  ProductListParams,
  ProductUpdateParams,
  Supplier,
  SupplierCreateParams,
  SupplierListParams,
  SupplierUpdateParams,
} from '../types.ts';
import { CrudResource } from './resource.ts';

/** `/v1/suppliers` (`read:suppliers`, `write:suppliers`). */
export class Suppliers extends CrudResource<
  Supplier,
  SupplierCreateParams,
  SupplierUpdateParams,
  SupplierListParams
> {
  protected readonly path = '/v1/suppliers';
}

/** `/v1/products` (`read:products`, `write:products`). */
export class Products extends CrudResource<
  Product,
  ProductCreateParams,
  ProductUpdateParams,
  ProductListParams
> {
  protected readonly path = '/v1/products';
}

/** `/v1/certificates` (`read:certificates`, `write:certificates`); list filters `supplier_id`, `status`, `expires_before`. */
export class Certificates extends CrudResource<
  Certificate,
  CertificateCreateParams,
  CertificateUpdateParams,
  CertificateListParams
> {
  protected readonly path = '/v1/certificates';
}
