/**
 * What `npm run bench` measures: the servers (SERVERS) and the HTTP rows (ROWS) of DESIGN §7, with what
 * only some rows need (the audit rows' settling, the token endpoint's chains, the webhook rows' POSTs).
 *
 * Adding an HTTP row: add an entry to ROWS (and, if it needs a differently configured server, an entry to
 * SERVERS that starts it). Rows are measured interleaved, run by run, so drift hits every row alike. A row
 * that cannot replay one request (the token endpoint: every refresh token is single-use) brings its own
 * probe and load process (`custom`; see bench/token-load.ts). A row whose server keeps working after the
 * load (the audit log's writes of COHERA_AUDIT_API_CALLS=all) declares it (`background`), so that this work
 * is measured in its own row and not in the next one. A plain GET row marked `instructions` is also counted
 * by the instruction-count mode (bench/instructions.ts).
 *
 * Every cohera server runs with COHERA_PUBLIC_URL set to its own address: that is the OAuth issuer, and
 * the OAuth flows of the set-up (bench/oauth.ts) and the access tokens they yield must match it.
 */
import { basicAuthorization, refreshBody } from './oauth.ts';
import { fmtInt } from './report.ts';
import {
  call,
  cli,
  type Fixture,
  type HttpRow,
  type Launch,
  metric,
  plainLaunch,
  type RunMeasurement,
  reachable,
  runLoadProcess,
  runLoadSpec,
  type ServerSpec,
  sleep,
  startBaseline,
  startCohera,
  startPeer,
  type Target,
} from './runner.ts';
import { settings } from './settings.ts';
import { cpuSeconds, freePort } from './support.ts';
import type { TokenLoadResult, TokenLoadSpec } from './token-load.ts';
import { BACKLOG_ENDPOINTS, measureDeliveries, measureLatency, startWebhookServer } from './webhooks.ts';

/** DESIGN §7: ours ≥ 2× the stack a user would otherwise assemble, on the same route. */
const PEER_MIN_RATIO = 2;

export const SERVERS: Record<string, ServerSpec> = {
  baseline: {
    description: 'bare Fastify 5, one route, same JSON body',
    start: startBaseline,
  },
  'baseline-headers': {
    description: "the baseline setting the contract's seven headers per request with reply.header",
    start: (fixture, launch) => startBaseline(fixture, launch, true),
  },
  embedded: {
    description: 'cohera server: SQLite in a temp data dir, in-memory state',
    start: (fixture, launch) => startCohera(fixture.dataDir, {}, launch),
  },
  'token-endpoint': {
    description:
      'cohera server: same data and same public URL (the OAuth issuer) as the embedded one, as a second node ' +
      'of one deployment would be; the token endpoint runs here so that its grant and token writes, and ' +
      'what they leave to clean up, do not weigh on the rows measured after it on the embedded server',
    start: (fixture, launch) => startCohera(fixture.dataDir, { COHERA_PUBLIC_URL: fixture.issuer }, launch),
  },
  'audit-none': {
    description: 'cohera server: same data, COHERA_AUDIT_API_CALLS=none, metrics on a port of its own',
    start: (fixture, launch) => startAuditServer(fixture, 'none', launch),
  },
  'audit-all': {
    description: 'cohera server: same data, COHERA_AUDIT_API_CALLS=all, metrics on a port of its own',
    start: (fixture, launch) => startAuditServer(fixture, 'all', launch),
    report: reportDroppedAuditEvents,
  },
  'webhook-writes': {
    description:
      'cohera server: a data dir and org of its own; one live endpoint subscribes to certificate.created, its ' +
      'receiver never answers (so the row measures writing the outbox, not sending); no test-mode endpoint',
    start: () => startWebhookServer(webhookHelpers, 'writes'),
  },
  'webhook-delivery': {
    description:
      'cohera server: a data dir and org of its own, COHERA_WEBHOOK_RETRY_SCHEDULE=1; endpoints on local ' +
      'node:http receivers in this process (answering 204, or 500 while a backlog is made)',
    start: () => startWebhookServer(webhookHelpers, 'delivery'),
  },
  redis: {
    description: 'cohera server: same data, rate limits (and invalidation) on the local Redis',
    start: async (fixture, launch) => {
      if (!(await reachable(6379))) throw new Error('Redis is not answering on 127.0.0.1:6379');
      return startCohera(
        fixture.dataDir,
        {
          COHERA_REDIS_URL: 'redis://127.0.0.1:6379',
          COHERA_REDIS_PREFIX: `bench:${process.pid}:${Date.now()}:`,
        },
        launch,
      );
    },
  },
  peer: {
    description:
      'the peer (bench/peer-server.ts): Fastify 5 + @fastify/rate-limit (in-memory store) + SHA-256 of the ' +
      'bearer key looked up in SQLite (node:sqlite, 10,001 keys) and the certificate row selected, per request',
    start: (fixture, launch) => startPeer(fixture, launch, 'memory'),
  },
  'peer-redis': {
    description:
      'the peer with @fastify/rate-limit’s Redis store (ioredis, the local Redis, a prefix of its own)',
    start: (fixture, launch) => startPeer(fixture, launch, 'redis'),
  },
};

