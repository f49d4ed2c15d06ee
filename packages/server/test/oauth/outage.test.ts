/**
 * The OAuth engine during a database outage (issue 22): its endpoints answer `503` with `Retry-After` and
 * `temporarily_unavailable`, like every other route, instead of the engine's own `500 server_error`, log no
 * error per request, and answer normally once the database is back. PostgreSQL behind a proxy that freezes
 * the connection (no answer at all, as a SIGSTOPped server gives).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { capturedLogs, logCapture } from '../support/app.ts';
import { tempDir, testConfig } from '../support/config.ts';
import { createPostgresDatabase, POSTGRES_ADMIN_URL, postgresReachable } from '../support/engines.ts';
import { FreezableProxy } from '../support/freezable-proxy.ts';
import { freePort } from '../support/oauth.ts';

describe('the OAuth engine while PostgreSQL cannot answer', async () => {
  const reachable = await postgresReachable();
  if (!reachable && process.env.CI) {
    throw new Error(`PostgreSQL is unreachable at ${POSTGRES_ADMIN_URL}; CI must run these tests`);
  }
  const skip = reachable ? false : 'PostgreSQL unreachable (set COHERA_TEST_POSTGRES_URL)';
  const dir = tempDir();
  let proxy: FreezableProxy;
  let target: { url: string; drop(): Promise<void> };
  let app: FastifyInstance;
  let base = '';

  before(async () => {
    if (!reachable) return;
    target = await createPostgresDatabase();
    proxy = await FreezableProxy.start(target.url);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await buildApp(
      testConfig(
        {
          COHERA_DATABASE_URL: proxy.urlThrough(target.url),
          COHERA_PUBLIC_URL: base,
          COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
          COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '1',
          COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '2',
        },
        dir.path,
      ),
      { logDestination: logCapture() },
    );
    await app.listen({ port, host: '127.0.0.1' });
  });
  after(async () => {
    if (!reachable) return;
    proxy.thaw();
    await app.close();
    await proxy.close();
    await target.drop();
    dir.remove();
  });

  // A client the engine must look up in storage: the lookup is what meets the outage.
  const tokenRequest = () =>
    fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('app_doesnotexist0000000000:secret').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token' }),
    });

  test('the token endpoint answers 503 temporarily_unavailable with Retry-After, then recovers', {
    skip,
  }, async () => {
    const before = await tokenRequest();
    assert.equal(before.status, 401, 'with the database up, an unknown client is refused');
    assert.equal(((await before.json()) as { error: string }).error, 'invalid_client');

    const logsBefore = capturedLogs.length;
    proxy.freeze();
    try {
      const during = await tokenRequest();
      assert.equal(during.status, 503);
      assert.match(during.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(during.headers.get('cache-control'), 'no-store');
      const body = (await during.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'temporarily_unavailable');
      assert.match(body.error_description, /retry/i);
      const errors = capturedLogs
        .slice(logsBefore)
        .filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
      assert.deepEqual(errors, [], 'no error-level line per request');
    } finally {
      proxy.thaw();
    }

    const recovered = await tokenRequest();
    assert.equal(recovered.status, 401, 'once the database answers, the engine answers as before');
  });
});
