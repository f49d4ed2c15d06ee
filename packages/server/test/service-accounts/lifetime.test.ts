/**
 * Service-account key lifetimes follow the rules of API keys (issue 21 item 14, DESIGN §5.1) on every
 * engine: with no maximum lifetime a key without `expires_at` / `expires_in_days` never expires, as an API
 * key does; under the organization's `max_key_lifetime_days` a key must ask for an expiry within the cap,
 * generated and uploaded keys alike, refused with the very 400s (field and message) that `POST /v1/api-keys`
 * gives; a change of the policy applies to the next key at once; the expiry is in the response and the list
 * (`service-account.json` keeps its documented members: a generated key's expiry is read from the list); and
 * once a key has expired, tokens it signs are a 401 `expired_credential`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { apiTimeOf } from '../support/problem.ts';
import {
  type AccountObject,
  assertProblem,
  createAccount,
  type KeyObjectJson,
  mint,
  type Problem,
  type ServiceAccountJson,
  signerOf,
} from './fixtures.ts';

const DAY_MS = 86_400_000;

forEachEngine('service-account key lifetime', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
  });
  after(() => t.close());

  const keysUrl = (accountId: string) => `/v1/service-accounts/${accountId}/keys`;

  async function setMaxLifetime(org: TestOrg, days: number | null): Promise<void> {
    const res = await t.call(org.adminKey, 'PATCH', '/v1/organization', {
      policy: { max_key_lifetime_days: days },
    });
    assert.equal(res.statusCode, 200, res.body);
  }

  async function generate(org: TestOrg, accountId: string, body: object): Promise<ServiceAccountJson> {
    const res = await t.call(org.adminKey, 'POST', keysUrl(accountId), body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ServiceAccountJson>();
  }

  async function listedExpiry(org: TestOrg, accountId: string, keyId: string): Promise<string | null> {
    const res = await t.call(org.adminKey, 'GET', keysUrl(accountId));
    assert.equal(res.statusCode, 200, res.body);
    const key = res.json<{ data: KeyObjectJson[] }>().data.find((k) => k.id === keyId);
    assert.ok(key, `${keyId} is not listed`);
    return key.expires_at;
  }

  const publicKey = () =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();

  /** The same lifetime body sent to `POST /v1/api-keys`: the refusal a service-account key must match. */
  async function apiKeyRefusal(org: TestOrg, lifetime: object): Promise<LightMyRequestResponse> {
    return t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'twin', scopes: ['read:*'], ...lifetime });
  }

  /** A 400 naming `field`, with the same errors as an API key asking for that lifetime gets. */
  async function refusedAsApiKeys(
    org: TestOrg,
    res: LightMyRequestResponse,
    lifetime: object,
    field: string,
  ): Promise<Problem> {
    const problem = assertProblem(res, 400, 'validation_failed', field);
    const twin = assertProblem(await apiKeyRefusal(org, lifetime), 400, 'validation_failed', field);
    assert.deepEqual(problem.errors, twin.errors);
    assert.equal(problem.detail, twin.detail);
    return problem;
  }

  test('without a maximum lifetime, a key with no expiry never expires, as an API key does', async () => {
    const org = await createOrg(t.app);
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const file = await generate(org, account.id, {});
    assert.equal(await listedExpiry(org, account.id, file.private_key_id), null);
    const created = await t.call(org.adminKey, 'POST', '/v1/api-keys', { name: 'twin', scopes: ['read:*'] });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json<{ expires_at: string | null }>().expires_at, null);
  });

  test('explicit expiry: expires_in_days and a plain date (its end in UTC), in the response and the list', async () => {
    const org = await createOrg(t.app);
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const now = clock.now();
    const inDays = await generate(org, account.id, { expires_in_days: 45 });
    assert.equal(await listedExpiry(org, account.id, inDays.private_key_id), apiTimeOf(now + 45 * DAY_MS));
    const day = new Date(now + 60 * DAY_MS).toISOString().slice(0, 10);
    const res = await t.call(org.adminKey, 'POST', keysUrl(account.id), {
      public_key: publicKey(),
      expires_at: day,
    });
    assert.equal(res.statusCode, 201, res.body);
    const uploaded = res.json<KeyObjectJson>();
    assert.equal(uploaded.expires_at, `${day}T23:59:59Z`);
    assert.equal(await listedExpiry(org, account.id, uploaded.id), `${day}T23:59:59Z`);
  });

  test('under a maximum lifetime: no expiry, or a later one, is the 400 an API key gets; within it is 201', async () => {
    const org = await createOrg(t.app);
    const account = await createAccount(t, org.adminKey, ['read:*']);
    await setMaxLifetime(org, 30);
    const now = clock.now();

    // Neither field: the org requires keys to expire. An empty POST and `{}` are the same request.
    const empty = await t.inject({
      method: 'POST',
      url: keysUrl(account.id),
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    const missing = await refusedAsApiKeys(org, empty, {}, 'body/expires_at');
    assert.equal(
      missing.errors?.[0]?.message,
      'expires_at or expires_in_days is required: your organization requires keys to expire within 30 days',
    );
    await refusedAsApiKeys(
      org,
      await t.call(org.adminKey, 'POST', keysUrl(account.id), {}),
      {},
      'body/expires_at',
    );

    // Past the cap, by days or by date; an uploaded key too.
    const tooLong = { expires_in_days: 31 };
    const overDays = await refusedAsApiKeys(
      org,
      await t.call(org.adminKey, 'POST', keysUrl(account.id), tooLong),
      tooLong,
      'body/expires_in_days',
    );
    assert.match(overDays.errors?.[0]?.message ?? '', /maximum key lifetime of 30 days/);
    const lateDate = { expires_at: new Date(now + 31 * DAY_MS).toISOString().slice(0, 10) };
    await refusedAsApiKeys(
      org,
      await t.call(org.adminKey, 'POST', keysUrl(account.id), { public_key: publicKey(), ...lateDate }),
      lateDate,
      'body/expires_at',
    );
    await refusedAsApiKeys(
      org,
      await t.call(org.adminKey, 'POST', keysUrl(account.id), { public_key: publicKey() }),
      {},
      'body/expires_at',
    );
    // The cap's own checks come after the usual ones: both fields at once is still that 400.
    const both = { expires_in_days: 10, expires_at: lateDate.expires_at };
    await refusedAsApiKeys(
      org,
      await t.call(org.adminKey, 'POST', keysUrl(account.id), both),
      both,
      'body/expires_at',
    );

    const refused = await t.call(org.adminKey, 'GET', keysUrl(account.id));
    assert.deepEqual(refused.json<{ data: unknown[] }>().data, [], 'a refused request made no key');

    // At the cap exactly, and below it.
    const atCap = await generate(org, account.id, { expires_in_days: 30 });
    assert.equal(await listedExpiry(org, account.id, atCap.private_key_id), apiTimeOf(now + 30 * DAY_MS));
    const res = await t.call(org.adminKey, 'POST', keysUrl(account.id), {
      public_key: publicKey(),
      expires_in_days: 7,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json<KeyObjectJson>().expires_at, apiTimeOf(now + 7 * DAY_MS));
  });

  test('a change of the policy applies to the next key at once, and only to new keys', async () => {
    const org = await createOrg(t.app);
    const account = await createAccount(t, org.adminKey, ['read:*']);
    const before = await generate(org, account.id, {});
    await setMaxLifetime(org, 10);
    assertProblem(
      await t.call(org.adminKey, 'POST', keysUrl(account.id), { expires_in_days: 11 }),
      400,
      'validation_failed',
      'body/expires_in_days',
    );
    // A key made before the cap keeps its (missing) expiry: the security report lists it.
    assert.equal(await listedExpiry(org, account.id, before.private_key_id), null);
    await setMaxLifetime(org, null);
    const lifted = await generate(org, account.id, {});
    assert.equal(await listedExpiry(org, account.id, lifted.private_key_id), null);
  });

  test('another org’s cap does not bind this org, and its account is a 404 whatever the body', async () => {
    const capped = await createOrg(t.app);
    const free = await createOrg(t.app);
    await setMaxLifetime(capped, 5);
    const theirs = await createAccount(t, capped.adminKey, ['read:*']);
    const ours = await createAccount(t, free.adminKey, ['read:*']);
    const file = await generate(free, ours.id, { expires_in_days: 365 });
    assert.equal(
      await listedExpiry(free, ours.id, file.private_key_id),
      apiTimeOf(clock.now() + 365 * DAY_MS),
    );
    for (const body of [{}, { expires_in_days: 1 }, { expires_in_days: 365 }]) {
      assertProblem(await t.call(free.adminKey, 'POST', keysUrl(theirs.id), body), 404, 'not_found');
    }
    assertProblem(await t.call(free.adminKey, 'GET', keysUrl(theirs.id)), 404, 'not_found');
  });

  // Last: it moves the clock past the keys' expiry.
  test('a key made under the cap stops signing accepted tokens when it expires: 401 expired_credential', async () => {
    const org = await createOrg(t.app);
    const account: AccountObject = await createAccount(t, org.adminKey, ['read:*']);
    await setMaxLifetime(org, 2);
    const file = await generate(org, account.id, { expires_in_days: 2 });
    const signer = await signerOf(file);
    const claims = {
      sub: account.id,
      org_id: org.orgId,
      iss: t.config.issuer,
      aud: t.config.audience,
      scopes: ['read:suppliers'],
    };
    const fresh = await t.call(await mint(signer, claims, clock.now()), 'GET', '/v1/suppliers');
    assert.equal(fresh.statusCode, 200, fresh.body);

    clock.advance(2 * DAY_MS + 1000);
    // A token minted now is itself valid (iat now, exp in 10 minutes): only its key has expired.
    const late = await t.call(await mint(signer, claims, clock.now()), 'GET', '/v1/suppliers');
    const problem = assertProblem(late, 401, 'expired_credential');
    assert.match(problem.detail ?? '', /signing key has expired/);
    // The expired key is no longer listed as active in the report either (it counts as gone).
    const report = await t.call(org.adminKey, 'GET', '/v1/security/report');
    assert.equal(report.statusCode, 200, report.body);
    assert.ok(!report.body.includes(file.private_key_id), 'an expired key is in no check');
  });
});