/**
 * A cohera server like the embedded one but for which API calls the audit log records, with its metrics on
 * a port of its own (read between runs: the audit buffer's depth, dropped events). Both audit rows get
 * one, so the two servers differ in COHERA_AUDIT_API_CALLS only.
 */
async function startAuditServer(fixture: Fixture, calls: 'none' | 'all', launch: Launch): Promise<Target> {
  const metricsPort = await freePort();
  const target = await startCohera(
    fixture.dataDir,
    { COHERA_AUDIT_API_CALLS: calls, COHERA_METRICS_PORT: String(metricsPort) },
    launch,
  );
  return { ...target, metricsUrl: `http://127.0.0.1:${metricsPort}` };
}

export const bearer = (fixture: Fixture) => ({ authorization: `Bearer ${fixture.apiKey}` });
export const certificatePath = (fixture: Fixture) => `/v1/certificates/${fixture.certificateId}`;

export const ROWS: HttpRow[] = [
  {
    id: 'baseline',
    name: 'baseline: bare Fastify GET /v1/certificates/:id',
    server: 'baseline',
    path: certificatePath,
    instructions: true,
  },
  {
    id: 'baseline-headers',
    name: "yardstick: the baseline + the contract's 7 headers (reply.header), no auth, no limiter",
    server: 'baseline-headers',
    path: certificatePath,
    baseline: 'baseline',
    instructions: true,
  },
  {
    id: 'api-key',
    name: 'API key → GET /v1/certificates/:id (embedded default)',
    server: 'embedded',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    budget: { minRatio: 0.85 },
    peer: { row: 'peer', minRatio: PEER_MIN_RATIO },
    instructions: true,
  },
  {
    id: 'api-key-redis',
    name: 'API key → GET /v1/certificates/:id (Redis limiter)',
    server: 'redis',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    budget: { minRatio: 0.7 },
    peer: { row: 'peer-redis', minRatio: PEER_MIN_RATIO },
    instructions: true,
  },
  {
    id: 'peer',
    name: 'peer: Fastify + @fastify/rate-limit (memory) + hashed key in SQLite → GET /v1/certificates/:id',
    server: 'peer',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    instructions: true,
  },
  {
    id: 'peer-redis',
    name: 'peer: Fastify + @fastify/rate-limit (Redis store) + hashed key in SQLite → GET /v1/certificates/:id',
    server: 'peer-redis',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    instructions: true,
  },
  {
    id: 'service-account',
    name: 'service-account JWT, reused → GET /v1/certificates/:id (vs API key)',
    server: 'embedded',
    path: certificatePath,
    headers: (fixture) => ({ authorization: `Bearer ${fixture.serviceAccountToken}` }),
    baseline: 'api-key',
    budget: { minRatio: 0.8 },
  },
  {
    id: 'oauth-access-token',
    name: 'OAuth access token (JWT), reused → GET /v1/certificates/:id (vs API key)',
    server: 'embedded',
    path: certificatePath,
    headers: (fixture) => ({ authorization: `Bearer ${fixture.oauth.accessToken}` }),
    baseline: 'api-key',
    oauthFlows: true,
    budget: { minRatio: 0.8 },
  },
  {
    id: 'oauth-token-endpoint',
    name: `OAuth token endpoint: refresh_token grant, ${settings.tokenChains} rotating chains (tokens/s)`,
    server: 'token-endpoint',
    path: () => '/oauth/token',
    baseline: 'baseline',
    budget: { minPerSec: 1500, unit: 'tokens' },
    oauthFlows: true,
    custom: { probe: probeRefresh, load: loadRefreshChains },
  },
  {
    id: 'audit-none',
    name: 'API key → GET /v1/certificates/:id with COHERA_AUDIT_API_CALLS=none',
    server: 'audit-none',
    path: certificatePath,
    headers: bearer,
    baseline: 'baseline',
    instructions: true,
  },
  {
    id: 'audit-all',
    name: 'API key → GET /v1/certificates/:id with COHERA_AUDIT_API_CALLS=all (vs none)',
    server: 'audit-all',
    path: certificatePath,
    headers: bearer,
    baseline: 'audit-none',
    budget: { minRatio: 0.9 },
    background: { leadInSec: 2, settle: auditWritten },
    // The flushes (a timer's work) fall inside the counted rounds: 2,000 requests take seconds under valgrind.
    instructions: true,
  },
  {
    id: 'webhook-outbox-none',
    name: 'API key → POST /v1/certificates, no webhook endpoint subscribed (test mode)',
    server: 'webhook-writes',
    path: () => '/v1/certificates',
    custom: {
      probe: (target) => probePost(target, 'test'),
      load: (target, _fixture, durationSec) => loadPost(target, 'test', durationSec),
    },
  },
  {
    id: 'webhook-outbox',
    name: 'API key → POST /v1/certificates, one endpoint subscribed: + outbox delivery row (vs none)',
    server: 'webhook-writes',
    path: () => '/v1/certificates',
    baseline: 'webhook-outbox-none',
    budget: { minRatio: 0.9 },
    custom: {
      probe: (target) => probePost(target, 'live'),
      load: (target, _fixture, durationSec) => loadPost(target, 'live', durationSec),
    },
  },
  {
    id: 'webhook-deliveries',
    name: `webhook deliveries from one node to a local receiver, ${BACKLOG_ENDPOINTS} endpoints (recover of a failed backlog)`,
    server: 'webhook-delivery',
    path: () => '/v1/webhook-endpoints/:id/recover',
    budget: { minPerSec: 1000, unit: 'deliveries' },
    custom: {
      probe: async () => {},
      // A backlog of 1,000 messages per second of the run's duration (5,000 by default).
      load: (target, _fixture, durationSec) =>
        measureDeliveries(webhookHelpers, target, durationSec * 1000, BACKLOG_ENDPOINTS),
    },
  },
  {
    id: 'webhook-deliveries-one',
    name: `webhook deliveries from one node to one endpoint (its limit of 4 attempts in flight; vs ${BACKLOG_ENDPOINTS} endpoints)`,
    server: 'webhook-delivery',
    path: () => '/v1/webhook-endpoints/:id/recover',
    // No budget of its own: DESIGN §7's is the node's; this shows what one endpoint's bound leaves of it.
    baseline: 'webhook-deliveries',
    custom: {
      probe: async () => {},
      load: (target, _fixture, durationSec) =>
        measureDeliveries(webhookHelpers, target, durationSec * 1000, 1),
    },
  },
  {
    id: 'webhook-latency',
    name: 'webhook: POST /v1/certificates sent → delivery read by an idle receiver (events/s: one at a time)',
    server: 'webhook-delivery',
    path: () => '/v1/certificates',
    budget: { maxP99Ms: 1000 },
    custom: {
      probe: async () => {},
      // 20 events per second of the run's duration (100 by default), 20 ms apart.
      load: (target, _fixture, durationSec) => measureLatency(webhookHelpers, target, durationSec * 20),
    },
  },
];

