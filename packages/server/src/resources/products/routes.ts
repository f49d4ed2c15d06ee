/** `/v1/products` (DESIGN §4): `read:products` to read, `write:products` to change. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { tenantOf } from '../../auth/context.ts';
import { apiTime } from '../../clock.ts';
import { ApiError, invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { inTransaction, isUniqueViolation } from '../../storage/database.ts';
import type { ProductsTable } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import {
  IdParams,
  IdString,
  ObjectTimestamps,
  type ReadLoader,
  requireIdShape,
  sendCachedRead,
} from '../common.ts';
import {
  createProduct,
  deleteProduct,
  getProduct,
  listProducts,
  NO_SUPPLIER,
  updateProduct,
} from './repository.ts';

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  sku: Type.String({
    minLength: 1,
    maxLength: 100,
    pattern: '^\\S(.*\\S)?$',
    description: 'Unique per org and mode',
    'x-message': 'must not start or end with a space or other whitespace',
  }),
  supplier_id: IdString('supplier', 'The supplier that makes the product'),
};

export const Product = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('product'),
    name: Type.String(),
    sku: Type.String(),
    supplier_id: Type.String(),
    ...ObjectTimestamps,
  },
  { $id: 'Product' },
);

const CreateBody = Type.Object(Fields, { additionalProperties: false });
const UpdateBody = Type.Partial(Type.Object(Fields), { additionalProperties: false, minProperties: 1 });

function present(row: ProductsTable) {
  return {
    id: row.id,
    object: 'product' as const,
    name: row.name,
    sku: row.sku,
    supplier_id: row.supplier_id,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}

/**
 * A reference must point into the caller's own tenant; otherwise it names no supplier at all. Also the
 * answer when the supplier was deleted by a request racing this one (references.ts).
 */
function noSupplier(): ApiError {
  return invalidField('body/supplier_id', 'does not refer to a supplier');
}

function duplicateSku(error: unknown): never {
  if (isUniqueViolation(error))
    throw new ApiError('conflict', 'A product with this sku already exists', {
      errors: [{ field: 'body/sku', message: 'is already used by another product' }],
    });
  throw error;
}

export const productRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function products(app) {
    const { db, clock } = deps;
    const tags = ['Products'];

    const loadProduct: ReadLoader = async (tenant, id) => {
      const row = await getProduct(db, tenant, id);
      return row && { object: present(row) };
    };

    app.post(
      '/v1/products',
      {
        config: { access: { scope: 'write:products' } },
        schema: { tags, summary: 'Create a product', body: CreateBody, response: { 201: Product } },
      },
      async (request, reply) => {
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          const created = await createProduct(trx, tenant, request.body, now);
          if (created !== NO_SUPPLIER) {
            await emitChange(trx, tenant, 'product.created', present(created), now);
          }
          return created;
        }).catch(duplicateSku);
        if (row === NO_SUPPLIER) throw noSupplier();
        deps.webhooks.wake();
        return reply.code(201).send(present(row));
      },
    );

    app.get(
      '/v1/products',
      {
        config: { access: { scope: 'read:products' } },
        schema: {
          tags,
          summary: 'List products, newest first',
          querystring: Type.Object(
            { ...PaginationQuery, supplier_id: Type.Optional(Fields.supplier_id) },
            { additionalProperties: false },
          ),
          response: { 200: ListEnvelope(Product) },
        },
      },
      async (request) => {
        const { limit = 20, cursor, supplier_id } = request.query;
        const rows = await listProducts(db, tenantOf(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'prd'),
          supplierId: supplier_id,
        });
        return pageOf(rows, limit, present);
      },
    );

    app.get(
      '/v1/products/:id',
      {
        config: { access: { scope: 'read:products' } },
        schema: { tags, summary: 'Get a product', params: IdParams, response: { 200: Product } },
      },
      (request, reply) => {
        const { id } = request.params;
        requireIdShape('product', id, 'product');
        return sendCachedRead(deps.readCache, request, reply, id, loadProduct, 'product');
      },
    );

    app.patch(
      '/v1/products/:id',
      {
        config: { access: { scope: 'write:products' } },
        schema: {
          tags,
          summary: 'Update a product',
          params: IdParams,
          body: UpdateBody,
          response: { 200: Product },
        },
      },
      async (request) => {
        requireIdShape('product', request.params.id, 'product');
        const tenant = tenantOf(request.auth!);
        if (!(await getProduct(db, tenant, request.params.id))) throw notFound('product');
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          const updated = await updateProduct(trx, tenant, request.params.id, request.body, now);
          if (updated && updated !== NO_SUPPLIER) {
            await emitChange(trx, tenant, 'product.updated', present(updated), now);
          }
          return updated;
        }).catch(duplicateSku);
        if (row === NO_SUPPLIER) throw noSupplier();
        if (!row) throw notFound('product');
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: row.id });
        return present(row);
      },
    );

    app.delete(
      '/v1/products/:id',
      {
        config: { access: { scope: 'write:products' } },
        schema: { tags, summary: 'Delete a product', params: IdParams },
      },
      async (request, reply) => {
        requireIdShape('product', request.params.id, 'product');
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const result = await inTransaction(db, async (trx) => {
          // `data` of product.deleted is the product as it was just before the delete.
          const before = await getProduct(trx, tenant, request.params.id);
          const outcome = await deleteProduct(trx, tenant, request.params.id);
          if (outcome === 'deleted' && before) {
            await emitChange(trx, tenant, 'product.deleted', present(before), now);
          }
          return outcome;
        });
        if (result === 'not_found') throw notFound('product');
        if (result === 'in_use')
          throw new ApiError('resource_in_use', 'Certificates still cover this product');
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: request.params.id });
        return reply.code(204).send();
      },
    );
  };
