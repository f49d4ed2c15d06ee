/**
 * The peer of DESIGN §7 ("against what a user would otherwise assemble: the same route on Fastify with
 * `@fastify/rate-limit` and a per-request database lookup of a hashed key — ours ≥ 2× its throughput"):
 * the common tutorial stack, written the way its documentation suggests, with nothing cached.
 *
 * On every request to GET /v1/certificates/:id:
 * 1. an app-level `onRequest` hook takes `Authorization: Bearer <key>`, hashes it with SHA-256
 *    (`crypto.hash`, the one-shot API) and looks the hash up in an `api_keys` table (a prepared node:sqlite
 *    statement on the unique index of `key_hash`), refusing a missing, revoked or expired key or one without
 *    the `read:certificates` scope with 401/403;
 * 2. `@fastify/rate-limit` counts the request against the key (its `keyGenerator`: the key's id, as a
 *    per-key limiter must; `preHandler`, so after authentication), in the plugin's in-memory store or, when
 *    BENCH_REDIS_URL is set, its Redis store (an ioredis client, keys under BENCH_REDIS_PREFIX), and adds
 *    its x-ratelimit-* headers;
 * 3. the handler selects the certificate row of the key's org (prepared statement on the primary key) and
 *    returns it as an object that Fastify serializes: the same JSON as the baseline and the real server.
 *
 * The SQLite file (BENCH_PEER_DB, created here, WAL like the real server's) holds a realistic `api_keys`
 * table (the real server's columns; the benchmark's key among 10,000 others, so the lookup is a real index
 * descent) and a `certificates` table seeded from BENCH_BODY_FILE. The benchmark's key arrives as its
 * SHA-256 (BENCH_PEER_KEY_HASH): the key itself never reaches this process. On SIGTERM the Redis keys under
 * the prefix are deleted.
 *
 *   BENCH_PORT=… BENCH_PEER_DB=/tmp/…/peer.sqlite BENCH_BODY_FILE=certificate.json BENCH_PEER_KEY_HASH=<hex> \
 *     [BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_REDIS_PREFIX=bench-peer:…:] node bench/peer-server.ts
 */
import { hash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';

const port = Number(process.env.BENCH_PORT);
const dbFile = process.env.BENCH_PEER_DB;
const bodyFile = process.env.BENCH_BODY_FILE;
const keyHash = process.env.BENCH_PEER_KEY_HASH;
const redisUrl = process.env.BENCH_REDIS_URL;
const redisPrefix = process.env.BENCH_REDIS_PREFIX;
if (
  !Number.isInteger(port) ||
  port < 1 ||
  !dbFile ||
  !bodyFile ||
  !keyHash ||
  !/^[0-9a-f]{64}$/.test(keyHash) ||
  (redisUrl !== undefined && !redisPrefix)
) {
  process.stderr.write(
    'peer-server: set BENCH_PORT, BENCH_PEER_DB, BENCH_BODY_FILE and BENCH_PEER_KEY_HASH (SHA-256 hex), ' +
      'and BENCH_REDIS_PREFIX with BENCH_REDIS_URL\n',
  );
  process.exit(2);
}

/** The certificate as the real server shows it (packages/server/src/resources/certificates/present.ts). */
interface CertificateJson {
  id: string;
  object: 'certificate';
  standard: string;
  number: string;
  issuer: string;
  supplier_id: string;
  product_ids: string[];
  issued_at: string;
  expires_at: string;
  status: string;
  created_at: string;
  updated_at: string;
}

interface ApiKeyRow {
  id: string;
  org_id: string;
  scopes: string;
  expires_at: string | null;
  revoked_at: string | null;
}

interface CertificateRow extends Omit<CertificateJson, 'object' | 'product_ids'> {
  product_ids: string;
}

const ORG_ID = 'org_peer';
const OTHER_KEYS = 10_000;

function seed(db: DatabaseSync, certificate: CertificateJson, benchKeyHash: string): void {
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL,
      name TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      prefix TEXT NOT NULL,
      last4 TEXT NOT NULL,
      scopes TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT,
      revoked_at TEXT,
      last_used_at TEXT
    );
    CREATE TABLE certificates (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL,
      standard TEXT NOT NULL,
      number TEXT NOT NULL,
      issuer TEXT NOT NULL,
      supplier_id TEXT NOT NULL,
      product_ids TEXT NOT NULL,
      issued_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
  `);
  const insertKey = db.prepare(
    `INSERT INTO api_keys (id, org_id, name, key_hash, prefix, last4, scopes, created_at)
     VALUES (?, ?, ?, ?, 'ck_live_', ?, ?, ?)`,
  );
  const now = new Date().toISOString();
  db.exec('BEGIN');
  insertKey.run(randomUUID(), ORG_ID, 'bench', benchKeyHash, 'xxxx', 'read:certificates', now);
  for (let i = 0; i < OTHER_KEYS; i++) {
    const other = `ck_live_${randomBytes(24).toString('base64url')}`;
    insertKey.run(
      randomUUID(),
      `org_${i % 500}`,
      `key ${i}`,
      hash('sha256', other, 'hex'),
      other.slice(-4),
      'read:certificates write:certificates',
      now,
    );
  }
  db.prepare(
    `INSERT INTO certificates (id, org_id, standard, number, issuer, supplier_id, product_ids, issued_at,
       expires_at, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    certificate.id,
    ORG_ID,
    certificate.standard,
    certificate.number,
    certificate.issuer,
    certificate.supplier_id,
    JSON.stringify(certificate.product_ids),
    certificate.issued_at,
    certificate.expires_at,
    certificate.status,
    certificate.created_at,
    certificate.updated_at,
  );
  db.exec('COMMIT');
}

const db = new DatabaseSync(dbFile);
seed(db, JSON.parse(readFileSync(bodyFile, 'utf8')) as CertificateJson, keyHash);
const findKey = db.prepare(
  'SELECT id, org_id, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = ?',
);
const findCertificate = db.prepare(
  `SELECT id, standard, number, issuer, supplier_id, product_ids, issued_at, expires_at, status, created_at,
     updated_at FROM certificates WHERE id = ? AND org_id = ?`,
);

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: { id: string; orgId: string } | null;
  }
}

