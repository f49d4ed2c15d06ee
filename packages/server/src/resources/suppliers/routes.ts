/** `/v1/suppliers` (DESIGN §4): `read:suppliers` to read, `write:suppliers` to change. */
import { isCountryCode } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { tenantOf } from '../../auth/context.ts';
import { apiTime } from '../../clock.ts';
import { ApiError, invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { inTransaction } from '../../storage/database.ts';
import type { SuppliersTable } from '../../storage/schema.ts';
import { emitChange } from '../../webhooks/produce.ts';
import { IdParams, ObjectTimestamps, type ReadLoader, requireIdShape, sendCachedRead } from '../common.ts';
import { createSupplier, deleteSupplier, getSupplier, listSuppliers, updateSupplier } from './repository.ts';

const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  country: Type.String({
    pattern: '^[A-Za-z]{2}$',
    description: 'ISO 3166-1 alpha-2 country code',
    'x-message': 'must be an ISO 3166 alpha-2 code such as "DE"',
  }),
  contact_email: Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()]),
  status: Status,
};

export const Supplier = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('supplier'),
    name: Type.String(),
    country: Type.String(),
    contact_email: Type.Union([Type.String(), Type.Null()]),
    status: Status,
    ...ObjectTimestamps,
  },
  { $id: 'Supplier' },
);

const CreateBody = Type.Object(
  {
    name: Fields.name,
    country: Fields.country,
    contact_email: Type.Optional(Fields.contact_email),
    status: Type.Optional(Fields.status),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Partial(Type.Object(Fields), { additionalProperties: false, minProperties: 1 });

/** Upper-cases and checks a country code against ISO 3166-1 alpha-2. */
function normalizeCountry(code: string): string {
  const upper = code.toUpperCase();
  if (!isCountryCode(upper)) {
    throw invalidField('body/country', 'must be an ISO 3166-1 alpha-2 country code');
  }
  return upper;
}

function present(row: SuppliersTable) {
  return {
    id: row.id,
    object: 'supplier' as const,
    name: row.name,
    country: row.country,
    contact_email: row.contact_email,
    status: row.status,
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
}

export const supplierRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function suppliers(app) {
    const { db, clock } = deps;
    const tags = ['Suppliers'];

    const loadSupplier: ReadLoader = async (tenant, id) => {
      const row = await getSupplier(db, tenant, id);
      return row && { object: present(row) };
    };

    app.post(
      '/v1/suppliers',
      {
        config: { access: { scope: 'write:suppliers' } },
        schema: { tags, summary: 'Create a supplier', body: CreateBody, response: { 201: Supplier } },
      },
      async (request, reply) => {
        const body = request.body;
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          const created = await createSupplier(
            trx,
            tenant,
            { ...body, country: normalizeCountry(body.country) },
            now,
          );
          await emitChange(trx, tenant, 'supplier.created', present(created), now);
          return created;
        });
        deps.webhooks.wake();
        return reply.code(201).send(present(row));
      },
    );

    app.get(
      '/v1/suppliers',
      {
        config: { access: { scope: 'read:suppliers' } },
        schema: {
          tags,
          summary: 'List suppliers, newest first',
          querystring: Type.Object(
            { ...PaginationQuery, status: Type.Optional(Status) },
            { additionalProperties: false },
          ),
          response: { 200: ListEnvelope(Supplier) },
        },
      },
      async (request) => {
        const { limit = 20, cursor, status } = request.query;
        const rows = await listSuppliers(db, tenantOf(request.auth!), {
          limit,
          after: decodeCursor(cursor, 'sup'),
          status,
        });
        return pageOf(rows, limit, present);
      },
    );

    app.get(
      '/v1/suppliers/:id',
      {
        config: { access: { scope: 'read:suppliers' } },
        schema: { tags, summary: 'Get a supplier', params: IdParams, response: { 200: Supplier } },
      },
      (request, reply) => {
        const { id } = request.params;
        requireIdShape('supplier', id, 'supplier');
        return sendCachedRead(deps.readCache, request, reply, id, loadSupplier, 'supplier');
      },
    );

    app.patch(
      '/v1/suppliers/:id',
      {
        config: { access: { scope: 'write:suppliers' } },
        schema: {
          tags,
          summary: 'Update a supplier',
          params: IdParams,
          body: UpdateBody,
          response: { 200: Supplier },
        },
      },
      async (request) => {
        requireIdShape('supplier', request.params.id, 'supplier');
        const patch = { ...request.body };
        if (patch.country !== undefined) patch.country = normalizeCountry(patch.country);
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          const updated = await updateSupplier(trx, tenant, request.params.id, patch, now);
          if (updated) await emitChange(trx, tenant, 'supplier.updated', present(updated), now);
          return updated;
        });
        if (!row) throw notFound('supplier');
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: row.id });
        return present(row);
      },
    );

    app.delete(
      '/v1/suppliers/:id',
      {
        config: { access: { scope: 'write:suppliers' } },
        schema: { tags, summary: 'Delete a supplier', params: IdParams },
      },
      async (request, reply) => {
        requireIdShape('supplier', request.params.id, 'supplier');
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const result = await inTransaction(db, async (trx) => {
          // `data` of supplier.deleted is the supplier as it was just before the delete.
          const before = await getSupplier(trx, tenant, request.params.id);
          const outcome = await deleteSupplier(trx, tenant, request.params.id);
          if (outcome === 'deleted' && before) {
            await emitChange(trx, tenant, 'supplier.deleted', present(before), now);
          }
          return outcome;
        });
        if (result === 'not_found') throw notFound('supplier');
        if (result === 'in_use') {
          throw new ApiError(
            'resource_in_use',
            'Delete or move the products and certificates of this supplier first',
          );
        }
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: request.params.id });
        return reply.code(204).send();
      },
    );
  };
