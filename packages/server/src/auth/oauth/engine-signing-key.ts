/**
 * The key the OAuth engine signs access tokens with, handed to oidc-provider as an ExternalSigningKey
 * (its experimental `externalSigningSupport`, made for keys held in a KMS or an HSM). Given a private JWK,
 * the engine signs through jose and WebCrypto: an asynchronous job per token that cost about twice
 * node:crypto's synchronous ECDSA sign with a KeyObject imported once, which is what this does. Signing is
 * a token endpoint's main cost after its queries (DESIGN §7's budget of 1,500 tokens/s).
 *
 * The signature is ES256 as JWS writes it (RFC 7518 §3.4: R and S, 32 bytes each), not DER: signed with the
 * KeyObject itself and converted (crypto/ecdsa-signature.ts says why not with Node's `dsaEncoding` option).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';
import { derToJoseSignature } from '../../crypto/ecdsa-signature.ts';

/** The version of the engine's experiment this class implements: a newer one fails start-up, not tokens. */
export const EXTERNAL_SIGNING_ACK = 'experimental-01';

/** The size of R and of S in a P-256 signature. */
const P256_BYTES = 32;

export class EngineSigningKey extends ExternalSigningKey {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  constructor(privateJwk: JWK) {
    super();
    if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || !privateJwk.kid) {
      throw new Error('the OAuth signing key must be a P-256 (ES256) private JWK with a kid');
    }
    this.#privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
    // Only the public half leaves this object: the engine publishes and verifies with it.
    this.#publicKey = createPublicKey(this.#privateKey);
    // Setters of the engine's class (its own fields are private).
    Object.assign(this, { kid: privateJwk.kid, alg: 'ES256' });
  }

  override keyObject(): KeyObject {
    return this.#publicKey;
  }

  override sign(data: Uint8Array): Uint8Array {
    return derToJoseSignature(sign('sha256', data, this.#privateKey), P256_BYTES);
  }
}
