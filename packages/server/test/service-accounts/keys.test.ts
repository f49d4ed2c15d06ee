/**
 * Service-account keys on every engine (DESIGN §3, §4): a generated pair comes back once as
 * `service-account.json` and its private half is kept nowhere (rows, SQLite files, responses, logs);
 * uploaded public keys are ES256, RS256 ≥ 2048 or EdDSA and anything else is a 400 naming the field; at
 * most 10 active keys; optional expiry; deletion.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSPKI, generateKeyPair } from 'jose';
import { ManualClock } from '../../src/clock.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  type AccountObject,
  assertProblem,
  createAccount,
  FILE_KEYS,
  generateKey,
  type KeyObjectJson,
  mint,
  type ServiceAccountJson,
  signerOf,
  uploadKey,
} from './fixtures.ts';

const DAY_MS = 86_400_000;
const apiTimeOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const KEY_FIELDS = [
  'algorithm',
  'created_at',
  'expires_at',
  'id',
  'last_used_at',
  'object',
  'origin',
  'public_key',
  'service_account_id',
];

/** Issuer, audience and URL unlike the defaults, to show the file takes them from configuration. */
const ENV = {
  COHERA_ISSUER: 'issuer.keys-test.example',
  COHERA_AUDIENCE: 'https://api.keys-test.example',
  COHERA_PUBLIC_URL: 'https://cohera.keys-test.example',
  COHERA_LOG_LEVEL: 'trace',
};

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const pemBody = (pem: string) => pem.split('\n').filter((line) => line && !line.startsWith('-----'));

/** The forms a private key could leak in: its PEM lines, whole body, DER, and the private scalar. */
function privateNeedles(pem: string): { text: string[]; bytes: Buffer[] } {
  const key = createPrivateKey(pem);
  const jwk = key.export({ format: 'jwk' });
  assert.ok(typeof jwk.d === 'string');
  const d = Buffer.from(jwk.d, 'base64url');
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const lines = pemBody(pem);
  return {
    text: [...lines, lines.join(''), jwk.d, d.toString('base64'), d.toString('hex')],
    bytes: [d, der],
  };
}

