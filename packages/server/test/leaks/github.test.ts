/**
 * `POST /v1/leaks/github` (DESIGN §5.6, issue 16): GitHub's secret-scanning partner protocol against a key
 * server of the test's own on 127.0.0.1 (COHERA_GITHUB_SCANNING_KEYS_URL), serving key pairs the test
 * generated, so no outside network is used. Good, bad and missing signatures; an unknown key id refetches
 * once, and refetches are spaced; a batch of 100 tokens gets the right labels; each valid key is handled as
 * leaked with one webhook message however often it is reported.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, hash, type KeyObject, sign } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { capturedLogs, createKey, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import { eventually, keyObject, leakMessages, report, unknownKey, wrongChecksum } from './fixtures.ts';

interface Pair {
  id: string;
  privateKey: KeyObject;
  pem: string;
}

function pair(id: string): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A key server like GitHub's `meta/public_keys/secret_scanning`, serving `published`; counts its hits. */
class KeyServer {
  published: Pair[] = [];
  hits = 0;
  readonly server: Server = createServer((_request, response) => {
    this.hits++;
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        public_keys: this.published.map((p, i) => ({
          key_identifier: p.id,
          key: p.pem,
          is_current: i === 0,
        })),
      }),
    );
  });
  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  }
}

interface Token {
  token: string;
  type: string;
  url?: string;
  source?: string;
}

