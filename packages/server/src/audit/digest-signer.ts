/**
 * Signed audit digests: `(org, seq, hash, time)` statements that an org's chain had reached `seq`, whose
 * event had `hash`, at that time. Kept outside the database (log lines, an append-only file), they make
 * truncation and rollback of the log detectable by anyone who holds one: `verify` given a digest checks that
 * the event it names is still there with that hash and that the chain has not gone back behind it.
 *
 * They are signed with Ed25519, not MACed: an auditor verifies a digest with the public key alone, never the
 * master key, and nobody who holds only public material can make one. The signing key is derived from the
 * master key (HKDF-SHA256, its own info string), so every node of a fleet signs with the same key with
 * nothing stored; its public key is published at `GET /v1/audit-events/digest-keys`.
 *
 * A digest is a JWT (RFC 7519) in the JWS compact serialization (RFC 7515), header
 * `{"alg":"EdDSA","typ":"audit-digest+jwt","kid":<RFC 7638 thumbprint>}` and claims
 * `{"org_id","seq","hash","iat"}`, so any JOSE library checks it (`jose.jwtVerify(digest, key,
 * {typ: 'audit-digest+jwt'})`).
 */
import { createPrivateKey, createPublicKey, hash, hkdfSync, type KeyObject, sign, verify } from 'node:crypto';

export const DIGEST_TYPE = 'audit-digest+jwt';

/** What a digest states. */
export interface DigestClaims {
  org_id: string;
  /** The newest event's place in the org's chain when the digest was made. */
  seq: number;
  /** That event's chain hash. */
  hash: string;
  /** When the digest was made, in seconds since the epoch (JWT `iat`). */
  iat: number;
}

/** The published form of the verification key (RFC 8037 §2). */
export interface DigestPublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** A digest that is not one of ours; `message` says why, in words fit for a 400. */
export class DigestError extends Error {
  override name = 'DigestError';
}

/** PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410 §7): the seed follows these 16 bytes. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const B64URL = /^[A-Za-z0-9_-]+$/;
const HASH = /^[0-9a-f]{64}$/;
/** Far more than any digest we sign (about 330 characters); bounds the work spent on input. */
const MAX_LENGTH = 2048;
/** The last second a JavaScript Date can hold: an `iat` beyond it cannot be shown as a time. */
const MAX_IAT = 8_640_000_000_000;

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export class AuditDigestSigner {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly jwk: DigestPublicJwk;

  constructor(masterKey: Buffer) {
    const seed = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), 'cohera/audit-digest-signing/v1', 32),
    );
    this.#privateKey = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    this.#publicKey = createPublicKey(this.#privateKey);
    const { x } = this.#publicKey.export({ format: 'jwk' });
    if (typeof x !== 'string') throw new Error('Ed25519 public key without x');
    // RFC 7638: the thumbprint covers the required members in lexicographic order, no whitespace.
    const kid = hash('sha256', JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x }), 'base64url');
    this.jwk = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' };
  }

  get kid(): string {
    return this.jwk.kid;
  }

  sign(claims: DigestClaims): string {
    const signingInput = `${encode({ alg: 'EdDSA', typ: DIGEST_TYPE, kid: this.kid })}.${encode(claims)}`;
    const signature = sign(null, Buffer.from(signingInput), this.#privateKey).toString('base64url');
    return `${signingInput}.${signature}`;
  }

  /**
   * The claims of a digest this server signed. Throws DigestError naming the problem: not a digest at
   * all, signed by another key (another installation, or a master key since changed), or altered after
   * signing (any change to the org, seq, hash or time breaks the signature).
   */
  open(digest: string): DigestClaims {
    const parts = digest.length <= MAX_LENGTH ? digest.split('.') : [];
    if (parts.length !== 3 || !parts.every((part) => B64URL.test(part))) {
      throw new DigestError('not an audit digest: expected three base64url parts separated by "."');
    }
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeJson(headerPart);
    if (!isObject(header) || header.alg !== 'EdDSA' || header.typ !== DIGEST_TYPE) {
      throw new DigestError(`not an audit digest: the header must say alg "EdDSA" and typ "${DIGEST_TYPE}"`);
    }
    // RFC 7515 §4.1.11: extensions we do not understand must not be ignored; we understand none.
    if ('crit' in header) throw new DigestError('not an audit digest: unsupported "crit" header');
    if (header.kid !== this.kid) {
      throw new DigestError(
        'signed by a key this server does not hold (another installation, or before a master-key change)',
      );
    }
    const signature = Buffer.from(signaturePart, 'base64url');
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    if (signature.length !== 64 || !verify(null, signed, this.#publicKey, signature)) {
      throw new DigestError('the signature does not verify: the digest was altered or forged');
    }
    const claims = decodeJson(payloadPart);
    if (
      !isObject(claims) ||
      typeof claims.org_id !== 'string' ||
      !Number.isSafeInteger(claims.seq) ||
      (claims.seq as number) < 1 ||
      typeof claims.hash !== 'string' ||
      !HASH.test(claims.hash) ||
      !Number.isSafeInteger(claims.iat) ||
      (claims.iat as number) < 0 ||
      (claims.iat as number) > MAX_IAT
    ) {
      throw new DigestError('not an audit digest: its claims are not org_id, seq, hash and iat');
    }
    return {
      org_id: claims.org_id,
      seq: claims.seq as number,
      hash: claims.hash,
      iat: claims.iat as number,
    };
  }
}
