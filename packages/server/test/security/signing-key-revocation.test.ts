/**
 * Emergency revocation of the OAuth signing keys (issue 14): `cohera admin rotate-signing-key --revoke-old`,
 * run as a real process beside running nodes, makes a new key and withdraws every older one. Tokens the old
 * keys signed — cached by both nodes before — are refused on every node, the JWKS stops listing the old keys,
 * and refresh tokens (not signed) still get the app new access tokens under the new key.
 *
 * Two nodes share each database: on SQLite they hear of it over Redis pub/sub, on PostgreSQL over
 * LISTEN/NOTIFY, which the command uses too. A single node with no bus (the embedded default) finds out when
 * it next looks at its keys (its 30 s tick, called here directly).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type EngineHandle, forEachEngine, prepareEngine } from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  type RegisteredClient,
  refreshRequest,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';
import { assertProblem } from '../support/problem.ts';
import { runCli } from '../support/server-process.ts';

const REDIS_URL = process.env.COHERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** How long a node may take to hear of it over a bus: generous for CI; DESIGN §5.1 asks for a second. */
const DEADLINE_MS = 5_000;

interface Revocation {
  kid: string;
  revoked: string[];
  announced: string | null;
}

async function revokeOld(settings: Record<string, string>): Promise<Revocation> {
  const run = await runCli(['admin', 'rotate-signing-key', '--revoke-old', '--json'], settings);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, `exactly one JSON document on stdout: ${run.stdout}`);
  assert.match(run.stderr, /warning: every OAuth access token issued until now is invalid/);
  assert.match(run.stderr, /refresh tokens/);
  return JSON.parse(lines[0] as string) as Revocation;
}

async function kidsOf(node: TestApp): Promise<string[]> {
  const res = await node.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(res.statusCode, 200);
  return (res.json().keys as { kid: string }[]).map((key) => key.kid);
}

const readCertificates = (node: TestApp, token: string) => node.call(token, 'GET', '/v1/certificates');

/** Polls until the node refuses the token (401) or the deadline passes; returns the last status. */
async function untilRefused(node: TestApp, token: string): Promise<number> {
  const started = Date.now();
  let status = 200;
  while (Date.now() - started < DEADLINE_MS) {
    status = (await readCertificates(node, token)).statusCode;
    if (status === 401) break;
    await sleep(25);
  }
  return status;
}

forEachEngine('cohera admin rotate-signing-key --revoke-old: two nodes', (engine, handle) => {
  let a: OAuthTestServer;
  let b: TestApp;
  let org: TestOrg;
  let client: RegisteredClient;
  let settings: Record<string, string>;

  before(async () => {
    // SQLite nodes (and the command) meet on Redis; PostgreSQL ones on LISTEN/NOTIFY, with no Redis at all.
    const bus: Record<string, string> =
      engine === 'sqlite'
        ? {
            COHERA_REDIS_URL: REDIS_URL,
            COHERA_REDIS_PREFIX: `cohera-test-${randomBytes(4).toString('hex')}:`,
          }
        : {};
    const masterKey = randomBytes(32).toString('base64');
    a = await startOAuthServer(handle(), { env: { ...bus, COHERA_MASTER_KEY: masterKey } });
    b = await startTestApp(handle(), {
      env: { ...bus, COHERA_PUBLIC_URL: a.baseUrl, COHERA_MASTER_KEY: masterKey },
    });
    settings = { ...handle().env, ...bus, COHERA_MASTER_KEY: masterKey };
    org = await createOrg(a.app);
    client = await registerClient(a, org.adminKey, { scopes: ['read:certificates'] });
  });

  test('tokens signed by the old key are refused on both nodes; the JWKS drops it; refresh still works', async () => {
    try {
      const tokens = await authorize(a, new Browser(a.baseUrl), org, client, ['read:certificates']);
      const oldKid = decodeProtectedHeader(tokens.access_token).kid as string;
      for (const node of [a, b]) {
        assert.equal((await readCertificates(node, tokens.access_token)).statusCode, 200);
        const hits = node.app.deps.oauthTokens.hits;
        assert.equal((await readCertificates(node, tokens.access_token)).statusCode, 200);
        assert.equal(node.app.deps.oauthTokens.hits, hits + 1, 'the node serves the token from its cache');
      }
      assert.ok((await kidsOf(b)).includes(oldKid));

      const revocation = await revokeOld(settings);
      assert.equal(revocation.announced, engine === 'sqlite' ? 'redis' : 'postgres');
      assert.ok(revocation.revoked.includes(oldKid), JSON.stringify(revocation));
      assert.notEqual(revocation.kid, oldKid);

      for (const [name, node] of [
        ['A', a],
        ['B', b],
      ] as const) {
        assert.equal(
          await untilRefused(node, tokens.access_token),
          401,
          `node ${name} still accepts the token ${DEADLINE_MS} ms after the revocation`,
        );
        assertProblem(await readCertificates(node, tokens.access_token), 401, 'invalid_credential');
        assert.deepEqual(await kidsOf(node), [revocation.kid], `node ${name} publishes only the new key`);
      }

      // The app carries on with its refresh token: a new access token, signed by the new key, works anywhere.
      await a.app.deps.oauth.reloadKeys();
      const refreshed = await refreshRequest(a, client, tokens.refresh_token);
      assert.equal(refreshed.status, 200, await refreshed.clone().text());
      const fresh = (await refreshed.json()) as { access_token: string };
      assert.equal(decodeProtectedHeader(fresh.access_token).kid, revocation.kid);
      assert.equal((await readCertificates(b, fresh.access_token)).statusCode, 200);
    } finally {
      await b?.close();
      await a?.close();
    }
  });
});