/**
 * Waits until a server has written the audit events a load left in its buffer: the buffer is empty (its
 * last flush has taken them) and the process has used no CPU for 200 ms (the flush has ended).
 */
async function auditWritten(target: Target): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await metric(target, 'cohera_audit_buffer_depth')) > 0) {
    if (Date.now() > deadline) throw new Error('the audit buffer did not empty within 60 s');
    await sleep(100);
  }
  const pid = target.server.child.pid;
  let before = cpuSeconds(pid);
  for (let quiet = 0; quiet < 2 && Date.now() < deadline; ) {
    await sleep(100);
    const now = cpuSeconds(pid);
    quiet = now === null || before === null || now - before < 0.02 ? quiet + 1 : 0;
    before = now;
  }
}

/** Whether the audit buffer overflowed: dropped events cost less than written ones, flattering the ratio. */
async function reportDroppedAuditEvents(target: Target): Promise<string> {
  const dropped = await metric(target, 'cohera_audit_events_dropped_total');
  return dropped > 0
    ? `⚠ audit-all: ${fmtInt(dropped)} audit events were dropped because the buffer was full ` +
        '(10,000 events between flushes, once a second); the row then measures dropping, not recording, so its ratio flatters.'
    : 'audit-all: every API call was recorded (no audit event dropped).';
}

