/**
 * `/v1/audit-events` (DESIGN §4): the org's audit log, newest first, with filters; `/export` streams it as
 * NDJSON in chain order for a SIEM or an archive; `/verify` checks the chain, and against a signed digest
 * the caller kept. For `admin` credentials (and owners and admins signed in to the dashboard). The log
 * covers live activity, so test-mode credentials, which must never see live data, are refused.
 * `/digest-keys` is public: the public key of the digests, for auditors who hold no credential.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import type { AuthContext } from '../auth/context.ts';
import { apiTime } from '../clock.ts';
import { ApiError } from '../http/errors.ts';
import { decodeCursor, ListEnvelope, PaginationQuery, pageOf } from '../http/pagination.ts';
import { parseTimestamp, TimestampInput } from '../resources/common.ts';
import { type DigestClaims, DigestError } from './digest-signer.ts';
import { type EventFilters, exportEvents, listEvents } from './listing.ts';
import type { AuditEventRecord } from './segments.ts';

const AuditEvent = Type.Object({
  id: Type.String(),
  object: Type.Literal('audit_event'),
  at: Type.String({ format: 'date-time' }),
  org_id: Type.String(),
  actor: Type.Object({ kind: Type.String(), id: Type.String() }),
  action: Type.String(),
  target: Type.Union([Type.Object({ kind: Type.String(), id: Type.String() }), Type.Null()]),
  result: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  seq: Type.Integer({ description: 'Position in the org’s chain' }),
});

const Filters = {
  action: Type.Optional(
    Type.String({
      maxLength: 100,
      pattern: '^[a-z_.]+$',
      description: 'An action, or a prefix ending in "." (e.g. `api_key.`)',
      'x-message':
        'must be an action such as "api_key.created", or a prefix ending in "." such as "api_key." (lowercase letters, "_" and ".")',
    }),
  ),
  actor_id: Type.Optional(Type.String({ maxLength: 100 })),
  target_id: Type.Optional(Type.String({ maxLength: 100 })),
  result: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
  since: Type.Optional(TimestampInput),
  until: Type.Optional(TimestampInput),
};

const ListQuery = Type.Object({ ...PaginationQuery, ...Filters }, { additionalProperties: false });
const ExportQuery = Type.Object(Filters, { additionalProperties: false });

type FilterValues = { [K in keyof typeof Filters]?: string };

const VerifyQuery = Type.Object(
  {
    digest: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'A signed digest (an `audit_digest` log line’s `digest`) to check the log against',
      }),
    ),
  },
  { additionalProperties: false },
);

const Verification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  first_bad: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union(
    [
      Type.Literal('head_missing'),
      Type.Literal('head_unauthenticated'),
      Type.Literal('purge_marker_unauthenticated'),
      Type.Literal('head_behind_digest'),
      Type.Literal('event_before_purge_marker'),
      Type.Literal('event_invalid'),
      Type.Literal('digest_hash_mismatch'),
      Type.Literal('head_mismatch'),
      Type.Null(),
    ],
    { description: 'Why `ok` is false (VerifyReason, in the audit log docs); null when it is true' },
  ),
  head_seq: Type.Integer({ description: 'Where the head row says the chain ends (0: no events)' }),
  digest: Type.Union([
    Type.Object({ seq: Type.Integer(), issued_at: Type.String({ format: 'date-time' }) }),
    Type.Null(),
  ]),
});

const DigestKey = Type.Object({
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.Literal('EdDSA'),
  use: Type.Literal('sig'),
});

export function presentEvent(row: AuditEventRecord) {
  return {
    id: row.id,
    object: 'audit_event' as const,
    at: apiTime(row.at),
    org_id: row.org_id,
    actor: { kind: row.actor_kind, id: row.actor_id },
    action: row.action,
    target: row.target_kind && row.target_id ? { kind: row.target_kind, id: row.target_id } : null,
    result: row.result,
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    seq: Number(row.seq),
  };
}

/** The query's filters with its times made into the stored format, as inclusive bounds. */
function eventFilters(query: FilterValues): EventFilters {
  const filters: EventFilters = {};
  if (query.action !== undefined) filters.action = query.action;
  if (query.actor_id !== undefined) filters.actor_id = query.actor_id;
  if (query.target_id !== undefined) filters.target_id = query.target_id;
  if (query.result !== undefined) filters.result = query.result as 'success' | 'failure';
  if (query.since !== undefined) filters.since = parseTimestamp('query/since', query.since);
  if (query.until !== undefined) {
    // Inclusive to the end of the second given: stored times have milliseconds, the API shows seconds.
    const until = parseTimestamp('query/until', query.until, 'end-of-day');
    filters.until = /\.\d/.test(query.until) ? until : `${until.slice(0, 19)}.999Z`;
  }
  return filters;
}

