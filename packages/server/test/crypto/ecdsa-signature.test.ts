import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { derToJoseSignature } from '../../src/crypto/ecdsa-signature.ts';

describe('derToJoseSignature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('gives exactly what node:crypto gives for ieee-p1363, and verifies, over many signatures', () => {
    // About 1 in 128 signatures has an R or S shorter than 32 bytes (left-padded) and half have a DER
    // 0x00 prefix (stripped): 2,000 signatures cover both with near certainty; the counts prove it.
    let short = 0;
    let prefixed = 0;
    for (let i = 0; i < 2000; i++) {
      const data = randomBytes(64);
      const der = sign('sha256', data, privateKey);
      const r = der[3] as number;
      if (r < 32 || (der[4 + r + 1] as number) < 32) short++;
      if (r === 33 || (der[4 + r + 1] as number) === 33) prefixed++;
      const jose = derToJoseSignature(der, 32);
      assert.equal(jose.length, 64);
      assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose));
      // And the conversion is the one Node itself makes (same R and S, same padding).
      assert.deepEqual(
        verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, der),
        verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose),
      );
    }
    assert.ok(short > 0, 'no signature with a short R or S was seen');
    assert.ok(prefixed > 0, 'no signature with a 0x00-prefixed R or S was seen');
  });

  it('pads a short integer on the left', () => {
    const der = Buffer.from([0x30, 0x07, 0x02, 0x01, 0x05, 0x02, 0x02, 0x01, 0x02]);
    const jose = derToJoseSignature(der, 4);
    assert.deepEqual([...jose], [0, 0, 0, 5, 0, 0, 1, 2]);
  });

  it('refuses what is not one SEQUENCE of two positive integers that fit', () => {
    const valid = sign('sha256', Buffer.from('x'), privateKey);
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['not a SEQUENCE', Buffer.from([0x31, ...valid.subarray(1)])],
      ['a wrong outer length', Buffer.from([0x30, (valid[1] as number) + 1, ...valid.subarray(2)])],
      ['trailing bytes', Buffer.concat([valid, Buffer.from([0])])],
      ['truncated', valid.subarray(0, valid.length - 1)],
      ['a negative R', Buffer.from([0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01])],
      ['an empty R', Buffer.from([0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01])],
      [
        'an R too long for the size',
        Buffer.from([0x30, 0x08, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x01, 0x01]),
      ],
      ['a BIT STRING for S', Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x03, 0x01, 0x01])],
      ['a long-form length', Buffer.from([0x30, 0x07, 0x02, 0x81, 0x01, 0x01, 0x02, 0x01, 0x01])],
    ];
    for (const [what, der] of cases) {
      assert.throws(() => derToJoseSignature(der, 2), /not a DER ECDSA signature/, what);
    }
  });
});
