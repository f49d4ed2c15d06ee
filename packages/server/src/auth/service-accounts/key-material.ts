/**
 * Service-account key material: generating an ES256 pair (the private half leaves the server once, in
 * `service-account.json`) and validating an uploaded public key. The algorithm is a property of the key,
 * fixed at registration; the verifier never takes it from a token header.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { invalidField } from '../../http/errors.ts';
import type { ServiceAccountKeyAlgorithm } from '../../storage/schema.ts';

export const ALGORITHMS: readonly ServiceAccountKeyAlgorithm[] = ['ES256', 'RS256', 'EdDSA'];
const MIN_RSA_BITS = 2048;
/**
 * F4, the only public exponent accepted. Small exponents (e = 3) are what Bleichenbacher's 2006 forgery
 * and the low-exponent attacks on lax PKCS#1 v1.5 verifiers need; every mainstream key generator uses
 * 65537, so anything else is a key made by unusual tooling and is refused rather than trusted.
 */
const RSA_PUBLIC_EXPONENT = 65_537n;

export interface GeneratedKeyPair {
  algorithm: 'ES256';
  publicKeyPem: string;
  privateKeyPem: string;
}

export function generateServiceAccountKeyPair(): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    algorithm: 'ES256',
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function algorithmOf(key: KeyObject): ServiceAccountKeyAlgorithm | string {
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      ? 'ES256'
      : `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'} (only P-256 is accepted)`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    const exponent = key.asymmetricKeyDetails?.publicExponent;
    if (bits < MIN_RSA_BITS) return `a ${bits}-bit RSA key (at least ${MIN_RSA_BITS} bits are required)`;
    if (exponent !== RSA_PUBLIC_EXPONENT) {
      return `an RSA key with public exponent ${exponent ?? 'unknown'} (only 65537 is accepted)`;
    }
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  return `a ${key.asymmetricKeyType ?? 'unknown'} key`;
}

/**
 * Checks an uploaded public key and returns its algorithm and normalized SPKI PEM. Private keys, symmetric
 * secrets, weak RSA and other curves are refused with a 400 that says why.
 */
export function validatePublicKey(
  pem: string,
  requested: ServiceAccountKeyAlgorithm | undefined,
): { algorithm: ServiceAccountKeyAlgorithm; publicKeyPem: string } {
  if (/PRIVATE KEY/.test(pem)) {
    throw invalidField(
      'body/public_key',
      'is a private key: upload only the public key (keep the private key yourself)',
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw invalidField('body/public_key', 'is not a PEM-encoded public key (SPKI, "BEGIN PUBLIC KEY")');
  }
  const algorithm = algorithmOf(key);
  if (!ALGORITHMS.includes(algorithm as ServiceAccountKeyAlgorithm)) {
    throw invalidField(
      'body/public_key',
      `is ${algorithm}; use ES256 (P-256), RS256 (≥ 2048 bits, e = 65537) or EdDSA (Ed25519)`,
    );
  }
  if (requested !== undefined && requested !== algorithm) {
    throw invalidField('body/algorithm', `is ${requested}, but the key is an ${algorithm} key`);
  }
  return {
    algorithm: algorithm as ServiceAccountKeyAlgorithm,
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
