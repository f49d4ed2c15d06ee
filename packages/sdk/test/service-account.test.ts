/**
 * Service accounts through the SDK: `service-account.json` from the server, the JWTs `generateToken`
 * signs (DESIGN §3, exactly), a client that mints, reuses and renews its own tokens, and refusals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { ServiceAccount } from '../src/auth/index.ts';
import { AuthenticationError, Cohera, CoheraError, type ServiceAccountFile } from '../src/index.ts';
import { recordingFetch, type SdkTestServer, startServer } from './support/server.ts';

describe('service accounts', () => {
  let s: SdkTestServer;
  let admin: Cohera;
  let file: ServiceAccountFile;
  let accountId: string;
  const dir = mkdtempSync(join(tmpdir(), 'cohera-sdk-sa-'));
  before(async () => {
    s = await startServer();
    admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const account = await admin.serviceAccounts.create({
      name: 'inventory-sync',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    accountId = account.id;
    file = await admin.serviceAccounts.createKey(account.id);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await s.close();
  });

  test('fromFile + generateToken: the JWT carries exactly the documented header and claims', async () => {
    const path = join(dir, 'service-account.json');
    writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
    const sa = await ServiceAccount.fromFile(path);
    assert.equal(sa.id, accountId);
    const token = await sa.generateToken({ scopes: ['read:certificates'], expiresIn: 600 });

    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: file.private_key_id });
    const claims = decodeJwt(token);
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'org_id', 'scopes', 'sub']);
    assert.equal(claims.iss, 'cohera.io');
    assert.equal(claims.aud, 'https://api.cohera.io');
    assert.equal(claims.sub, accountId);
    assert.equal(claims.org_id, s.org.orgId);
    assert.deepEqual(claims.scopes, ['read:certificates']);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 600);

    // Signed by the private key whose public half the server holds.
    const [registered] = (await admin.serviceAccounts.listKeys(accountId)).data;
    assert.ok(registered);
    await jwtVerify(token, await importSPKI(registered.public_key, 'ES256'), {
      audience: 'https://api.cohera.io',
    });

    const client = new Cohera({ accessToken: token, baseUrl: s.baseUrl });
    assert.deepEqual((await client.whoami()).scopes, ['read:certificates']);
    await client.certificates.list();
  });

  test('generateToken refuses what the server would: no scopes, over an hour, not whole seconds', async () => {
    const sa = await ServiceAccount.fromJSON(file);
    await assert.rejects(sa.generateToken({ scopes: [] }), TypeError);
    await assert.rejects(sa.generateToken({ scopes: ['read:suppliers'], expiresIn: 3601 }), RangeError);
    await assert.rejects(sa.generateToken({ scopes: ['read:suppliers'], expiresIn: 1.5 }), RangeError);
    const hour = decodeJwt(await sa.generateToken({ scopes: ['read:suppliers'] }));
    assert.equal((hour.exp ?? 0) - (hour.iat ?? 0), 3600);
  });

  test('the server refuses a token beyond the account’s ceiling, and a tampered one', async () => {
    const sa = await ServiceAccount.fromJSON(file);
    const beyond = new Cohera({
      accessToken: await sa.generateToken({ scopes: ['write:suppliers'] }),
      baseUrl: s.baseUrl,
    });
    const error = await beyond.suppliers.list().catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.code, 'invalid_credential');

    const token = await sa.generateToken({ scopes: ['read:suppliers'] });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, scopes: ['admin'] })).toString('base64url');
    const tampered = new Cohera({ accessToken: `${header}.${forged}.${signature}`, baseUrl: s.baseUrl });
    await assert.rejects(tampered.suppliers.list(), AuthenticationError);
  });

  test('a serviceAccount client mints one token, shares it across concurrent requests, renews it', async () => {
    const sa = await ServiceAccount.fromJSON(file);
    const recorder = recordingFetch();
    const client = new Cohera({
      serviceAccount: sa,
      scopes: ['read:suppliers'],
      tokenLifetime: 2,
      fetch: recorder.fetch,
    });
    await Promise.all([1, 2, 3, 4, 5].map(() => client.suppliers.list()));
    const tokens = () => new Set(recorder.requests.map((r) => r.headers.get('authorization')));
    assert.equal(tokens().size, 1, 'one token for all five requests');
    const first = [...tokens()][0]?.slice('Bearer '.length) ?? '';
    const claims = decodeJwt(first);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 2);

    // Renewed once half its (2 s) life is gone, before the server would refuse it.
    await sleep(1_100);
    await client.suppliers.list();
    assert.equal(tokens().size, 2);
  });

  test('a refused minted token is renewed once, then the error is thrown', async () => {
    const account = await admin.serviceAccounts.create({ name: 'short-lived', scopes: ['read:suppliers'] });
    const keyFile = await admin.serviceAccounts.createKey(account.id);
    const recorder = recordingFetch();
    const client = new Cohera({
      serviceAccount: await ServiceAccount.fromJSON(keyFile),
      scopes: ['read:suppliers'],
      fetch: recorder.fetch,
    });
    await client.suppliers.list();
    await admin.serviceAccounts.deleteKey(account.id, keyFile.private_key_id);
    recorder.requests.length = 0;
    await assert.rejects(client.suppliers.list(), AuthenticationError);
    assert.equal(recorder.requests.length, 2, 'one renewal, not a loop');
    const [a, b] = recorder.requests.map((r) => r.headers.get('authorization'));
    assert.notEqual(a, b);
  });

  test('needs scopes; the private key never shows (JSON, inspect, errors)', async () => {
    const sa = await ServiceAccount.fromJSON(JSON.stringify(file));
    assert.throws(() => new Cohera({ serviceAccount: sa }), /scopes/);
    assert.throws(
      () => new Cohera({ serviceAccount: sa, scopes: ['read:suppliers'], tokenLifetime: 7200 }),
      RangeError,
    );
    const keyBody = file.private_key.split('\n')[1] ?? '';
    assert.ok(keyBody.length > 20);
    assert.ok(!JSON.stringify(sa).includes(keyBody));
    assert.ok(!inspect(sa, { depth: 10, showHidden: true }).includes(keyBody));
    assert.deepEqual(JSON.parse(JSON.stringify(sa)).service_account_id, accountId);
  });

  test('fromJSON refuses bad files with a clear message that never repeats the key', async () => {
    const cases: [string, unknown][] = [
      ['not JSON', '{"type":'],
      ['type', { ...file, type: 'user' }],
      ['algorithm', { ...file, algorithm: 'HS256' }],
      ['"private_key" is missing', { ...file, private_key: undefined }],
      ['"private_key_id" is not valid', { ...file, private_key_id: 'key_1' }],
      [
        'not a PKCS#8',
        { ...file, private_key: `${file.private_key.slice(0, 60)}AAAA${file.private_key.slice(64)}` },
      ],
      ['not a PKCS#8 RS256', { ...file, algorithm: 'RS256' }],
    ];
    for (const [expected, input] of cases) {
      const error = await ServiceAccount.fromJSON(input as ServiceAccountFile).catch((e: unknown) => e);
      assert.ok(error instanceof CoheraError, expected);
      assert.equal(error.code, 'invalid_service_account');
      assert.ok(error.message.includes(expected), `${error.message} should mention ${expected}`);
      assert.ok(!error.message.includes(file.private_key.slice(40, 80)));
    }
    const missing = await ServiceAccount.fromFile(join(dir, 'nope.json')).catch((e: unknown) => e);
    assert.ok(missing instanceof CoheraError);
    assert.equal(missing.code, 'invalid_service_account');
  });
});
