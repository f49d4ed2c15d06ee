/**
 * `/v1/certificates` (DESIGN §4): `read:certificates` to read, `write:certificates` to change. Lists
 * filter by `supplier_id`, `status` and `expires_before`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { tenantOf } from '../../auth/context.ts';
import { type ApiError, invalidField, notFound } from '../../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../../http/pagination.ts';
import { inTransaction } from '../../storage/database.ts';
import { emitChange } from '../../webhooks/produce.ts';
import {
  IdParams,
  IdString,
  ObjectTimestamps,
  parseTimestamp,
  type ReadLoader,
  requireIdShape,
  sendCachedRead,
  TimestampInput,
} from '../common.ts';
import { presentCertificate } from './present.ts';
import {
  type CertificateInput,
  type CertificateRecord,
  createCertificate,
  deleteCertificate,
  getCertificate,
  listCertificates,
  type MissingReference,
  storedStatusForUpdate,
  updateCertificate,
} from './repository.ts';

const StoredStatus = Type.Union([Type.Literal('valid'), Type.Literal('revoked')], {
  description: '`expired` is derived from `expires_at` and cannot be set',
});
const Status = Type.Union([Type.Literal('valid'), Type.Literal('expired'), Type.Literal('revoked')]);

const Fields = {
  standard: Type.String({ minLength: 1, maxLength: 100, description: 'e.g. "ISO 9001"' }),
  number: Type.String({ minLength: 1, maxLength: 100 }),
  issuer: Type.String({ minLength: 1, maxLength: 200 }),
  supplier_id: IdString('supplier'),
  product_ids: Type.Array(IdString('product'), { maxItems: 100, uniqueItems: true }),
  issued_at: TimestampInput,
  expires_at: TimestampInput,
  status: StoredStatus,
};

export const Certificate = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('certificate'),
    standard: Type.String(),
    number: Type.String(),
    issuer: Type.String(),
    supplier_id: Type.String(),
    product_ids: Type.Array(Type.String()),
    issued_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
    status: Status,
    ...ObjectTimestamps,
  },
  { $id: 'Certificate' },
);

const CreateBody = Type.Object(
  {
    standard: Fields.standard,
    number: Fields.number,
    issuer: Fields.issuer,
    supplier_id: Fields.supplier_id,
    product_ids: Type.Optional(Fields.product_ids),
    issued_at: Fields.issued_at,
    expires_at: Fields.expires_at,
    status: Type.Optional(Fields.status),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Partial(Type.Object(Fields), { additionalProperties: false, minProperties: 1 });

/**
 * A reference must point into the caller's own tenant; otherwise it names nothing. Checked in the
 * transaction that writes it, so a supplier or product deleted by a racing request gets this same answer.
 */
function missingReference({ missing }: MissingReference): ApiError {
  return missing === 'supplier_id'
    ? invalidField('body/supplier_id', 'does not refer to a supplier')
    : invalidField('body/product_ids', 'contains an id that is not a product');
}

function checkValidity(issuedAt: string, expiresAt: string) {
  if (expiresAt <= issuedAt) throw invalidField('body/expires_at', 'must be after issued_at');
}