const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 }) : null;
const app = Fastify({ logger: false });
app.decorateRequest('apiKey', null);

app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
  if (request.url === '/health') return;
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) return reply.code(401).send({ error: 'missing API key' });
  const row = findKey.get(hash('sha256', header.slice(7), 'hex')) as ApiKeyRow | undefined;
  if (
    !row ||
    row.revoked_at !== null ||
    (row.expires_at !== null && Date.parse(row.expires_at) <= Date.now())
  )
    return reply.code(401).send({ error: 'invalid API key' });
  if (!row.scopes.split(' ').includes('read:certificates'))
    return reply.code(403).send({ error: 'missing scope read:certificates' });
  request.apiKey = { id: row.id, orgId: row.org_id };
});

await app.register(rateLimit, {
  hook: 'preHandler',
  // Limits no benchmark reaches, like the bench org's: the limiter runs on every request, never answers 429.
  max: 999_999_999,
  timeWindow: 60_000,
  keyGenerator: (request) => request.apiKey?.id ?? request.ip,
  allowList: (request) => request.url === '/health',
  ...(redis ? { redis, nameSpace: redisPrefix } : {}),
});

app.get('/health', async () => ({ status: 'ok' }));
app.get<{ Params: { id: string } }>('/v1/certificates/:id', async (request, reply) => {
  const row = findCertificate.get(request.params.id, request.apiKey?.orgId ?? '') as
    | CertificateRow
    | undefined;
  if (!row) return reply.code(404).send({ error: 'no such certificate' });
  return {
    id: row.id,
    object: 'certificate',
    standard: row.standard,
    number: row.number,
    issuer: row.issuer,
    supplier_id: row.supplier_id,
    product_ids: JSON.parse(row.product_ids) as string[],
    issued_at: row.issued_at,
    expires_at: row.expires_at,
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
  } satisfies CertificateJson;
});

await app.listen({ port, host: '127.0.0.1' });

/** Deletes this run's rate-limit counters (they would expire after the window anyway). */
async function dropRedisKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app
      .close()
      .then(async () => {
        if (redis && redisPrefix) {
          await dropRedisKeys(redis, redisPrefix);
          await redis.quit();
        }
        db.close();
      })
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
