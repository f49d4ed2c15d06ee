/**
 * The webhook rows of `npm run bench` (DESIGN §7: "writing the outbox row adds ≤ 10 % to a write request;
 * one node delivers ≥ 1,000 messages/s to a local receiver; an event reaches an idle receiver within 1 s
 * (p99)"). bench/rows.ts declares these rows and bench/report.ts owns the table; this file owns what only
 * these rows need: the local receivers, the servers' set-up (each on a data dir of its own, so no other
 * server's delivery worker claims their deliveries: every node delivers), and the two measurements that
 * are not a load of one request.
 *
 * - `webhook-outbox` vs `webhook-outbox-none`: `POST /v1/certificates` in the live mode, where one endpoint
 *   subscribes to `certificate.created`, against the same in the test mode of the same org and server,
 *   where none does. The live endpoint's receiver accepts connections and never answers, so the node's
 *   worker holds its per-endpoint limit of attempts open and then leaves that endpoint out of its claims:
 *   the row measures writing the outbox (the message and its delivery row, in the request's transaction),
 *   not sending it, which the next row measures. The message row itself is written in both modes
 *   (`GET /v1/events` lists every event), so the ratio is the cost of a subscribed endpoint.
 * - `webhook-deliveries`: a backlog of `webhook.test` messages is made to fail (the receiver answers 500,
 *   COHERA_WEBHOOK_RETRY_SCHEDULE=1 ends each after one retry), then the receiver answers 204 and one
 *   `POST /:id/recover` requeues them all: messages/s = requeued / (time from the recover to the last
 *   receipt). Every attempt opens its own connection (the SSRF guard checks each connected address).
 * - `webhook-latency`: one `POST /v1/certificates` at a time to an idle server and receiver, from sending
 *   the request (so the commit, which happens before the answer, is inside the interval: an upper bound)
 *   to the receiver reading the delivery of that certificate.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cpuSeconds, machineBusySeconds, makeTempDir } from './support.ts';

/** A receiver's answer: 204, 500 (a failure to retry), or none at all (a black hole that holds the request). */
export type ReceiverMode = 'ok' | 'fail' | 'hold';

