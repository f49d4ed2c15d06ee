/**
 * `--revoke` and the SDK call under it. End to end against a real server on loopback: the keys a scan
 * finds in a file are sent to POST /v1/credentials/revoke and stop working, a key that was not in the file
 * keeps working. Without a terminal and without --yes nothing is sent (exit 2). The SDK's
 * `credentials.revoke` sends no credential even when the client has one, deduplicates, and batches by 1,000.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cohera, CoheraError } from '../../../sdk/src/index.ts';
import { createKey, createOrg, startTestApp, type TestApp } from '../../../server/test/support/app.ts';
import { type EngineHandle, prepareEngine } from '../../../server/test/support/engines.ts';
import { key, lookAlikes, scan, scanJson, tempDir } from './support.ts';

/** A local stand-in for the revoke endpoint that records what it was sent. */
async function recordingServer(t: { after(fn: () => Promise<void> | void): void }) {
  const requests: Array<{
    url: string;
    headers: IncomingMessage['headers'];
    body: { credentials: string[] };
  }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const parsed = JSON.parse(body) as { credentials: string[] };
      requests.push({ url: request.url ?? '', headers: request.headers, body: parsed });
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ received: parsed.credentials.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('cohera scan --revoke against a real server', () => {
  let handle: EngineHandle;
  let server: TestApp;
  let baseUrl: string;
  before(async () => {
    handle = await prepareEngine('sqlite');
    server = await startTestApp(handle);
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await server.close();
    await handle.cleanup();
  });

  const health = async (k: string) =>
    (await fetch(`${baseUrl}/health`, { headers: { authorization: `Bearer ${k}` } })).status;

  test('revokes the live and test keys found in a file; other keys keep working', async (t) => {
    const org = await createOrg(server.app);
    const live = await createKey(server.app, org, ['read:certificates'], 'live');
    const testKey = await createKey(server.app, org, ['read:certificates'], 'test');
    const untouched = await createKey(server.app, org, ['read:certificates'], 'live');
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'leak.env'),
      `LIVE=${live}\nTEST=${testKey}\nAGAIN=${live}\n${lookAlikes().join('\n')}\n`,
    );
    for (const k of [live, testKey, untouched]) assert.equal(await health(k), 200);

    const report = await scanJson(['--revoke', '--yes', '--base-url', baseUrl], { cwd: dir });
    assert.equal(report.run.code, 1, report.run.stderr);
    assert.deepEqual(report.revoke, { base_url: baseUrl, sent: 2, received: 2 });
    assert.ok(!report.run.stdout.includes(live) && !report.run.stderr.includes(live));

    // The server handles reports after answering (never an oracle): wait for its worker, then check.
    const deadline = Date.now() + 30_000;
    while ((await health(live)) !== 401 || (await health(testKey)) !== 401) {
      assert.ok(Date.now() < deadline, 'the found keys were not revoked within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await health(untouched), 200);
  });

  test('COHERA_BASE_URL is the default target; text output says what was sent', async (t) => {
    const org = await createOrg(server.app);
    const live = await createKey(server.app, org, ['read:certificates']);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.txt'), live);
    const run = await scan(['--revoke', '--yes'], { cwd: dir, env: { COHERA_BASE_URL: baseUrl } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, new RegExp(`Sent 1 key to ${baseUrl}/v1/credentials/revoke \\(received: 1\\)`));
  });
});

describe('cohera scan --revoke refusals', () => {
  test('without a terminal and without --yes: exit 2 with a sentence, nothing sent, nothing scanned', async (t) => {
    const target = await recordingServer(t);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.txt'), key());
    const run = await scan(['--revoke', '--base-url', target.url], { cwd: dir });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--revoke asks for confirmation on a terminal.*--yes/);
    assert.equal(run.stdout, '');
    // Reading keys from stdin leaves no way to answer either.
    const piped = await scan(['-', '--revoke'], { cwd: dir, input: key() });
    assert.equal(piped.code, 2);
    assert.equal(target.requests.length, 0);
  });

  test('nothing found: nothing sent, exit 0', async (t) => {
    const target = await recordingServer(t);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.txt'), lookAlikes().join('\n'));
    const run = await scan(['--revoke', '--yes', '--base-url', target.url], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(target.requests.length, 0);
  });

  test('an unreachable server: exit 1 and a sentence on stderr, the findings still reported', async (t) => {
    const dir = tempDir(t);
    const k = key();
    writeFileSync(join(dir, 'a.txt'), k);
    const run = await scan(['--revoke', '--yes', '--base-url', 'http://127.0.0.1:9'], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /revoking failed/);
    assert.ok(!run.stderr.includes(k));
    assert.match(run.stdout, /a\.txt:1:1/);
  });
});

describe('SDK: client.credentials.revoke', () => {
  test('sends no credential, even from a client that has one', async (t) => {
    const target = await recordingServer(t);
    const found = key();
    const client = new Cohera({ apiKey: key(), baseUrl: target.url, maxRetries: 0 });
    assert.deepEqual(await client.credentials.revoke([found]), { received: 1 });
    assert.equal(target.requests[0]?.url, '/v1/credentials/revoke');
    assert.equal(target.requests[0]?.headers.authorization, undefined);
    assert.deepEqual(target.requests[0]?.body, { credentials: [found] });
  });

  test('an anonymous client: deduplicates, batches by 1,000; other calls throw before sending', async (t) => {
    const target = await recordingServer(t);
    const client = new Cohera({ anonymous: true, baseUrl: target.url, maxRetries: 0 });
    const strings = Array.from({ length: 2500 }, (_, i) => `string-${i}`);
    const result = await client.credentials.revoke([...strings, ...strings.slice(0, 10)]);
    assert.deepEqual(result, { received: 2500 });
    assert.deepEqual(
      target.requests.map((r) => r.body.credentials.length),
      [1000, 1000, 500],
    );
    await assert.rejects(client.suppliers.list(), (error: unknown) => {
      assert.ok(error instanceof CoheraError);
      assert.equal(error.code, 'missing_credential');
      return true;
    });
    assert.equal(target.requests.length, 3, 'nothing sent for the authenticated call');
    assert.throws(
      () => new Cohera({ anonymous: true, apiKey: key() }),
      /anonymous client takes no credential/,
    );
  });
});
