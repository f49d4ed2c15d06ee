/**
 * Valid service-account tokens on every engine (DESIGN §3, §5.2): who the token is, its scopes and mode,
 * every key algorithm, the 60 s leeway on `exp`, rate limits shared with the org's API keys, the
 * verified-token cache, and the key's `last_used_at`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isoAt, ManualClock } from '../../src/clock.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  type AccountObject,
  assertProblem,
  createAccount,
  generateKey,
  type KeyObjectJson,
  type MintOptions,
  mint,
  type ServiceAccountJson,
  type Signer,
  signerOf,
  uploadKey,
} from './fixtures.ts';

const apiTimeOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

forEachEngine('service-account tokens', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let account: AccountObject;
  let file: ServiceAccountJson;
  let signer: Signer;

  before(async () => {
    clock = new ManualClock();
    // No timed usage flush: the last_used_at test flushes by hand and checks nothing is written before.
    t = await startTestApp(handle(), { clock, usageFlushMs: 3_600_000 });
    org = await createOrg(t.app);
    account = await createAccount(t, org.adminKey, ['read:*', 'write:suppliers']);
    file = await generateKey(t, org.adminKey, account.id);
    signer = await signerOf(file);
  });
  after(() => t.close());

  /** A token from `service-account.json` alone, as a client without our SDK would mint it. */
  const token = (scopes: string[], options: MintOptions = {}, by: Signer = signer, acc = account) =>
    mint(
      by,
      { sub: acc.id, org_id: file.org_id, iss: file.issuer, aud: file.audience, scopes },
      clock.now(),
      options,
    );

  test('a token from service-account.json says who it is on /health and reads data', async () => {
    const jwt = await token(['read:certificates', 'read:suppliers'], { lifetime: 3600 });
    const exp = Math.floor(clock.now() / 1000) + 3600;
    const res = await t.call(jwt, 'GET', '/health');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      status: 'ok',
      auth: {
        kind: 'service_account',
        id: account.id,
        org_id: org.orgId,
        mode: 'live',
        scopes: ['read:certificates', 'read:suppliers'],
        expires_at: apiTimeOf(exp * 1000),
      },
    });
    const list = await t.call(jwt, 'GET', '/v1/suppliers');
    assert.equal(list.statusCode, 200, list.body);
  });

  test('the request gets the token’s scopes, not the account’s: a scope it lacks is a 403', async () => {
    const reader = await token(['read:suppliers']);
    const denied = await t.call(reader, 'POST', '/v1/suppliers', { name: 'Acme', country: 'DE' });
    const problem = assertProblem(denied, 403, 'insufficient_scope');
    assert.equal((problem as { required_scope?: string }).required_scope, 'write:suppliers');
    assert.match(String(denied.headers['www-authenticate']), /scope="write:suppliers"/);
    assertProblem(await t.call(reader, 'GET', '/v1/certificates'), 403, 'insufficient_scope');
    // Management routes need admin, which the account's ceiling does not include.
    assertProblem(await t.call(reader, 'GET', '/v1/service-accounts'), 403, 'insufficient_scope');

    // The account does hold write:suppliers: a token that claims it may write.
    const writer = await token(['write:suppliers']);
    const created = await t.call(writer, 'POST', '/v1/suppliers', { name: 'Acme', country: 'DE' });
    assert.equal(created.statusCode, 201, created.body);
    const read = await t.call(reader, 'GET', `/v1/suppliers/${created.json().id}`);
    assert.equal(read.statusCode, 200, read.body);
  });

  test('uploaded EdDSA (Ed25519) and RS256 (2048-bit) keys sign working tokens', async () => {
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const [pair, alg] of [
      [ed, 'EdDSA'],
      [rsa, 'RS256'],
    ] as const) {
      const key = await uploadKey(t, org.adminKey, account.id, { public_key: spki(pair.publicKey) });
      assert.equal(key.algorithm, alg);
      const jwt = await token(['read:suppliers'], {}, { kid: key.id, alg, key: pair.privateKey });
      const res = await t.call(jwt, 'GET', '/health');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().auth.id, account.id);
      assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
      // The key's algorithm is fixed: the same key under the other's name is refused.
      const other = alg === 'EdDSA' ? 'RS256' : 'EdDSA';
      const otherKey = other === 'EdDSA' ? ed.privateKey : rsa.privateKey;
      const wrong = await token(['read:suppliers'], {}, { kid: key.id, alg: other, key: otherKey });
      assertProblem(await t.call(wrong, 'GET', '/health'), 401, 'invalid_credential');
    }
  });

  // The verifier grants `exp` 60 s of clock skew on purpose (DESIGN §3 "exp present and in the future
  // (60 s leeway)"; jose's clockTolerance, and the cache keeps a token until exp + 60 s): a client whose
  // clock is a little behind must not fail. 30 s late is accepted; past the leeway it is expired.
  test('exp up to 60 s in the past is accepted (clock skew), later is expired_credential', async () => {
    const late = await token(['read:suppliers'], { iat: -630, lifetime: 600 }); // exp 30 s ago
    assert.equal((await t.call(late, 'GET', '/v1/suppliers')).statusCode, 200);
    const tooLate = await token(['read:suppliers'], { iat: -690, lifetime: 600 }); // exp 90 s ago
    assertProblem(await t.call(tooLate, 'GET', '/v1/suppliers'), 401, 'expired_credential');

    // A cached token follows the same rule: fine until exp + 60 s, expired after.
    const cached = await token(['read:suppliers'], { lifetime: 300 });
    assert.equal((await t.call(cached, 'GET', '/v1/suppliers')).statusCode, 200);
    clock.advance(330_000);
    assert.equal((await t.call(cached, 'GET', '/v1/suppliers')).statusCode, 200);
    clock.advance(31_000);
    assertProblem(await t.call(cached, 'GET', '/v1/suppliers'), 401, 'expired_credential');
  });

  test('a test-mode account’s tokens see test data only', async () => {
    const sandbox = await createAccount(t, org.adminKey, ['read:*', 'write:suppliers'], { mode: 'test' });
    const sandboxSigner = await signerOf(await generateKey(t, org.adminKey, sandbox.id));
    const jwt = await token(['read:suppliers', 'write:suppliers'], {}, sandboxSigner, sandbox);
    assert.equal((await t.call(jwt, 'GET', '/health')).json().auth.mode, 'test');
    const live = await t.call(org.adminKey, 'POST', '/v1/suppliers', { name: 'Live Co', country: 'FR' });
    assert.equal(live.statusCode, 201, live.body);
    assertProblem(await t.call(jwt, 'GET', `/v1/suppliers/${live.json().id}`), 404, 'not_found');
    const made = await t.call(jwt, 'POST', '/v1/suppliers', { name: 'Sandbox Co', country: 'FR' });
    assert.equal(made.statusCode, 201, made.body);
    const testKey = await createKey(t.app, org, ['read:*'], 'test');
    assert.equal((await t.call(testKey, 'GET', `/v1/suppliers/${made.json().id}`)).statusCode, 200);
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/suppliers/${made.json().id}`), 404, 'not_found');
  });

  test('rate limits: headers on service-account requests, one org budget with its API keys', async () => {
    // A free org (60/min) of its own, so the count starts at zero.
    const small = await createOrg(t.app, 'free');
    const smallAccount = await createAccount(t, small.adminKey, ['read:*']);
    const smallFile = await generateKey(t, small.adminKey, smallAccount.id);
    const jwt = await mint(
      await signerOf(smallFile),
      {
        sub: smallAccount.id,
        org_id: small.orgId,
        iss: smallFile.issuer,
        aud: smallFile.audience,
        scopes: ['read:suppliers'],
      },
      clock.now(),
    );
    const key = await createKey(t.app, small, ['read:*']);
    const remaining: number[] = [];
    for (const credential of [key, jwt, key, jwt, jwt]) {
      const res = await t.call(credential, 'GET', '/v1/suppliers');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['x-ratelimit-limit'], '60');
      assert.match(String(res.headers['ratelimit-policy']), /"minute";q=60;w=60/);
      remaining.push(Number(res.headers['x-ratelimit-remaining']));
    }
    // Each request, whatever its credential, took one from the same budget.
    for (let i = 1; i < remaining.length; i++) assert.equal(remaining[i], (remaining[0] ?? 0) - i);

    // Spend the rest with the API key; the service account is then limited too.
    let left = remaining.at(-1) ?? 0;
    while (left > 0) {
      const res = await t.call(key, 'GET', '/v1/suppliers');
      assert.equal(res.statusCode, 200, res.body);
      left = Number(res.headers['x-ratelimit-remaining']);
    }
    const limited = await t.call(jwt, 'GET', '/v1/suppliers');
    assertProblem(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(limited.headers['x-ratelimit-remaining'], '0');
  });

  test('a reused token is verified once, then served from the cache', async () => {
    const verifier = t.app.deps.serviceAccounts;
    const jwt = await token(['read:suppliers'], { lifetime: 900 });
    const { hits, misses } = verifier;
    assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(verifier.misses, misses + 1);
    assert.equal(verifier.hits, hits);
    for (let i = 0; i < 3; i++) assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(verifier.hits, hits + 3);
    assert.equal(verifier.misses, misses + 1);
    // Another token (even of the same key) is its own entry.
    const second = await token(['read:suppliers'], { lifetime: 901 });
    assert.equal((await t.call(second, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(verifier.misses, misses + 2);
  });

  test('the cached-token shortcut serves only the exact token: a mistake around it, or its expiry, is still found', async () => {
    const verifier = t.app.deps.serviceAccounts;
    const oauth = t.app.deps.oauthTokens;
    const jwt = await token(['read:suppliers'], { lifetime: 120 });
    assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    const { hits, misses } = verifier;
    const oauthCounts = { hits: oauth.hits, misses: oauth.misses };
    assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(verifier.hits, hits + 1, 'served from the cache');
    assert.equal(verifier.misses, misses);
    assert.deepEqual(
      { hits: oauth.hits, misses: oauth.misses },
      oauthCounts,
      'looking in every verifier’s cache counts no miss in the OAuth one',
    );
    // Cached, yet sent with a stray space: the mistake is named, as for any token.
    const spaced = await t.inject({
      method: 'GET',
      url: '/v1/suppliers',
      headers: { authorization: `Bearer  ${jwt}` },
    });
    assert.equal(spaced.statusCode, 401);
    assert.equal(spaced.json().code, 'invalid_credential');
    assert.match(spaced.json().detail, /starts with a space/);
    // Past its exp (and the 60 s of skew allowed): refused, though it was cached a moment ago.
    clock.advance(181_000);
    const late = await t.call(jwt, 'GET', '/v1/suppliers');
    assert.equal(late.statusCode, 401);
    assert.equal(late.json().code, 'expired_credential');
  });

  test('the key’s last_used_at is recorded without a write per request, and stored on flush', async () => {
    const fresh = await generateKey(t, org.adminKey, account.id);
    const idle = await generateKey(t, org.adminKey, account.id);
    const lastUsedInDb = async (kid: string) =>
      (
        await t.app.deps.db
          .selectFrom('service_account_keys')
          .select('last_used_at')
          .where('id', '=', kid)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    assert.equal(await lastUsedInDb(fresh.private_key_id), null);

    clock.advance(5000);
    const usedAt = clock.now();
    const jwt = await token(['read:suppliers'], {}, await signerOf(fresh));
    assert.equal((await t.call(jwt, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(await lastUsedInDb(fresh.private_key_id), null, 'no write on the request path');

    await t.app.deps.usage.flush();
    assert.equal(await lastUsedInDb(fresh.private_key_id), isoAt(usedAt));
    assert.equal(await lastUsedInDb(idle.private_key_id), null);
    const keys = await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}/keys`);
    const listed = keys.json<{ data: KeyObjectJson[] }>().data;
    assert.equal(listed.find((k) => k.id === fresh.private_key_id)?.last_used_at, apiTimeOf(usedAt));
    assert.equal(listed.find((k) => k.id === idle.private_key_id)?.last_used_at, null);
  });
});
