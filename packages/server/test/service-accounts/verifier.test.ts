/**
 * The service-account verifier's attack catalogue (DESIGN §3, issue 5): every way to forge, stretch or
 * replay a token, each its own test and each a 401. Each attack changes exactly one thing of a token that
 * the first test shows is accepted, so a pass means that one rule held.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { newId } from '@cohera/shared';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  type AccountObject,
  assertProblem,
  b64url,
  createAccount,
  generateKey,
  type KeyObjectJson,
  type MintOptions,
  mint,
  partsOf,
  type ServiceAccountJson,
  type Signer,
  signerOf,
} from './fixtures.ts';

const DAY_MS = 86_400_000;

forEachEngine('service-account verifier', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let other: TestOrg;
  let account: AccountObject;
  let sibling: AccountObject;
  let file: ServiceAccountJson;
  let signer: Signer;
  let siblingSigner: Signer;
  let foreignSigner: Signer;

  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    account = await createAccount(t, org.adminKey, ['read:*', 'write:suppliers']);
    sibling = await createAccount(t, org.adminKey, ['read:*']);
    const foreign = await createAccount(t, other.adminKey, ['read:*']);
    file = await generateKey(t, org.adminKey, account.id);
    signer = await signerOf(file);
    siblingSigner = await signerOf(await generateKey(t, org.adminKey, sibling.id));
    foreignSigner = await signerOf(await generateKey(t, other.adminKey, foreign.id));
  });
  after(() => t.close());

  const claimsFor = (acc: AccountObject, orgId: string, scopes: string[] = ['read:suppliers']) => ({
    sub: acc.id,
    org_id: orgId,
    iss: t.config.issuer,
    aud: t.config.audience,
    scopes,
  });
  /** The reference token of this suite, with one thing changed by `options`. */
  const token = (options: MintOptions = {}, by: Signer = signer) =>
    mint(by, claimsFor(account, org.orgId), clock.now(), options);
  const use = (jwt: string): Promise<LightMyRequestResponse> => t.call(jwt, 'GET', '/v1/suppliers');
  async function rejected(jwt: string, code = 'invalid_credential', detail?: RegExp) {
    const problem = assertProblem(await use(jwt), 401, code);
    if (detail) assert.match(problem.detail ?? '', detail);
    // The token must not come back in the answer.
    assert.ok(!JSON.stringify(problem).includes(jwt));
  }
  async function accepted(jwt: string) {
    const res = await use(jwt);
    assert.equal(res.statusCode, 200, res.body);
  }
  const publicKeyOf = async (accountId: string, kid: string): Promise<string> => {
    const res = await t.call(org.adminKey, 'GET', `/v1/service-accounts/${accountId}/keys`);
    const key = res.json<{ data: KeyObjectJson[] }>().data.find((k) => k.id === kid);
    assert.ok(key, `key ${kid} is listed`);
    return key.public_key;
  };

  test('control: the unaltered token is accepted', async () => {
    await accepted(await token());
    const res = await t.call(await token(), 'GET', '/health');
    assert.equal(res.json().auth.id, account.id);
  });

  test('alg "none" (unsigned) is rejected', async () => {
    const [header, payload] = partsOf(await token());
    const decodedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const none = b64url({ ...decodedHeader, alg: 'none' });
    await rejected(`${none}.${payload}.`);
    // …and with something in the signature slot, so the JWT verifier itself has to refuse it.
    await rejected(`${none}.${payload}.${b64url('signature')}`, 'invalid_credential', /ES256/);
  });

  test('HS256 signed with the public key PEM as the HMAC secret is rejected', async () => {
    const pem = await publicKeyOf(account.id, file.private_key_id);
    const hmac: Signer = { kid: file.private_key_id, alg: 'HS256', key: new TextEncoder().encode(pem) };
    await rejected(await token({}, hmac), 'invalid_credential', /ES256/);
  });

  test('an RS256 token naming an ES256 key is rejected', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await rejected(
      await token({}, { kid: file.private_key_id, alg: 'RS256', key: privateKey }),
      'invalid_credential',
      /ES256/,
    );
    const ed = generateKeyPairSync('ed25519').privateKey;
    await rejected(await token({}, { kid: file.private_key_id, alg: 'EdDSA', key: ed }));
  });

  test('an expired token is rejected as expired_credential', async () => {
    await rejected(await token({ iat: -600, lifetime: 480 }), 'expired_credential');
  });

  test('iat 120 s in the future is rejected (60 s of skew is allowed)', async () => {
    await rejected(await token({ iat: 120 }), 'invalid_credential', /"iat"/);
    await accepted(await token({ iat: 30 }));
  });

  test('a lifetime of 7200 s is rejected (3600 s is the most)', async () => {
    await rejected(await token({ lifetime: 7200 }), 'invalid_credential', /3600/);
    await accepted(await token({ lifetime: 3600 }));
  });

  test('a token without exp, iat or sub is rejected', async () => {
    for (const claim of ['exp', 'iat', 'sub']) {
      await rejected(
        await token({ claims: { [claim]: undefined } }),
        'invalid_credential',
        new RegExp(claim),
      );
    }
    await rejected(await token({ claims: { exp: String(Math.floor(clock.now() / 1000) + 60) } }));
  });

  test('a wrong aud is rejected', async () => {
    await rejected(await token({ claims: { aud: 'https://api.example.com' } }), 'invalid_credential', /aud/);
    await rejected(await token({ claims: { aud: undefined } }));
  });

  test('a wrong iss is rejected', async () => {
    await rejected(await token({ claims: { iss: 'evil.example' } }), 'invalid_credential', /iss/);
    await rejected(await token({ claims: { iss: undefined } }));
  });

  test('org_id of another org is rejected', async () => {
    await rejected(await token({ claims: { org_id: other.orgId } }), 'invalid_credential', /org_id/);
    await rejected(await token({ claims: { org_id: undefined } }), 'invalid_credential', /org_id/);
  });

  test('sub of another account of the same org is rejected', async () => {
    // Signed by this account's key but speaking for its sibling…
    await rejected(await token({ claims: { sub: sibling.id } }), 'invalid_credential', /"sub"/);
    // …or signed by the sibling's (or another org's) key but speaking for this account.
    await rejected(await token({}, siblingSigner), 'invalid_credential', /"sub"/);
    await rejected(await token({}, foreignSigner), 'invalid_credential', /"sub"/);
  });

  test('scopes beyond the account ceiling are rejected', async () => {
    await rejected(
      await token({ claims: { scopes: ['write:certificates'] } }),
      'invalid_credential',
      /beyond/,
    );
    await rejected(await token({ claims: { scopes: ['read:*', 'admin'] } }));
    await rejected(await token({ claims: { scopes: ['write:*'] } }));
    // The whole ceiling is fine.
    await accepted(await token({ claims: { scopes: ['read:*', 'write:suppliers'] } }));
  });

  test('non-array, empty, missing or unknown scopes are rejected', async () => {
    for (const scopes of ['read:suppliers', 'read:suppliers write:suppliers', [], ['read:everything'], [1]]) {
      await rejected(await token({ claims: { scopes } }), 'invalid_credential', /"scopes"/);
    }
    await rejected(await token({ claims: { scopes: undefined } }), 'invalid_credential', /"scopes"/);
  });

  test('an unknown kid is rejected', async () => {
    const unknown = newId('service_account_key', clock.now());
    await rejected(await token({ header: { kid: unknown } }), 'invalid_credential', /unknown key/);
  });

  test('a missing or malformed kid is rejected', async () => {
    await rejected(await token({ header: { kid: undefined } }), 'invalid_credential', /kid/);
    await rejected(await token({ header: { kid: account.id } }), 'invalid_credential', /kid/);
    await rejected(await token({ header: { kid: 42 } }), 'invalid_credential', /kid/);
  });

  test('a header that is not a JSON object is a 401, never a 500', async () => {
    const [, payload, signature] = partsOf(await token());
    for (const header of [b64url('null'), b64url('[]'), b64url('"x"'), b64url('{'), 'AAAA']) {
      await rejected(`${header}.${payload}.${signature}`);
    }
  });

  test('a payload altered after signing is rejected', async () => {
    const [header, payload, signature] = partsOf(await token());
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    // Within the ceiling, so only the signature can catch it.
    const widened = b64url({ ...claims, scopes: ['read:*', 'write:suppliers'] });
    await rejected(`${header}.${widened}.${signature}`, 'invalid_credential', /signature/);
    const stretched = b64url({ ...claims, exp: claims.exp + 60 });
    await rejected(`${header}.${stretched}.${signature}`, 'invalid_credential', /signature/);
  });

  test('a deleted key is revoked_credential, even for a token already cached', async () => {
    const doomed = await signerOf(await generateKey(t, org.adminKey, account.id));
    const cached = await token({}, doomed);
    await accepted(cached);
    const hits = t.app.deps.serviceAccounts.hits;
    await accepted(cached);
    assert.equal(t.app.deps.serviceAccounts.hits, hits + 1, 'the token was served from the cache');

    const res = await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}/keys/${doomed.kid}`);
    assert.equal(res.statusCode, 204, res.body);
    await rejected(cached, 'revoked_credential');
    await rejected(await token({ lifetime: 300 }, doomed), 'revoked_credential');
    // The account's other key is untouched.
    await accepted(await token());
  });

  test('a deleted account is revoked_credential, even for a token already cached', async () => {
    const doomedAccount = await createAccount(t, org.adminKey, ['read:*']);
    const doomed = await signerOf(await generateKey(t, org.adminKey, doomedAccount.id));
    const mintFor = (options: MintOptions = {}) =>
      mint(doomed, claimsFor(doomedAccount, org.orgId), clock.now(), options);
    const cached = await mintFor();
    await accepted(cached);
    await accepted(cached);

    const res = await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${doomedAccount.id}`);
    assert.equal(res.statusCode, 204, res.body);
    await rejected(cached, 'revoked_credential');
    await rejected(await mintFor({ lifetime: 300 }), 'revoked_credential');
  });

  // Last: it moves the clock a day on.
  test('an expired key is rejected, even for a cached token that has not expired itself', async () => {
    const res = await t.call(org.adminKey, 'POST', `/v1/service-accounts/${account.id}/keys`, {
      expires_in_days: 1,
    });
    assert.equal(res.statusCode, 201, res.body);
    const expiring = await signerOf(res.json<ServiceAccountJson>());

    clock.advance(DAY_MS - 10 * 60_000); // ten minutes before the key expires
    const cached = await token({ lifetime: 3600 }, expiring); // the token itself lives 50 min past the key
    await accepted(cached);
    clock.advance(11 * 60_000);
    await rejected(cached, 'expired_credential');
    await rejected(await token({ lifetime: 300 }, expiring), 'expired_credential', /key/);
    // A key without expiry still works at this time.
    await accepted(await token());
  });
});
