/**
 * Nothing is lost on kill -9 (DESIGN §5.5 "Durable"): a real `cohera server` process commits an event and
 * starts sending it, is killed with SIGKILL before the receiver answers, and a new process on the same data
 * delivers it once the dead node's lease has run out, with the same webhook-id (at least once: the receiver
 * dedupes by it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../support/config.ts';
import { type Receiver, startReceiver } from '../support/webhook-receiver.ts';

const BIN = fileURLToPath(new URL('../../../cli/bin/cohera.js', import.meta.url));

function nodeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('COHERA_') && !name.startsWith('NODE_TEST')) env[name] = value;
  }
  return { ...env, ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject()));
    });
  });
}

/** Starts `cohera server` and resolves once it logs that it is ready. */
async function startServer(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'server'], {
    env: nodeEnv({ ...env, COHERA_PORT: String(port), COHERA_HOST: '127.0.0.1', COHERA_LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready:\n${output}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${output}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output += `${line}\n`;
      if (line.includes('"cohera is ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

const dir = tempDir();
const children: ChildProcess[] = [];
let receiver: Receiver | undefined;
after(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await receiver?.close();
  dir.remove();
});

test('an event whose delivery was cut by SIGKILL is delivered by the next process', async () => {
  const env = {
    COHERA_DATA_DIR: dir.path,
    COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
    COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true',
    // The lease is the timeout plus a margin: a short timeout keeps the wait for the dead node's claim short.
    COHERA_WEBHOOK_TIMEOUT_SECONDS: '2',
  };
  const port = await freePort();
  // Bootstrap with the port the server will use: bootstrap refuses to make a new database while another
  // Cohera server answers on its configured port (a developer's own on 8080, say).
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIN, 'admin', 'bootstrap', '--org', 'Crash', '--email', 'crash@example.com', '--json'],
    { env: nodeEnv({ ...env, COHERA_PORT: String(port) }) },
  );
  const adminKey = (JSON.parse(stdout) as { api_key: string }).api_key;
  const held: ServerResponse[] = [];
  // The first request is never answered: the process dies while it is in flight.
  receiver = await startReceiver((_r, res, index) => {
    if (index === 0) held.push(res);
    else res.writeHead(204).end();
  });

  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  const first = await startServer(env, port);
  children.push(first);
  const created = await call('POST', '/v1/webhook-endpoints', { url: receiver.url, events: ['*'] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const endpointId = String(created.json.id);
  const sent = await call('POST', `/v1/webhook-endpoints/${endpointId}/test`);
  assert.equal(sent.status, 202);
  const messageId = String(sent.json.message_id);
  await receiver.waitFor(1);
  const killed = new Promise((resolve) => first.once('exit', resolve));
  first.kill('SIGKILL');
  await killed;

  const second = await startServer(env, port);
  children.push(second);
  const receipts = await receiver.waitFor(2, 60_000);
  assert.equal(receipts[0]?.headers['webhook-id'], messageId);
  assert.equal(receipts[1]?.headers['webhook-id'], messageId, 'the same webhook-id: the receiver can dedupe');
  assert.equal(receipts[1]?.body, receipts[0]?.body);
  let log: { data: { id: string; status: string; attempts: number }[] } | undefined;
  for (let i = 0; i < 200; i++) {
    const listed = await call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`);
    log = listed.json as typeof log;
    if (log?.data[0]?.status === 'succeeded') break;
    await sleep(50);
  }
  assert.equal(log?.data[0]?.id, messageId);
  assert.equal(log?.data[0]?.status, 'succeeded');
  // The killed process never recorded its attempt: the log counts the one that was answered.
  assert.equal(log?.data[0]?.attempts, 1);

  const exited = new Promise<number | null>((resolve) => second.once('exit', (code) => resolve(code)));
  second.kill('SIGTERM');
  assert.equal(await exited, 0);
  for (const res of held) res.destroy();
});