describe('cohera admin rotate-signing-key --revoke-old: one node on SQLite, no bus', () => {
  let handle: EngineHandle;
  before(async () => {
    handle = await prepareEngine('sqlite');
  });

  test('the node refuses the old key’s tokens once it looks at its keys again', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const node = await startOAuthServer(handle, { env: { COHERA_MASTER_KEY: masterKey } });
    try {
      const org = await createOrg(node.app);
      const app = await registerClient(node, org.adminKey, { scopes: ['read:certificates'] });
      const tokens = await authorize(node, new Browser(node.baseUrl), org, app, ['read:certificates']);
      const oldKid = decodeProtectedHeader(tokens.access_token).kid as string;
      assert.equal((await readCertificates(node, tokens.access_token)).statusCode, 200);

      const revocation = await revokeOld({ ...handle.env, COHERA_MASTER_KEY: masterKey });
      assert.equal(revocation.announced, null, 'no bus between the command and the node');
      assert.deepEqual(revocation.revoked, [oldKid]);

      // What the node's 30 s tick does: it sees keys withdrawn and drops its caches.
      assert.equal(await node.app.deps.oauth.reloadKeys(), true);
      assertProblem(await readCertificates(node, tokens.access_token), 401, 'invalid_credential');
      assert.deepEqual(await kidsOf(node), [revocation.kid]);
    } finally {
      await node.close();
      await handle.cleanup();
    }
  });
});

describe('cohera admin rotate-signing-key --revoke-old: the bus is unreachable', () => {
  let handle: EngineHandle;
  before(async () => {
    handle = await prepareEngine('sqlite');
  });

  test('the rotation stands, the command ends within seconds and says running nodes find out within 30 s', async () => {
    // A port nothing listens on: Redis is down (perhaps the incident itself).
    const deadPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const masterKey = randomBytes(32).toString('base64');
    const settings = {
      ...handle.env,
      COHERA_MASTER_KEY: masterKey,
      COHERA_REDIS_URL: `redis://127.0.0.1:${deadPort}`,
    };
    // A node made the database and its first signing key, then went away with Redis.
    await (await startTestApp(handle, { env: { COHERA_MASTER_KEY: masterKey } })).close();
    try {
      const started = Date.now();
      const json = await runCli(['admin', 'rotate-signing-key', '--revoke-old', '--json'], settings);
      assert.equal(json.code, 0, json.stderr);
      assert.ok(Date.now() - started < 20_000, 'bounded, not hung on the bus');
      const result = JSON.parse(json.stdout) as Revocation & { unreachable: string | null };
      assert.equal(result.announced, null);
      assert.equal(result.unreachable, 'redis');
      assert.match(json.stderr, /Redis could not be reached to tell running nodes; each notices within 30 s/);
      assert.doesNotMatch(json.stderr, /\{"level"/, 'no stream of JSON log lines');

      // The keys really were rotated: a second run withdraws the key the first one made.
      const human = await runCli(['admin', 'rotate-signing-key', '--revoke-old'], settings);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /revoked 1 older key\(s\)\. Redis could not be reached/);
      assert.match(human.stderr, new RegExp(`\\(${result.kid}\\) are withdrawn`));
    } finally {
      await handle.cleanup();
    }
  });
});