/** A tiny node:http receiver in the bench process (DESIGN §7: "a local receiver"). */
export class Receiver {
  mode: ReceiverMode = 'ok';
  /** Deliveries answered 204 / 500. */
  ok = 0;
  failed = 0;
  /** Called with the body of every delivery answered 204, and when it was read (performance.now()). */
  onDelivery: ((body: string, at: number) => void) | null = null;
  readonly url: string;
  readonly #server: Server;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(path: string): Promise<Receiver> {
    let receiver: Receiver | null = null;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (!receiver || receiver.mode === 'hold') return;
        const at = performance.now();
        if (receiver.mode === 'fail') {
          receiver.failed++;
          response.writeHead(500).end();
          return;
        }
        receiver.ok++;
        response.writeHead(204).end();
        receiver.onDelivery?.(Buffer.concat(chunks).toString('utf8'), at);
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new Receiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** What bench/rows.ts lends this file from bench/runner.ts: the CLI runner, server starter and authenticated fetch. */
export interface BenchHelpers<T extends WebhookTarget = WebhookTarget> {
  cli(dataDir: string, args: string[]): Promise<unknown>;
  startCohera(dataDir: string, extra: Record<string, string>): Promise<T>;
  call(
    url: string,
    key: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ json: Record<string, unknown> }>;
}

/** A running cohera server as bench/runner.ts knows it (its Target). */
export interface WebhookTarget {
  url: string;
  server: { child: { pid?: number | undefined } };
  webhooks?: WebhookSetup;
}

/** What the webhook rows need of their server, kept on its Target. */
export interface WebhookSetup {
  liveKey: string;
  testKey: string;
  /** A certificate body for each mode (its supplier exists in that mode). */
  liveCertificate: string;
  testCertificate: string;
  receivers: Receiver[];
  /** `webhook-deliveries*`: the endpoints a backlog is sent to (all on one receiver), and that receiver. */
  backlog?: { endpointIds: string[]; receiver: Receiver };
  /** `webhook-latency`: the receiver of the endpoint subscribed to live `certificate.created`. */
  latency?: { receiver: Receiver };
}

/**
 * Endpoints of the `webhook-deliveries` row: enough that the node's own limit of attempts in flight (32),
 * not one endpoint's (4), bounds it. `webhook-deliveries-one` uses the first only.
 */
export const BACKLOG_ENDPOINTS = 8;

const certificateBody = (supplierId: string) =>
  JSON.stringify({
    standard: 'ISO 9001',
    number: 'QMS-2026-BENCH',
    issuer: 'Bench Certification AG',
    supplier_id: supplierId,
    issued_at: '2026-01-15',
    expires_at: '2099-12-31',
  });

/**
 * A server of its own for webhook rows: a new data dir and org (enterprise, limits no row reaches), a live
 * and a test admin key, a supplier in each mode, and endpoints on local receivers. `kind` says which rows.
 */
export async function startWebhookServer<T extends WebhookTarget>(
  helpers: BenchHelpers<T>,
  kind: 'writes' | 'delivery',
): Promise<T> {
  // Removed with the bench's other temp dirs when it exits.
  const dataDir = join(makeTempDir(`cohera-bench-webhooks-${kind}-`), 'data');
  const boot = (await helpers.cli(dataDir, [
    'admin',
    'bootstrap',
    '--org',
    `Bench webhooks ${kind}`,
    '--email',
    `webhooks-${kind}@example.com`,
    '--tier',
    'enterprise',
    // A new database on purpose, whatever may be serving COHERA_PORT (a developer's own server).
    '--yes',
    '--json',
  ])) as { org_id: string; api_key: string };
  await helpers.cli(dataDir, [
    'admin',
    'set-tier',
    '--org',
    boot.org_id,
    '--tier',
    'enterprise',
    '--per-minute',
    '999999999',
    '--per-day',
    '999999999',
    '--json',
  ]);
  const target = await helpers.startCohera(dataDir, {
    // The receivers listen on 127.0.0.1 over http: what the SSRF guard refuses in production.
    COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true',
    // writes: the black hole's attempts stay open as long as allowed. delivery: a failed message is
    // `failed` after one retry a second later, so a backlog to recover is quick to make.
    ...(kind === 'writes'
      ? { COHERA_WEBHOOK_TIMEOUT_SECONDS: '60' }
      : { COHERA_WEBHOOK_RETRY_SCHEDULE: '1' }),
  });
  const liveKey = boot.api_key;
  const call = (key: string, method: string, path: string, body?: unknown) =>
    helpers.call(target.url, key, method, path, body);
  const testKey = String(
    (
      await call(liveKey, 'POST', '/v1/api-keys', {
        name: 'bench test mode',
        scopes: ['admin'],
        mode: 'test',
      })
    ).json.key,
  );
  const supplier = { name: 'Bench Components GmbH', country: 'DE' };
  const liveSupplier = String((await call(liveKey, 'POST', '/v1/suppliers', supplier)).json.id);
  const testSupplier = String((await call(testKey, 'POST', '/v1/suppliers', supplier)).json.id);
  const setup: WebhookSetup = {
    liveKey,
    testKey,
    liveCertificate: certificateBody(liveSupplier),
    testCertificate: certificateBody(testSupplier),
    receivers: [],
  };
  const endpoint = async (receiver: Receiver, events: string[]) => {
    setup.receivers.push(receiver);
    const created = await call(liveKey, 'POST', '/v1/webhook-endpoints', { url: receiver.url, events });
    return String(created.json.id);
  };
  if (kind === 'writes') {
    const hole = await Receiver.start('/hole');
    hole.mode = 'hold';
    await endpoint(hole, ['certificate.created']);
  } else {
    // The backlog endpoint hears only `webhook.test` messages, which go to the endpoint asked for whatever
    // it subscribes to; it subscribes to a type this server never produces.
    const backlog = await Receiver.start('/backlog');
    const endpointIds: string[] = [];
    for (let i = 0; i < BACKLOG_ENDPOINTS; i++) endpointIds.push(await endpoint(backlog, ['api_key.leaked']));
    setup.backlog = { endpointIds, receiver: backlog };
    const latency = await Receiver.start('/latency');
    await endpoint(latency, ['certificate.created']);
    setup.latency = { receiver: latency };
  }
  return { ...target, webhooks: setup };
}

export async function closeReceivers(setup: WebhookSetup | undefined): Promise<void> {
  await Promise.all(setup?.receivers.map((receiver) => receiver.close()) ?? []);
}

/** What a webhook row's run reports, shaped like bench/runner.ts's RunMeasurement. */
export interface WebhookRunMeasurement {
  tool: 'webhook-recover' | 'webhook-latency';
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  non2xx: number;
  errors: number;
  loadCpuSec: number | null;
  processCpuSec: number | null;
  serverCpuPct: number | null;
  loadCpuPct: number | null;
  otherCpuPct: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Runs `task` `total` times, `concurrency` at once. */
async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/** CPU of the server, this process (the receivers and the client) and everything else over an interval. */
function cpuMeter(pid: number | undefined) {
  const server = cpuSeconds(pid);
  const machine = machineBusySeconds();
  const own = process.cpuUsage();
  const started = performance.now();
  return () => {
    const wallSec = (performance.now() - started) / 1000;
    const serverAfter = cpuSeconds(pid);
    const machineAfter = machineBusySeconds();
    const ownUsage = process.cpuUsage(own);
    const ownSec = (ownUsage.user + ownUsage.system) / 1e6;
    const serverSec = server === null || serverAfter === null ? null : serverAfter - server;
    const otherSec =
      serverSec === null || machine === null || machineAfter === null
        ? null
        : Math.max(0, machineAfter - machine - serverSec - ownSec);
    const pct = (seconds: number | null) => (seconds === null ? null : Math.round((seconds / wallSec) * 100));
    return {
      wallSec,
      loadCpuSec: ownSec,
      serverCpuPct: pct(serverSec),
      loadCpuPct: pct(ownSec),
      otherCpuPct: pct(otherSec),
    };
  };
}

/**
 * `webhook-deliveries*`: `messages` webhook.test messages, spread over the first `endpoints` backlog
 * endpoints, fail (twice each), then one recover per endpoint requeues them and the receiver counts them
 * in. Only the second part is measured.
 */
export async function measureDeliveries(
  helpers: BenchHelpers,
  target: WebhookTarget,
  messages: number,
  endpoints: number,
): Promise<WebhookRunMeasurement> {
  const setup = target.webhooks?.backlog;
  if (!target.webhooks || !setup) throw new Error('the server has no backlog endpoint');
  const { liveKey } = target.webhooks;
  const receiver = setup.receiver;
  const endpointIds = setup.endpointIds.slice(0, endpoints);
  const since = new Date(Date.now() - 1000).toISOString();
  receiver.mode = 'fail';
  const failedBefore = receiver.failed;
  await pool(messages, 16, async (i) => {
    const endpointId = endpointIds[i % endpointIds.length];
    await helpers.call(target.url, liveKey, 'POST', `/v1/webhook-endpoints/${endpointId}/test`);
  });
  // The first attempt and the one retry a second later each reach the receiver; then the delivery is
  // `failed` as soon as the server has recorded the second answer.
  await until('the backlog to fail', () => receiver.failed - failedBefore >= 2 * messages, 300_000);
  await sleep(1000);

  receiver.mode = 'ok';
  const okBefore = receiver.ok;
  const meter = cpuMeter(target.server.child.pid);
  const started = performance.now();
  let last = started;
  receiver.onDelivery = (_body, at) => {
    last = at;
  };
  const answers = await Promise.all(
    endpointIds.map((id) =>
      helpers.call(target.url, liveKey, 'POST', `/v1/webhook-endpoints/${id}/recover`, { since }),
    ),
  );
  const requeued = answers.reduce((sum, answer) => sum + Number(answer.json.requeued), 0);
  if (!(requeued > 0)) throw new Error(`recover requeued ${requeued}`);
  await until(`${requeued} deliveries`, () => receiver.ok - okBefore >= requeued, 300_000);
  receiver.onDelivery = null;
  const cpu = meter();
  const durationSec = (last - started) / 1000;
  return {
    tool: 'webhook-recover',
    requests: requeued,
    durationSec,
    requestsPerSec: requeued / durationSec,
    p50Ms: null,
    p99Ms: null,
    non2xx: 0,
    // Messages of the backlog not yet `failed` when recovered, so not in this measurement.
    errors: messages - requeued,
    loadCpuSec: cpu.loadCpuSec,
    processCpuSec: null,
    serverCpuPct: cpu.serverCpuPct,
    loadCpuPct: cpu.loadCpuPct,
    otherCpuPct: cpu.otherCpuPct,
  };
}

/** `webhook-latency`: `samples` certificates created one at a time, each timed until its delivery is read. */
export async function measureLatency(
  helpers: BenchHelpers,
  target: WebhookTarget,
  samples: number,
): Promise<WebhookRunMeasurement> {
  const setup = target.webhooks;
  const receiver = setup?.latency?.receiver;
  if (!setup || !receiver) throw new Error('the server has no latency endpoint');
  const arrivals = new Map<string, number>();
  receiver.onDelivery = (body, at) => {
    const id = (JSON.parse(body) as { data?: { id?: string } }).data?.id;
    if (id) arrivals.set(id, at);
  };
  const latencies: number[] = [];
  let errors = 0;
  const meter = cpuMeter(target.server.child.pid);
  try {
    for (let i = 0; i < samples; i++) {
      const sent = performance.now();
      const created = await helpers.call(
        target.url,
        setup.liveKey,
        'POST',
        '/v1/certificates',
        JSON.parse(setup.liveCertificate),
      );
      const id = String(created.json.id);
      try {
        await until(`the delivery of ${id}`, () => arrivals.has(id), 10_000);
        latencies.push((arrivals.get(id) ?? Number.NaN) - sent);
      } catch {
        errors++;
      }
      arrivals.delete(id);
      // Idle between events: each one finds the worker and the receiver waiting.
      await sleep(20);
    }
  } finally {
    receiver.onDelivery = null;
  }
  const cpu = meter();
  latencies.sort((a, b) => a - b);
  return {
    tool: 'webhook-latency',
    requests: latencies.length,
    durationSec: cpu.wallSec,
    requestsPerSec: latencies.length / cpu.wallSec,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    non2xx: 0,
    errors,
    loadCpuSec: cpu.loadCpuSec,
    processCpuSec: null,
    serverCpuPct: cpu.serverCpuPct,
    loadCpuPct: cpu.loadCpuPct,
    otherCpuPct: cpu.otherCpuPct,
  };
}