function requireLive(auth: AuthContext): void {
  if (auth.mode === 'test') {
    throw new ApiError('forbidden', 'The audit log covers live activity: use a live-mode credential');
  }
}

export const auditRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function audit(app) {
    const { db } = deps;
    const tags = ['Audit log'];
    const access = { scope: 'admin' as const };

    app.get(
      '/v1/audit-events',
      {
        config: { access },
        schema: {
          tags,
          summary: 'The organization’s audit events, newest first',
          querystring: ListQuery,
          response: { 200: ListEnvelope(AuditEvent) },
        },
      },
      async (request) => {
        const auth = request.auth!;
        requireLive(auth);
        // Buffered events (failed authentications, API calls) are written within a second; flush so that
        // what happened just before this request is listed.
        await deps.audit.flush().catch(() => undefined);
        const { limit = 20, cursor, ...filters } = request.query;
        const after = decodeCursor(cursor, 'evt');
        const rows = await listEvents(db, auth.orgId, eventFilters(filters), after ?? null, limit + 1);
        return pageOf(rows, limit, presentEvent);
      },
    );

    app.get(
      '/v1/audit-events/export',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Every matching event, oldest first, as NDJSON (one JSON object per line)',
          querystring: ExportQuery,
        },
      },
      async (request, reply) => {
        const auth = request.auth!;
        requireLive(auth);
        await deps.audit.flush().catch(() => undefined);
        const events = exportEvents(db, auth.orgId, eventFilters(request.query));
        // Pages in chain order, so a long export holds a page of each table in memory at a time.
        async function* lines() {
          for await (const event of events) yield `${JSON.stringify(presentEvent(event))}\n`;
        }
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="audit-${auth.orgId}.ndjson"`)
          .send(Readable.from(lines()));
      },
    );

    app.get(
      '/v1/audit-events/verify',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Check the hash chain: finds an edited, deleted or inserted event, and a truncation',
          description:
            'Walks the chain from the retention cut to the head, checking both anchors’ MACs. With `digest` ' +
            '(a signed digest this server emitted), also checks that the event it names is still there with ' +
            'its hash and that the chain has not gone back behind it.',
          querystring: VerifyQuery,
          response: { 200: Verification },
        },
      },
      async (request) => {
        const auth = request.auth!;
        requireLive(auth);
        const digest =
          request.query.digest === undefined ? undefined : openDigest(request.query.digest, auth);
        await deps.audit.flush().catch(() => undefined);
        const verdict = await deps.audit.chain.verify(db, auth.orgId, digest);
        return {
          ...verdict,
          digest: digest
            ? { seq: digest.seq, issued_at: apiTime(new Date(digest.iat * 1000).toISOString()) }
            : null,
        };
      },
    );

    app.get(
      '/v1/audit-events/digest-keys',
      {
        // Public: a public key, for auditors who hold digests but no credential of the org.
        config: { access: { public: true } },
        schema: {
          tags,
          summary: 'The public key that verifies signed audit digests, as a JWK Set (RFC 7517)',
          response: { 200: Type.Object({ keys: Type.Array(DigestKey) }) },
        },
      },
      async () => ({ keys: [deps.audit.digestSigner.jwk] }),
    );

    /** A digest's claims, once it is known to be this server's and the caller's org's. */
    function openDigest(value: string, auth: AuthContext): DigestClaims {
      const refuse = (message: string) =>
        new ApiError('invalid_audit_digest', `query/digest: ${message}`, {
          errors: [{ field: 'query/digest', message }],
        });
      let claims: DigestClaims;
      try {
        claims = deps.audit.digestSigner.open(value);
      } catch (error) {
        if (error instanceof DigestError) throw refuse(error.message);
        throw error;
      }
      if (claims.org_id !== auth.orgId) throw refuse('the digest is of another organization’s log');
      return claims;
    }
  };