forEachEngine('GitHub secret-scanning endpoint', (_engine, handle) => {
  const keys = new KeyServer();
  const current = pair('github-key-1');
  const rotated = pair('github-key-2');
  const clock = new ManualClock(Date.now());
  let t: TestApp;
  const secrets: string[] = [];

  before(async () => {
    keys.published = [current];
    const url = await keys.start();
    t = await startTestApp(handle(), { clock, env: { COHERA_GITHUB_SCANNING_KEYS_URL: url } });
  });
  after(async () => {
    const logs = capturedLogs.join('\n');
    for (const secret of secrets) assert.ok(!logs.includes(secret), 'a reported key appears in the logs');
    await t?.close();
    keys.server.close();
  });

  function send(body: string, headers: Record<string, string>) {
    return t.inject({
      method: 'POST',
      url: '/v1/leaks/github',
      headers: { 'content-type': 'application/json', ...headers },
      payload: body,
    });
  }

  /** Signed as GitHub signs: ECDSA P-256 SHA-256 over the raw body, DER, base64. */
  function signed(tokens: Token[], signer: Pair = current, id: string = signer.id) {
    const body = JSON.stringify(tokens);
    const signature = sign('sha256', Buffer.from(body), { key: signer.privateKey, dsaEncoding: 'der' });
    return send(body, {
      'github-public-key-identifier': id,
      'github-public-key-signature': signature.toString('base64'),
    });
  }

  test('a batch of 100 tokens: each labelled, keys revoked, the answer holds no token', async () => {
    const org = await createOrg(t.app);
    const live = await Promise.all(
      Array.from({ length: 25 }, () => createKey(t.app, org, ['read:suppliers'])),
    );
    const sandbox = await Promise.all(
      Array.from({ length: 15 }, () => createKey(t.app, org, ['read:suppliers'], 'test')),
    );
    secrets.push(...live, ...sandbox);
    const ours = new Set([...live, ...sandbox]);
    const others = [
      ...Array.from({ length: 30 }, () => unknownKey()),
      ...live.slice(0, 20).map(wrongChecksum),
      ...Array.from({ length: 10 }, (_, i) => `not a key ${i}`),
    ];
    const tokens: Token[] = [...ours, ...others].map((token, i) => ({
      token,
      type: 'cohera_api_key',
      url: `https://github.com/example/repo/blob/abc/config-${i}.env`,
      source: 'content',
    }));
    assert.equal(tokens.length, 100);
    const res = await signed(tokens);
    assert.equal(res.statusCode, 200, res.body);
    const answer = res.json<{ token_hash: string; token_type: string; label: string }[]>();
    assert.equal(answer.length, 100);
    for (const [i, item] of answer.entries()) {
      const token = (tokens[i] as Token).token;
      assert.equal(item.token_hash, hash('sha256', token, 'hex'));
      assert.equal(item.token_type, 'cohera_api_key');
      assert.equal(item.label, ours.has(token) ? 'true_positive' : 'false_positive', token.slice(0, 12));
      assert.ok(!res.body.includes(token), 'the answer echoes a token');
    }
    // Handled synchronously: revoked by the time GitHub has its answer.
    for (const key of [live[0], sandbox[0]] as string[]) {
      const k = await keyObject(t, org, key);
      assert.equal(k.status, 'revoked');
      assert.equal(k.revoked_reason, 'leaked');
      assertProblem(await t.call(key, 'GET', '/v1/suppliers'), 401, 'revoked_credential');
    }
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=api_key.leaked&limit=100');
    const leaked = events.json<{ data: { metadata: Record<string, unknown> }[] }>().data;
    assert.equal(leaked.length, 40);
    assert.equal(leaked[0]?.metadata.source, 'github');
    assert.equal(leaked[0]?.metadata.github_source, 'content');
    assert.match(
      String(leaked[0]?.metadata.url),
      /^https:\/\/github\.com\/example\/repo\/blob\/abc\/config-\d+\.env$/,
    );
    for (const secret of ours) assert.ok(!events.body.includes(secret));
    assert.equal((await leakMessages(t, org.orgId)).length, 40);
  });

  test('reported again by GitHub and by the public endpoint: still one webhook message and one audit event', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    secrets.push(key);
    const item = {
      token: key,
      type: 'cohera_api_key',
      url: 'https://github.com/o/r/blob/1/a.env',
      source: 'commit',
    };
    assert.equal((await signed([item])).json<{ label: string }[]>()[0]?.label, 'true_positive');
    // A revoked key GitHub finds again is still ours: true_positive, and nothing new happens.
    assert.equal((await signed([item, item])).json<{ label: string }[]>()[1]?.label, 'true_positive');
    await report(t, { credentials: [key] }, '198.51.100.90');
    await eventually(
      'the queue is empty',
      () => t.app.deps.db.selectFrom('leak_reports').selectAll().execute(),
      (rows) => rows.length === 0,
    );
    assert.equal((await leakMessages(t, org.orgId)).length, 1);
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=api_key.leaked');
    assert.equal(events.json<{ data: unknown[] }>().data.length, 1);
  });

  test('a URL that contains the token is not kept', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    secrets.push(key);
    await signed([{ token: key, type: 'cohera_api_key', url: `https://gist.github.com/x?k=${key}` }]);
    const events = await t.call(org.adminKey, 'GET', '/v1/audit-events?action=api_key.leaked');
    assert.equal(events.json<{ data: { metadata: { url: unknown } }[] }>().data[0]?.metadata.url, null);
    assert.ok(!events.body.includes(key));
  });

  test('missing, malformed and bad signatures are 401 and change nothing', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    secrets.push(key);
    const tokens: Token[] = [{ token: key, type: 'cohera_api_key' }];
    const body = JSON.stringify(tokens);
    const good = sign('sha256', Buffer.from(body), { key: current.privateKey, dsaEncoding: 'der' }).toString(
      'base64',
    );
    const forged = sign('sha256', Buffer.from(body), {
      key: pair('x').privateKey,
      dsaEncoding: 'der',
    }).toString('base64');
    const otherBody = sign('sha256', Buffer.from('[]'), {
      key: current.privateKey,
      dsaEncoding: 'der',
    }).toString('base64');
    const id = current.id;
    const cases: Record<string, string>[] = [
      {},
      { 'github-public-key-identifier': id },
      { 'github-public-key-signature': good },
      { 'github-public-key-identifier': id, 'github-public-key-signature': forged },
      { 'github-public-key-identifier': id, 'github-public-key-signature': otherBody },
      { 'github-public-key-identifier': id, 'github-public-key-signature': 'not base64 at all!' },
      { 'github-public-key-identifier': id, 'github-public-key-signature': `${good.slice(0, -4)}AAAA` },
    ];
    for (const headers of cases) assertProblem(await send(body, headers), 401, 'invalid_signature');
    // The signature covers the exact bytes: the same JSON with other whitespace does not verify.
    assertProblem(
      await send(JSON.stringify(tokens, null, 2), {
        'github-public-key-identifier': id,
        'github-public-key-signature': good,
      }),
      401,
      'invalid_signature',
    );
    const k = await keyObject(t, org, key);
    assert.equal(k.status, 'active');
    assert.equal(k.leaked_at, null);
    // And the right signature over the right bytes is accepted.
    assert.equal(
      (await send(body, { 'github-public-key-identifier': id, 'github-public-key-signature': good }))
        .statusCode,
      200,
    );
  });

  test('a signed body that is not a report is a 400 naming the field', async () => {
    assertProblem(await signed([{ token: 'x' } as Token]), 400, 'validation_failed', 'body/0/type');
    assertProblem(
      await signed(Array.from({ length: 1001 }, () => ({ token: 'x', type: 't' }))),
      400,
      'validation_failed',
    );
  });

  test('an unknown key id triggers one refetch; more unknown ids within a minute fetch nothing', async () => {
    const org = await createOrg(t.app);
    const key = await createKey(t.app, org, ['read:suppliers']);
    secrets.push(key);
    // Earlier tests fetched the list once; GitHub now rotates to a new key.
    clock.advance(61_000);
    keys.published = [rotated, current];
    const before = keys.hits;
    const res = await signed([{ token: key, type: 'cohera_api_key' }], rotated);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(keys.hits, before + 1, 'one refetch for the new identifier');
    // Random identifiers: refused without hammering the key server.
    for (let i = 0; i < 5; i++) {
      assertProblem(await signed([], rotated, `random-${i}`), 401, 'invalid_signature');
    }
    assert.equal(keys.hits, before + 1, 'no refetch within the minute');
    // Known identifiers still verify from the cache.
    assert.equal((await signed([], current)).statusCode, 200);
    assert.equal(keys.hits, before + 1);
    clock.advance(61_000);
    assertProblem(await signed([], rotated, 'random-late'), 401, 'invalid_signature');
    assert.equal(keys.hits, before + 2, 'a minute later an unknown identifier may refetch again');
  });
});

test('GitHub endpoint: without a reachable key server the answer is 503, not 401', async () => {
  const { prepareEngine } = await import('../support/engines.ts');
  const engine = await prepareEngine('sqlite');
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  const t = await startTestApp(engine, {
    env: { COHERA_GITHUB_SCANNING_KEYS_URL: 'http://127.0.0.1:9/keys' },
  });
  try {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/leaks/github',
      headers: {
        'content-type': 'application/json',
        'github-public-key-identifier': 'k',
        'github-public-key-signature': 'AAAA',
      },
      payload: '[]',
    });
    assertProblem(res, 503, 'service_unavailable');
    assert.ok(Number(res.headers['retry-after']) >= 1);
  } finally {
    await t.close();
    await engine.cleanup();
  }
});