/** What the webhook rows (bench/webhooks.ts) borrow from this file. */
const webhookHelpers = {
  cli: (dataDir: string, args: string[]) => cli(dataDir, args),
  startCohera: (dataDir: string, extra: Record<string, string>) => startCohera(dataDir, extra, plainLaunch),
  call: (url: string, key: string, method: string, path: string, body?: unknown) =>
    call(url, key, method, path, body),
};

/** A webhook-outbox row's credential and body: the live mode has the subscribed endpoint, test has none. */
function postOf(target: Target, mode: 'live' | 'test') {
  const setup = target.webhooks;
  if (!setup) throw new Error('the server has no webhook set-up');
  return mode === 'live'
    ? { key: setup.liveKey, body: setup.liveCertificate }
    : { key: setup.testKey, body: setup.testCertificate };
}

/** One create first, from here: a row that does not answer 201 would measure its error path. */
async function probePost(target: Target, mode: 'live' | 'test'): Promise<void> {
  const { key, body } = postOf(target, mode);
  await call(target.url, key, 'POST', '/v1/certificates', JSON.parse(body));
}

/** wrk or autocannon sending the same POST /v1/certificates over many connections (each a new certificate). */
async function loadPost(target: Target, mode: 'live' | 'test', durationSec: number) {
  const { key, body } = postOf(target, mode);
  return runLoadSpec(target, {
    tool: settings.tool,
    url: `${target.url}/v1/certificates`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    method: 'POST',
    body,
    durationSec,
    connections: settings.connections,
    pipelining: settings.pipelining,
  });
}

/**
 * The token-endpoint row's probe: one refresh on the first live chain, from here, so that a server that
 * refuses it fails the row with the server's own answer. The chain continues from the new token.
 */
async function probeRefresh(target: Target, fixture: Fixture): Promise<void> {
  const chain = fixture.oauth.refreshTokens.findIndex((token) => token !== null);
  const token = fixture.oauth.refreshTokens[chain];
  if (!token) throw new Error('no refresh-token chain is left');
  const response = await fetch(`${target.url}/oauth/token`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      authorization: basicAuthorization(fixture.oauth),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: refreshBody(token),
  });
  const text = await response.text();
  if (response.status !== 200) {
    fixture.oauth.refreshTokens[chain] = null;
    throw new Error(`refresh_token grant answered ${response.status}: ${text.slice(0, 300)}`);
  }
  const next = (JSON.parse(text) as { refresh_token?: unknown }).refresh_token;
  if (typeof next !== 'string') throw new Error(`refresh_token grant answered 200 without a refresh_token`);
  fixture.oauth.refreshTokens[chain] = next;
}

/** The token-endpoint row's load: the rotating refresh-token chains of bench/token-load.ts. */
async function loadRefreshChains(target: Target, fixture: Fixture, durationSec: number) {
  const spec: TokenLoadSpec = {
    url: `${target.url}/oauth/token`,
    clientId: fixture.oauth.clientId,
    clientSecret: fixture.oauth.clientSecret,
    refreshTokens: fixture.oauth.refreshTokens,
    durationSec,
  };
  if (!spec.refreshTokens.some((token) => token !== null)) {
    throw new Error('every refresh-token chain has stopped');
  }
  const { result, cpu } = await runLoadProcess<TokenLoadResult>(
    target,
    'token-load.ts',
    { BENCH_TOKEN_SPEC: JSON.stringify(spec) },
    durationSec,
  );
  fixture.oauth.refreshTokens = result.refreshTokens;
  // Everything but the tokens: measurements end up in bench/results/latest.json.
  const { refreshTokens, ...measured } = result;
  return { ...measured, ...cpu } satisfies RunMeasurement;
}