export const certificateRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function certificates(app) {
    const { db, clock } = deps;
    const tags = ['Certificates'];

    const present = (row: CertificateRecord) => presentCertificate(row, clock.now());

    const loadCertificate: ReadLoader = async (tenant, id) => {
      const row = await getCertificate(db, tenant, id);
      // A valid certificate's status turns to `expired` at expires_at: never serve it cached past then.
      return row && { object: present(row), validUntil: Date.parse(row.expires_at) };
    };

    app.post(
      '/v1/certificates',
      {
        config: { access: { scope: 'write:certificates' } },
        schema: { tags, summary: 'Create a certificate', body: CreateBody, response: { 201: Certificate } },
      },
      async (request, reply) => {
        const tenant = tenantOf(request.auth!);
        const body = request.body;
        const input: CertificateInput = {
          ...body,
          product_ids: body.product_ids ?? [],
          issued_at: parseTimestamp('body/issued_at', body.issued_at),
          expires_at: parseTimestamp('body/expires_at', body.expires_at, 'end-of-day'),
          status: body.status ?? 'valid',
        };
        checkValidity(input.issued_at, input.expires_at);
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          const created = await createCertificate(trx, tenant, input, now);
          if (!('missing' in created)) {
            await emitChange(trx, tenant, 'certificate.created', present(created), now);
          }
          return created;
        });
        if ('missing' in row) throw missingReference(row);
        deps.webhooks.wake();
        return reply.code(201).send(present(row));
      },
    );

    app.get(
      '/v1/certificates',
      {
        config: { access: { scope: 'read:certificates' } },
        schema: {
          tags,
          summary: 'List certificates, newest first',
          querystring: Type.Object(
            {
              ...PaginationQuery,
              supplier_id: Type.Optional(Fields.supplier_id),
              status: Type.Optional(Status),
              expires_before: Type.Optional(TimestampInput),
            },
            { additionalProperties: false },
          ),
          response: { 200: ListEnvelope(Certificate) },
        },
      },
      async (request) => {
        const { limit = 20, cursor, supplier_id, status, expires_before } = request.query;
        const rows = await listCertificates(
          db,
          tenantOf(request.auth!),
          {
            limit,
            after: decodeCursor(cursor, 'cert'),
            supplierId: supplier_id,
            status,
            expiresBefore:
              expires_before === undefined
                ? undefined
                : parseTimestamp('query/expires_before', expires_before),
          },
          clock.now(),
        );
        return pageOf(rows, limit, present);
      },
    );

    app.get(
      '/v1/certificates/:id',
      {
        config: { access: { scope: 'read:certificates' } },
        schema: { tags, summary: 'Get a certificate', params: IdParams, response: { 200: Certificate } },
      },
      (request, reply) => {
        const { id } = request.params;
        requireIdShape('certificate', id, 'certificate');
        return sendCachedRead(deps.readCache, request, reply, id, loadCertificate, 'certificate');
      },
    );

    app.patch(
      '/v1/certificates/:id',
      {
        config: { access: { scope: 'write:certificates' } },
        schema: {
          tags,
          summary: 'Update a certificate',
          params: IdParams,
          body: UpdateBody,
          response: { 200: Certificate },
        },
      },
      async (request) => {
        requireIdShape('certificate', request.params.id, 'certificate');
        const tenant = tenantOf(request.auth!);
        const current = await getCertificate(db, tenant, request.params.id);
        if (!current) throw notFound('certificate');
        const body = request.body;
        const patch: Partial<CertificateInput> = { ...body };
        if (body.issued_at !== undefined) patch.issued_at = parseTimestamp('body/issued_at', body.issued_at);
        if (body.expires_at !== undefined) {
          patch.expires_at = parseTimestamp('body/expires_at', body.expires_at, 'end-of-day');
        }
        checkValidity(patch.issued_at ?? current.issued_at, patch.expires_at ?? current.expires_at);
        const now = clock.now();
        const row = await inTransaction(db, async (trx) => {
          // The stored status before this write, its row held: `revoked` is reported by the change that
          // revokes, not by a later PATCH of a revoked certificate nor by both of two racing revocations.
          const before = await storedStatusForUpdate(trx, tenant, request.params.id);
          const updated = await updateCertificate(trx, tenant, request.params.id, patch, now);
          if (!updated || 'missing' in updated) return updated;
          const revokes = updated.status === 'revoked' && before !== 'revoked';
          const type = revokes ? 'certificate.revoked' : 'certificate.updated';
          await emitChange(trx, tenant, type, present(updated), now);
          return updated;
        });
        if (!row) throw notFound('certificate');
        if ('missing' in row) throw missingReference(row);
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: row.id });
        return present(row);
      },
    );

    app.delete(
      '/v1/certificates/:id',
      {
        config: { access: { scope: 'write:certificates' } },
        schema: { tags, summary: 'Delete a certificate', params: IdParams },
      },
      async (request, reply) => {
        requireIdShape('certificate', request.params.id, 'certificate');
        const tenant = tenantOf(request.auth!);
        const now = clock.now();
        const deleted = await inTransaction(db, async (trx) => {
          // `data` of certificate.deleted is the certificate as it was just before the delete.
          const row = await getCertificate(trx, tenant, request.params.id);
          if (!row || !(await deleteCertificate(trx, tenant, request.params.id))) return false;
          await emitChange(trx, tenant, 'certificate.deleted', present(row), now);
          return true;
        });
        if (!deleted) throw notFound('certificate');
        deps.webhooks.wake();
        await deps.bus.publish({ kind: 'resource', id: request.params.id });
        return reply.code(204).send();
      },
    );
  };