forEachEngine('service-account keys', (engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let account: AccountObject;
  let logStart = 0;
  /** Every generated `service-account.json` of the suite: their private keys must be nowhere. */
  const files: ServiceAccountJson[] = [];
  /** Every response body of the suite except the ones that hand out a file. */
  const bodies: string[] = [];

  before(async () => {
    logStart = capturedLogs.length;
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock, env: ENV });
    org = await createOrg(t.app);
    account = await createAccount(t, org.adminKey, ['read:*', 'write:suppliers']);
  });
  after(() => t.close());

  const keysUrl = (id: string) => `/v1/service-accounts/${id}/keys`;
  async function listKeys(accountId: string): Promise<KeyObjectJson[]> {
    const res = await t.call(org.adminKey, 'GET', keysUrl(accountId));
    assert.equal(res.statusCode, 200, res.body);
    bodies.push(res.body);
    const page = res.json<{ data: KeyObjectJson[]; next_cursor: null }>();
    assert.equal(page.next_cursor, null);
    return page.data;
  }
  /** Records a response: a `service-account.json` may carry its own private key, and nothing else may. */
  function record(body: string): void {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'private_key' in parsed) {
      const { private_key: _own, ...rest } = parsed;
      bodies.push(JSON.stringify(rest));
    } else {
      bodies.push(body);
    }
  }
  const post = async (accountId: string, body: unknown) => {
    const res = await t.call(org.adminKey, 'POST', keysUrl(accountId), body);
    record(res.body);
    return res;
  };

  test('an empty POST generates an ES256 pair and returns service-account.json once', async () => {
    const res = await t.inject({
      method: 'POST',
      url: keysUrl(account.id),
      headers: { authorization: `Bearer ${org.adminKey}` },
    });
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.statusCode, 201, res.body);
    const file = res.json<ServiceAccountJson>();
    files.push(file);
    assert.deepEqual(Object.keys(file).sort(), FILE_KEYS);
    assert.equal(file.type, 'service_account');
    assert.equal(file.service_account_id, account.id);
    assert.equal(file.org_id, org.orgId);
    assert.match(file.private_key_id, /^sak_[0-9A-Za-z]{22}$/);
    assert.equal(file.algorithm, 'ES256');
    assert.equal(file.issuer, ENV.COHERA_ISSUER);
    assert.equal(file.audience, ENV.COHERA_AUDIENCE);
    assert.equal(file.api_base_url, ENV.COHERA_PUBLIC_URL);
    assert.equal(file.issuer, t.config.issuer);
    assert.equal(file.audience, t.config.audience);

    // PKCS#8 PEM of a P-256 key, whose public half is the one the server lists under the `kid`.
    assert.match(file.private_key, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
    const privateKey = createPrivateKey({ key: file.private_key, format: 'pem', type: 'pkcs8' });
    assert.equal(privateKey.asymmetricKeyType, 'ec');
    assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const listed = (await listKeys(account.id)).find((k) => k.id === file.private_key_id);
    assert.ok(listed);
    assert.equal(listed.public_key, spki(createPublicKey(privateKey)));
    assert.equal(listed.origin, 'generated');
    assert.equal(listed.algorithm, 'ES256');

    // The file is all a client needs: a token minted from it alone is accepted.
    const signer = await signerOf(file);
    const token = await mint(
      signer,
      {
        sub: file.service_account_id,
        org_id: file.org_id,
        iss: file.issuer,
        aud: file.audience,
        scopes: ['read:*'],
      },
      clock.now(),
    );
    const health = await t.call(token, 'GET', '/health');
    assert.equal(health.statusCode, 200, health.body);
    assert.equal(health.json().auth.kind, 'service_account');
  });

  test('a POST with {} generates a pair too; the key list never shows private material', async () => {
    clock.advance(1000); // ids sort by time: newest first is then well defined
    const res = await post(account.id, {});
    assert.equal(res.statusCode, 201, res.body);
    const file = res.json<ServiceAccountJson>();
    files.push(file);
    assert.deepEqual(Object.keys(file).sort(), FILE_KEYS);
    assert.notEqual(file.private_key, files[0]?.private_key);

    const keys = await listKeys(account.id);
    // Newest first.
    assert.deepEqual(
      keys.slice(0, 2).map((k) => k.id),
      [file.private_key_id, files[0]?.private_key_id],
    );
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), KEY_FIELDS);
      assert.equal(key.object, 'service_account_key');
      assert.equal(key.service_account_id, account.id);
      assert.match(key.public_key, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.doesNotMatch(JSON.stringify(key), /PRIVATE/);
    }
    const got = await t.call(org.adminKey, 'GET', `/v1/service-accounts/${account.id}`);
    bodies.push(got.body);
  });

  test('uploads: ES256 (P-256), RS256 (2048), EdDSA (Ed25519) public keys are registered', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    const cases = [
      { pem: await exportSPKI(es.publicKey), algorithm: 'ES256' },
      { pem: spki(rsa.publicKey), algorithm: 'RS256' },
      { pem: spki(ed.publicKey), algorithm: 'EdDSA' },
    ];
    for (const { pem, algorithm } of cases) {
      const key = await uploadKey(t, org.adminKey, account.id, { public_key: pem });
      bodies.push(JSON.stringify(key));
      assert.deepEqual(Object.keys(key).sort(), KEY_FIELDS);
      assert.match(key.id, /^sak_[0-9A-Za-z]{22}$/);
      assert.equal(key.algorithm, algorithm);
      assert.equal(key.origin, 'uploaded');
      assert.equal(key.public_key.trim(), pem.trim());
      assert.equal(key.created_at, apiTimeOf(clock.now()));
      assert.equal(key.expires_at, null);
      assert.equal(key.last_used_at, null);
      // Naming the algorithm that matches is accepted too.
      const named = await uploadKey(t, org.adminKey, account.id, { public_key: pem, algorithm });
      assert.equal(named.algorithm, algorithm);
      await t.call(org.adminKey, 'DELETE', `${keysUrl(account.id)}/${named.id}`);
    }
    const listed = await listKeys(account.id);
    for (const { algorithm } of cases) {
      assert.ok(listed.some((k) => k.algorithm === algorithm && k.origin === 'uploaded'));
    }
  });

  test('uploads that are not an acceptable public key are a 400 naming the field', async () => {
    const pub = (key: KeyObject) => spki(key);
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      [
        'RSA 1024',
        { public_key: pub(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey) },
        'body/public_key',
        /1024-bit/,
      ],
      [
        'P-384',
        { public_key: pub(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey) },
        'body/public_key',
        /secp384r1|P-256/,
      ],
      [
        'secp256k1',
        { public_key: pub(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey) },
        'body/public_key',
        /P-256/,
      ],
      ['X25519', { public_key: pub(generateKeyPairSync('x25519').publicKey) }, 'body/public_key', /x25519/],
      [
        'a PKCS#8 private key',
        { public_key: ecKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        'body/public_key',
        /private key/,
      ],
      [
        'a SEC1 private key',
        { public_key: ecKey.privateKey.export({ type: 'sec1', format: 'pem' }).toString() },
        'body/public_key',
        /private key/,
      ],
      ['garbage', { public_key: 'not a key at all' }, 'body/public_key', /PEM/],
      ['a truncated PEM', { public_key: pub(ecKey.publicKey).slice(0, 60) }, 'body/public_key', /PEM/],
      ['an empty key', { public_key: '' }, 'body/public_key', /./],
      [
        'algorithm RS256 for an EC key',
        { public_key: pub(ecKey.publicKey), algorithm: 'RS256' },
        'body/algorithm',
        /ES256/,
      ],
      [
        'algorithm EdDSA for an RSA key',
        { public_key: pub(rsa2048.publicKey), algorithm: 'EdDSA' },
        'body/algorithm',
        /RS256/,
      ],
      ['algorithm HS256', { public_key: pub(ecKey.publicKey), algorithm: 'HS256' }, 'body/algorithm', /./],
      ['algorithm none', { public_key: pub(ecKey.publicKey), algorithm: 'none' }, 'body/algorithm', /./],
      ['algorithm without a key', { algorithm: 'ES256' }, 'body/algorithm', /public_key/],
      ['an unknown field', { private_key: 'x' }, 'body/private_key', /./],
    ];
    const before = (await listKeys(account.id)).length;
    for (const [label, body, field, detail] of cases) {
      const problem = assertProblem(await post(account.id, body), 400, 'validation_failed', field);
      assert.match(problem.detail ?? '', detail, `${label}: ${problem.detail}`);
    }
    assert.equal((await listKeys(account.id)).length, before, 'no key was registered');
  });

  test('expiry: expires_in_days and expires_at are shown; bad expiry is a 400', async () => {
    const expiring = await createAccount(t, org.adminKey, ['read:*']);
    const now = clock.now();
    const res = await post(expiring.id, { expires_in_days: 30 });
    assert.equal(res.statusCode, 201, res.body);
    const file = res.json<ServiceAccountJson>();
    files.push(file);
    const ed = generateKeyPairSync('ed25519');
    const uploaded = await uploadKey(t, org.adminKey, expiring.id, {
      public_key: spki(ed.publicKey),
      expires_at: '2027-01-31',
    });
    // A plain date means the end of that day.
    assert.equal(uploaded.expires_at, '2027-01-31T23:59:59Z');
    const keys = await listKeys(expiring.id);
    assert.equal(keys.find((k) => k.id === file.private_key_id)?.expires_at, apiTimeOf(now + 30 * DAY_MS));
    assert.equal(keys.find((k) => k.id === uploaded.id)?.expires_at, '2027-01-31T23:59:59Z');

    const bad: [Record<string, unknown>, string][] = [
      [{ expires_in_days: 0 }, 'body/expires_in_days'],
      [{ expires_in_days: 3651 }, 'body/expires_in_days'],
      [{ expires_in_days: '30' }, 'body/expires_in_days'],
      [{ expires_at: apiTimeOf(now - 1000) }, 'body/expires_at'],
      [{ expires_at: 'tomorrow' }, 'body/expires_at'],
      [{ expires_at: '2027-02-31' }, 'body/expires_at'],
      [{ expires_at: '2027-01-31', expires_in_days: 30 }, 'body/expires_at'],
    ];
    for (const [body, field] of bad) {
      assertProblem(await post(expiring.id, body), 400, 'validation_failed', field);
    }
    assert.equal((await listKeys(expiring.id)).length, 2);
  });

  test('at most 10 active keys: the 11th is a 409; deleted and expired keys make room', async () => {
    const busy = await createAccount(t, org.adminKey, ['read:*']);
    const ed = () => spki(generateKeyPairSync('ed25519').publicKey);
    const first = await post(busy.id, { expires_in_days: 1 });
    assert.equal(first.statusCode, 201, first.body);
    files.push(first.json<ServiceAccountJson>());
    const uploaded: KeyObjectJson[] = [];
    for (let i = 1; i < 10; i++)
      uploaded.push(await uploadKey(t, org.adminKey, busy.id, { public_key: ed() }));
    assert.equal((await listKeys(busy.id)).length, 10);

    assertProblem(await post(busy.id, {}), 409, 'conflict');
    assertProblem(await post(busy.id, { public_key: ed() }), 409, 'conflict');
    assert.equal((await listKeys(busy.id)).length, 10);

    // Deleting one makes room for one.
    const victim = uploaded[0]; // not the expiring key: that one frees its place below
    assert.ok(victim);
    const deleted = await t.call(org.adminKey, 'DELETE', `${keysUrl(busy.id)}/${victim.id}`);
    assert.equal(deleted.statusCode, 204, deleted.body);
    await uploadKey(t, org.adminKey, busy.id, { public_key: ed() });
    assertProblem(await post(busy.id, { public_key: ed() }), 409, 'conflict');

    // Once the first key has expired it no longer counts.
    clock.advance(DAY_MS + 1000);
    await uploadKey(t, org.adminKey, busy.id, { public_key: ed() });
    assertProblem(await post(busy.id, { public_key: ed() }), 409, 'conflict');
  });

  test('delete a key: 204, gone from the list; again, or an id that is not a key, is a 404', async () => {
    const owner = await createAccount(t, org.adminKey, ['read:*']);
    const file = await generateKey(t, org.adminKey, owner.id);
    files.push(file);
    const url = `${keysUrl(owner.id)}/${file.private_key_id}`;
    const res = await t.call(org.adminKey, 'DELETE', url);
    assert.equal(res.statusCode, 204, res.body);
    assert.deepEqual(await listKeys(owner.id), []);
    assertProblem(await t.call(org.adminKey, 'DELETE', url), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `${keysUrl(owner.id)}/${owner.id}`), 404, 'not_found');
    // Another account's key, under this account's path, is not found either.
    const elsewhere = await generateKey(t, org.adminKey, account.id);
    files.push(elsewhere);
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `${keysUrl(owner.id)}/${elsewhere.private_key_id}`),
      404,
      'not_found',
    );
    assert.ok((await listKeys(account.id)).some((k) => k.id === elsewhere.private_key_id));
  });

  test('no private key is in any other response or any log line', () => {
    assert.ok(files.length >= 5);
    assert.ok(bodies.length > 20);
    const lines = capturedLogs.slice(logStart);
    assert.equal(t.app.log.level, 'trace');
    // The key operations were logged, so the search below means something.
    assert.ok(lines.some((line) => line.includes(files[0]?.private_key_id ?? '?')));
    for (const file of files) {
      for (const needle of privateNeedles(file.private_key).text) {
        assert.ok(!bodies.some((body) => body.includes(needle)), 'a private key is in a response');
        const leak = lines.find((line) => line.includes(needle));
        assert.equal(leak, undefined, `a private key is in a log line: ${leak}`);
      }
    }
  });

  test('no private key is stored: every row of every table', async () => {
    const db = t.app.deps.db;
    const tables = await db.introspection.getTables();
    const texts: string[] = [];
    for (const table of tables) {
      const rows = await db
        .selectFrom(table.name as 'orgs')
        .selectAll()
        .execute();
      for (const row of rows) {
        for (const value of Object.values(row as Record<string, unknown>)) {
          if (value === null || value === undefined) continue;
          texts.push(Buffer.isBuffer(value) ? value.toString('latin1') : String(value));
        }
      }
    }
    const all = texts.join('\n');
    // The scan sees key material: the public half of every generated key is stored.
    for (const file of files) {
      const publicLine = pemBody(spki(createPublicKey(file.private_key))).join('\n');
      assert.ok(all.includes(publicLine), 'the public key is stored');
      const needles = privateNeedles(file.private_key);
      for (const needle of needles.text) assert.ok(!all.includes(needle), 'a private key is stored');
      for (const bytes of needles.bytes) assert.ok(!all.includes(bytes.toString('latin1')));
    }
  });

  if (engine === 'sqlite') {
    test('no private key is in the SQLite files, WAL included', () => {
      const dir = handle().dataDir;
      const names = readdirSync(dir).filter((name) => name.startsWith('cohera.sqlite'));
      assert.ok(names.includes('cohera.sqlite'));
      const bytes = Buffer.concat(names.map((name) => readFileSync(join(dir, name))));
      for (const file of files) {
        const publicLine = pemBody(spki(createPublicKey(file.private_key)))[1] ?? '?';
        assert.ok(bytes.includes(publicLine), 'the files hold the public keys');
        const needles = privateNeedles(file.private_key);
        for (const needle of needles.text) {
          assert.ok(!bytes.includes(needle), 'a private key is in the SQLite files');
          assert.ok(!bytes.includes(Buffer.from(needle, 'utf16le')), 'a private key is in the SQLite files');
        }
        for (const raw of needles.bytes)
          assert.ok(!bytes.includes(raw), 'private key bytes are in the files');
      }
    });
  }
});
