/**
 * Service-account public keys a user uploads are refused unless they are strong (issue 14, finding 3): RSA
 * needs a modulus of at least 2048 bits and the public exponent 65537 (an exponent of 3 is what the
 * low-exponent forgeries against lax PKCS#1 v1.5 verifiers need); EC only on P-256 (ES256); EdDSA only
 * with Ed25519. Checked on the validator for every kind of key, and once through the API.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { validatePublicKey } from '../../src/auth/service-accounts/key-material.ts';
import { ApiError } from '../../src/http/errors.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const rsa = (modulusLength: number, publicExponent: number) =>
  spki(generateKeyPairSync('rsa', { modulusLength, publicExponent }).publicKey);

/** The 400 the validator throws for `pem`, or a failure when it accepts the key. */
function refusal(pem: string): { field: string; message: string } {
  try {
    validatePublicKey(pem, undefined);
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, 'validation_failed');
    const [first] = error.errors ?? [];
    assert.ok(first);
    return first;
  }
  assert.fail('the key was accepted');
}

describe('uploaded public keys', () => {
  test('RSA: e = 65537 with 2048 bits or more is RS256; e = 3 and other exponents are refused', () => {
    for (const bits of [2048, 3072]) {
      assert.equal(validatePublicKey(rsa(bits, 65_537), undefined).algorithm, 'RS256');
    }
    for (const exponent of [3, 17]) {
      const { field, message } = refusal(rsa(2048, exponent));
      assert.equal(field, 'body/public_key');
      assert.match(message, new RegExp(`public exponent ${exponent} \\(only 65537 is accepted\\)`));
    }
  });

  test('RSA: fewer than 2048 bits are refused, whatever the exponent', () => {
    for (const exponent of [65_537, 3]) {
      const { field, message } = refusal(rsa(1024, exponent));
      assert.equal(field, 'body/public_key');
      assert.match(message, /1024-bit RSA key \(at least 2048 bits are required\)/);
    }
  });

  test('EC only on P-256, EdDSA only with Ed25519; RSA-PSS and X25519 keys are refused', () => {
    const ec = (namedCurve: string) => spki(generateKeyPairSync('ec', { namedCurve }).publicKey);
    assert.equal(validatePublicKey(ec('P-256'), undefined).algorithm, 'ES256');
    assert.equal(
      validatePublicKey(spki(generateKeyPairSync('ed25519').publicKey), undefined).algorithm,
      'EdDSA',
    );
    for (const [pem, reason] of [
      [ec('P-384'), /secp384r1 \(only P-256 is accepted\)/],
      [ec('P-521'), /secp521r1 \(only P-256 is accepted\)/],
      [ec('secp256k1'), /secp256k1 \(only P-256 is accepted\)/],
      [spki(generateKeyPairSync('ed448').publicKey), /ed448 key/],
      [spki(generateKeyPairSync('x25519').publicKey), /x25519 key/],
      [spki(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey), /rsa-pss key/],
    ] as const) {
      const { field, message } = refusal(pem);
      assert.equal(field, 'body/public_key');
      assert.match(message, reason);
    }
  });

  describe('through the API', () => {
    let engine: EngineHandle;
    let t: TestApp;
    let org: TestOrg;
    before(async () => {
      engine = await prepareEngine('sqlite');
      t = await startTestApp(engine);
      org = await createOrg(t.app);
    });
    after(async () => {
      await t.close();
      await engine.cleanup();
    });

    test('an e = 3 key is a 400 naming body/public_key, and is not registered', async () => {
      const account = await t.call(org.adminKey, 'POST', '/v1/service-accounts', {
        name: 'weak keys',
        scopes: ['read:*'],
      });
      assert.equal(account.statusCode, 201, account.body);
      const url = `/v1/service-accounts/${account.json().id}/keys`;
      const problem = assertProblem(
        await t.call(org.adminKey, 'POST', url, { public_key: rsa(2048, 3), algorithm: 'RS256' }),
        400,
        'validation_failed',
        'body/public_key',
      );
      assert.match(String(problem.detail), /public exponent 3/);
      assert.deepEqual((await t.call(org.adminKey, 'GET', url)).json().data, []);
      const strong = await t.call(org.adminKey, 'POST', url, { public_key: rsa(2048, 65_537) });
      assert.equal(strong.statusCode, 201, strong.body);
      assert.equal(strong.json().algorithm, 'RS256');
    });
  });
});
