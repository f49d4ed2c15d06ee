/**
 * The authorization server's token-signing keys (ES256). Generated on first start, stored with the private
 * half sealed under the master key, and rotated with an overlap: after a rotation the newest key signs, and
 * the replaced key stays published in the JWKS (and accepted by the API) for as long as a token it signed
 * may live, so tokens in flight keep working. Expired retired keys are deleted. In an emergency (a key that
 * may have leaked) a rotation can withdraw every older key at once instead (rotateSigningKeyRevokingOld).
 */
import { generateKeyPairSync } from 'node:crypto';
import { newId } from '@cohera/shared';
import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import { isoAt } from '../../clock.ts';
import { SecretBox } from '../../crypto/secret-box.ts';
import type { InvalidationBus } from '../../state/invalidation-bus.ts';
import type { DB, OAuthSigningKeysTable } from '../../storage/schema.ts';

/** Access tokens live an hour (DESIGN §5.3). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
/** How long a retired key stays published: a token's lifetime plus clock skew. */
export const RETIRED_KEY_OVERLAP_MS = (ACCESS_TOKEN_TTL_SECONDS + 300) * 1000;

export interface SigningKey {
  kid: string;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: string;
  retiredAt: string | null;
}

function sealContext(kid: string): string {
  return `oauth_signing_keys/${kid}`;
}

export function signingKeyBox(masterKey: Buffer): SecretBox {
  return new SecretBox(masterKey, 'oauth-signing-keys');
}

function generate(now: number, box: SecretBox): OAuthSigningKeysTable {
  const kid = newId('oauth_signing_key', now);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    algorithm: 'ES256',
    public_jwk: JSON.stringify(publicJwk),
    private_jwk_encrypted: box.seal(JSON.stringify(privateJwk), sealContext(kid)),
    created_at: isoAt(now),
    retired_at: null,
  };
}

/**
 * The key the engine signs with: the newest unretired key this node can open. Makes one when there is none
 * (two nodes starting at once may both make one, which is harmless: both are published). A key sealed under
 * another master key (the operator changed COHERA_MASTER_KEY, or a node runs with the wrong one) cannot sign
 * here: it is passed over, and `passedOver` names it so the node can say so. It is not retired, so nodes do
 * not take turns replacing each other's keys; tokens it signed still verify, since public halves are not
 * sealed.
 */
export async function loadSigningKey(
  db: Kysely<DB>,
  masterKey: Buffer,
  now: number,
): Promise<{ key: SigningKey; passedOver: string | null }> {
  const box = signingKeyBox(masterKey);
  const rows = await db
    .selectFrom('oauth_signing_keys')
    .selectAll()
    .where('retired_at', 'is', null)
    .orderBy('kid', 'desc')
    .execute();
  for (const row of rows) {
    try {
      return { key: open(row, box), passedOver: row === rows[0] ? null : (rows[0]?.kid ?? null) };
    } catch {
      // sealed under another master key: try an older one
    }
  }
  const row = generate(now, box);
  await db.insertInto('oauth_signing_keys').values(row).execute();
  return { key: open(row, box), passedOver: rows[0]?.kid ?? null };
}

function open(row: OAuthSigningKeysTable, box: SecretBox): SigningKey {
  return {
    kid: row.kid,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    privateJwk: JSON.parse(box.open(row.private_jwk_encrypted, sealContext(row.kid))) as JWK,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

/**
 * The public keys to publish at /.well-known/jwks.json: every unretired key, and retired keys for the
 * overlap, newest first. Only public halves are read: publishing never needs the master key.
 */
export async function publishedKeys(db: Kysely<DB>, now: number): Promise<JWK[]> {
  const rows = await db
    .selectFrom('oauth_signing_keys')
    .select(['public_jwk', 'retired_at'])
    .where((eb) =>
      eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', isoAt(now - RETIRED_KEY_OVERLAP_MS))]),
    )
    .orderBy('kid', 'desc')
    .execute();
  return rows.map((row) => JSON.parse(row.public_jwk) as JWK);
}

/**
 * Makes a new signing key and retires the others (they stay published for the overlap). Deletes keys retired
 * longer ago than the overlap. Returns the new key's id.
 */
export async function rotateSigningKey(db: Kysely<DB>, masterKey: Buffer, now: number): Promise<string> {
  const row = generate(now, signingKeyBox(masterKey));
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('oauth_signing_keys')
      .set({ retired_at: isoAt(now) })
      .where('retired_at', 'is', null)
      .execute();
    await trx.insertInto('oauth_signing_keys').values(row).execute();
    await trx
      .deleteFrom('oauth_signing_keys')
      .where('retired_at', '<=', isoAt(now - RETIRED_KEY_OVERLAP_MS))
      .execute();
  });
  return row.kid;
}

/**
 * The emergency rotation, for a signing key that may have leaked: a new key, and every other key deleted in
 * the same transaction, so none is published or accepted any more — the API's verifier finds no key for
 * their `kid` and refuses every access token they signed, however recent. Refresh tokens are opaque and
 * stored, not signed, so apps get new access tokens with them. The caller announces the change
 * (announceSigningKeyChange) so that every node drops what it cached at once; a node that misses it finds
 * out within its key-reload interval (provider.ts). Returns the new key's id and the ids withdrawn.
 */
export async function rotateSigningKeyRevokingOld(
  db: Kysely<DB>,
  masterKey: Buffer,
  now: number,
): Promise<{ kid: string; revoked: string[] }> {
  const row = generate(now, signingKeyBox(masterKey));
  const revoked = await db.transaction().execute(async (trx) => {
    const old = await trx.selectFrom('oauth_signing_keys').select('kid').orderBy('kid', 'desc').execute();
    await trx.deleteFrom('oauth_signing_keys').where('kid', '!=', row.kid).execute();
    await trx.insertInto('oauth_signing_keys').values(row).execute();
    return old.map((key) => key.kid);
  });
  return { kid: row.kid, revoked };
}

/** Tells every node the key set changed: engines reload, verifiers drop cached tokens and keys. */
export function announceSigningKeyChange(bus: Pick<InvalidationBus, 'publish'>): Promise<void> {
  return bus.publish({ kind: 'signing_keys' });
}

/** A public key by `kid`, if it may still verify tokens (for the API's token verifier). */
export async function findPublicSigningKey(db: Kysely<DB>, kid: string, now: number): Promise<JWK | null> {
  const row = await db
    .selectFrom('oauth_signing_keys')
    .select(['public_jwk', 'retired_at'])
    .where('kid', '=', kid)
    .executeTakeFirst();
  if (!row) return null;
  if (row.retired_at !== null && row.retired_at <= isoAt(now - RETIRED_KEY_OVERLAP_MS)) return null;
  return JSON.parse(row.public_jwk) as JWK;
}

/** A fingerprint of the key set, so a node notices a rotation made elsewhere without reloading keys. */
export async function signingKeysVersion(db: Kysely<DB>): Promise<string> {
  const rows = await db
    .selectFrom('oauth_signing_keys')
    .select(['kid', 'retired_at'])
    .orderBy('kid', 'desc')
    .execute();
  return rows.map((row) => `${row.kid}:${row.retired_at ?? ''}`).join(',');
}
