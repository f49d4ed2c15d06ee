/**
 * The storage adapter oidc-provider keeps its artefacts in (codes, tokens, grants, sessions, interactions),
 * one table on either engine through the same Kysely layer as everything else. Clients are not artefacts:
 * the Client model reads the `oauth_clients` table the developer console writes.
 *
 * Nothing in the table is usable if the database leaks (DESIGN §6.1): an artefact's id is the token, code or
 * cookie value itself, so only its SHA-256 is stored, and payloads (which repeat ids and hold session cookie
 * values) are AES-256-GCM sealed under the master key, bound to their row.
 *
 * Two things the engine cannot see are done here, where every change passes:
 * - a code or refresh token is consumed with a conditional UPDATE, so two requests racing with one code
 *   cannot both win; the loser is treated as a replay and revokes the grant (RFC 9700 §4.2.4);
 * - a destroyed grant or access token is announced on the invalidation bus, so every node's API stops
 *   accepting its tokens within a second.
 */
import { hash } from 'node:crypto';
import { hasScope, SCOPES, type Scope } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { Clock } from '../../clock.ts';
import { isoAt } from '../../clock.ts';
import { SecretBox } from '../../crypto/secret-box.ts';
import { inTransaction } from '../../storage/database.ts';
import { GroupCommit } from '../../storage/group-commit.ts';
import { preparedQuery } from '../../storage/prepared-query.ts';
import type { DB, OAuthClientsTable } from '../../storage/schema.ts';
import { findClientById } from './clients-repository.ts';
import { firstPartyClientMetadata, isFirstPartyClient } from './first-party-clients.ts';
import { usableRedirectUris } from './redirect-uris.ts';

export interface ArtifactEvents {
  /** In the transaction that ends a grant: its authorization is marked revoked (and the end recorded). */
  grantEnded(trx: Kysely<DB>, grantId: string): Promise<void>;
  /** After that committed: every node drops the grant's cached tokens. Never before the commit, or a node
   * could re-verify against the still-live authorization and cache the token again. */
  grantRevoked(grantId: string): Promise<void>;
  /** Tokens stopped working (one access token by its id, or all of a grant by the grant's id). */
  tokensRevoked(id: string): Promise<void>;
}

/** Our own client metadata, beside the standard fields (the engine keeps their names on its Client). */
export const EXTRA_CLIENT_METADATA = [
  'cohera_scopes',
  'cohera_previous_secret_hash',
  'cohera_previous_secret_expires_at',
] as const;

/** What provider.ts reads back from the engine's Client: everything a token request needs, no query. */
export interface CoheraClientFields {
  clientId: string;
  clientSecret?: string;
  /** Every scope within the registered ceiling, wildcards expanded (the engine compares plain strings). */
  cohera_scopes?: Scope[];
  cohera_previous_secret_hash?: string | null;
  cohera_previous_secret_expires_at?: string | null;
}

/**
 * The engine's metadata for one of our clients. Only the code flow, with refresh tokens. The client's scope
 * ceiling is not the engine's `scope` (that is for OpenID scopes) but `cohera_scopes`: the resource
 * server's scopes for this client (provider.ts, getResourceServerInfo). The previous secret's hash rides
 * along so a token request authenticates the client without another query.
 *
 * Only the redirect URIs that pass today's rules reach the engine (redirect-uris.ts): it can never redirect
 * to, nor allow CORS from, one registered before them. A client left with none is unknown to the engine.
 */
export function clientMetadata(row: OAuthClientsTable): AdapterPayload | undefined {
  if (isFirstPartyClient(row)) return firstPartyClientMetadata(row);
  const confidential = row.client_type === 'confidential';
  const ceiling = JSON.parse(row.scopes) as string[];
  const redirectUris = usableRedirectUris(row);
  if (redirectUris.length === 0) return undefined;
  return {
    cohera_scopes: SCOPES.filter((scope) => hasScope(ceiling, scope)),
    cohera_previous_secret_hash: row.previous_secret_hash,
    cohera_previous_secret_expires_at: row.previous_secret_expires_at,
    client_id: row.id,
    client_name: row.name,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    // The OpenID scopes a client may ask for: none but `offline_access` (harmless: refresh tokens come with
    // every code grant). A request for `openid` is refused with invalid_scope: this is not an OpenID
    // provider, and the engine would otherwise keep asking for consent to a scope it can never grant.
    scope: 'offline_access',
    // The engine requires a secret for these methods; it holds the hash, and compareClientSecret (see
    // provider.ts) compares hashes, so the plaintext secret exists nowhere after it was shown once.
    ...(confidential && row.secret_hash ? { client_secret: row.secret_hash } : {}),
  };
}

/** How many clients' metadata an adapter keeps built (a few hundred bytes each). */
const CLIENT_METADATA_KEPT = 1000;

/**
 * `clientMetadata` of the rows a node has seen, keyed by client id and held with the row they were built
 * from (as JSON, every column): the engine asks for a client's metadata on every token request, and building
 * it (its redirect URIs checked against today's rules, its scope ceiling expanded) took ~25 µs of a refresh
 * grant. The row itself is still read every time, so a changed or deleted client takes effect at once; a
 * changed row builds anew. Frozen, since one object now serves every request.
 */
export class ClientMetadataMemo {
  readonly #built = new Map<string, { row: string; metadata: AdapterPayload | undefined }>();

  of(row: OAuthClientsTable): AdapterPayload | undefined {
    const json = JSON.stringify(row);
    const known = this.#built.get(row.id);
    if (known !== undefined && known.row === json) return known.metadata;
    const metadata = deepFreeze(clientMetadata(row));
    this.#built.delete(row.id);
    if (this.#built.size >= CLIENT_METADATA_KEPT) {
      const oldest = this.#built.keys().next().value;
      if (oldest !== undefined) this.#built.delete(oldest);
    }
    this.#built.set(row.id, { row: json, metadata });
    return metadata;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const nested of Object.values(value)) deepFreeze(nested);
  }
  return value;
}

/** The stored id of an artefact: the SHA-256 of the engine's id, which is often the secret itself. */
export function artifactKey(id: string): string {
  return hash('sha256', id, 'base64url');
}

export function artifactBox(masterKey: Buffer): SecretBox {
  return new SecretBox(masterKey, 'oauth-artifacts');
}

const sealContext = (model: string, key: string) => `${model}/${key}`;

/** Reads one artefact's payload outside the engine (the sign-in page looks up its interaction's client). */
export async function findArtifact(
  db: Kysely<DB>,
  box: SecretBox,
  model: string,
  id: string,
): Promise<AdapterPayload | null> {
  const key = artifactKey(id);
  const row = await db
    .selectFrom('oauth_artifacts')
    .select('payload')
    .where('model', '=', model)
    .where('id', '=', key)
    .executeTakeFirst();
  return row ? (JSON.parse(box.open(row.payload, sealContext(model, key))) as AdapterPayload) : null;
}

/** Deletes a grant and everything issued under it (codes, refresh tokens): the engine can use none of it. */
export async function deleteGrantArtifacts(db: Kysely<DB>, grantId: string): Promise<void> {
  await db.deleteFrom('oauth_artifacts').where('grant_id', '=', grantId).execute();
  await db
    .deleteFrom('oauth_artifacts')
    .where('model', '=', 'Grant')
    .where('id', '=', artifactKey(grantId))
    .execute();
}

/**
 * Revokes a grant outside the engine's own flows (a user revoking an app, a client deleted, a replay that
 * won a race): its codes and tokens and the grant itself are deleted, then announced.
 */
export async function revokeGrant(
  db: Kysely<DB>,
  grantId: string,
  events: ArtifactEvents,
  alsoInTransaction?: (trx: Kysely<DB>) => Promise<void>,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await deleteGrantArtifacts(trx, grantId);
    await events.grantEnded(trx, grantId);
    await alsoInTransaction?.(trx);
  });
  await events.grantRevoked(grantId);
}

/**
 * How long a device code's row outlives the code: the engine reads it with `ignoreExpiration` and answers a
 * device still polling `expired_token` (RFC 8628 §3.5) rather than `invalid_grant`, and a person entering
 * the code "expired" rather than "not valid". The engine decides expiry from the payload; this is storage.
 */
const EXPIRED_DEVICE_CODE_KEPT_SECONDS = 3600;

// The statements of every token request (a refresh reads the token and its grant, consumes the token and
// stores its successor), compiled once: see prepared-query.ts.
const upsertArtifact = preparedQuery(
  (
    db,
    model: string,
    id: string,
    payload: string,
    grantId: string | null,
    uid: string | null,
    userCode: string | null,
    expiresAt: string | null,
  ) =>
    db
      .insertInto('oauth_artifacts')
      .values({
        model,
        id,
        payload,
        grant_id: grantId,
        uid,
        user_code: userCode,
        expires_at: expiresAt,
        // consumed_at and polled_at start null (left out: a constant would be a bound parameter too)
      })
      .onConflict((oc) =>
        oc.columns(['model', 'id']).doUpdateSet((eb) => ({
          payload: eb.ref('excluded.payload'),
          grant_id: eb.ref('excluded.grant_id'),
          uid: eb.ref('excluded.uid'),
          user_code: eb.ref('excluded.user_code'),
          expires_at: eb.ref('excluded.expires_at'),
        })),
      ),
);

const artifactLookup = (column: 'id' | 'uid' | 'user_code') =>
  preparedQuery((db, model: string, value: string) =>
    db
      .selectFrom('oauth_artifacts')
      .select(['id', 'payload', 'expires_at', 'consumed_at'])
      .where('model', '=', model)
      .where(column, '=', value),
  );
const findArtifactBy: Record<'id' | 'uid' | 'user_code', ReturnType<typeof artifactLookup>> = {
  id: artifactLookup('id'),
  uid: artifactLookup('uid'),
  user_code: artifactLookup('user_code'),
};

const consumeArtifact = preparedQuery((db, consumedAt: string, model: string, id: string) =>
  db
    .updateTable('oauth_artifacts')
    .set({ consumed_at: consumedAt })
    .where('model', '=', model)
    .where('id', '=', id)
    .where('consumed_at', 'is', null),
);

export function createArtifactAdapter(db: Kysely<DB>, clock: Clock, events: ArtifactEvents, box: SecretBox) {
  const epoch = () => Math.floor(clock.now() / 1000);
  const clients = new ClientMetadataMemo();
  // A refresh grant's two writes (the old token consumed, its successor stored) share their commit with
  // the other grants of the same event-loop turn (storage/group-commit.ts).
  const writes = new GroupCommit(db);

  return class SqlArtifactAdapter implements Adapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const key = artifactKey(id);
      const keptFor =
        typeof expiresIn === 'number' && this.model === 'DeviceCode'
          ? expiresIn + EXPIRED_DEVICE_CODE_KEPT_SECONDS
          : expiresIn;
      const payloadSealed = box.seal(JSON.stringify(payload), sealContext(this.model, key));
      const grantId = typeof payload.grantId === 'string' ? payload.grantId : null;
      const uid = typeof payload.uid === 'string' ? payload.uid : null;
      // A device flow's user code lets whoever holds it approve the device: hashed like the ids.
      const userCode = typeof payload.userCode === 'string' ? artifactKey(payload.userCode) : null;
      const expiresAt = typeof keptFor === 'number' ? isoAt(clock.now() + keptFor * 1000) : null;
      await writes.run((executor) =>
        upsertArtifact.execute(executor, this.model, key, payloadSealed, grantId, uid, userCode, expiresAt),
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const client = await findClientById(db, id);
        return client ? clients.of(client) : undefined;
      }
      return this.#findWhere('id', artifactKey(id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.#findWhere('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.#findWhere('user_code', artifactKey(userCode));
    }

    async #findWhere(column: 'id' | 'uid' | 'user_code', value: string) {
      const row = await findArtifactBy[column].first(db, this.model, value);
      if (!row) return undefined;
      if (row.expires_at !== null && row.expires_at <= isoAt(clock.now())) return undefined;
      let sealed: string;
      try {
        sealed = box.open(row.payload, sealContext(this.model, row.id));
      } catch {
        // Sealed under another master key (the operator changed it) or altered: as good as absent, so the
        // engine answers invalid_grant, not a 500.
        return undefined;
      }
      const payload = JSON.parse(sealed) as AdapterPayload;
      if (row.consumed_at !== null) payload.consumed = Math.floor(Date.parse(row.consumed_at) / 1000);
      return payload;
    }

    async consume(id: string): Promise<void> {
      const at = isoAt(epoch() * 1000);
      const key = artifactKey(id);
      const consumed = await writes.run((executor) => consumeArtifact.changes(executor, at, this.model, key));
      if (consumed > 0n) return;
      // Another request consumed it between the engine's read and this write: a replay that won a race.
      const row = await db
        .selectFrom('oauth_artifacts')
        .select('grant_id')
        .where('model', '=', this.model)
        .where('id', '=', key)
        .executeTakeFirst();
      if (row?.grant_id) await revokeGrant(db, row.grant_id, events);
      throw new errors.InvalidGrant(
        `${this.model === 'RefreshToken' ? 'refresh token already used' : 'already consumed'}`,
      );
    }

    async destroy(id: string): Promise<void> {
      // The stored id is the hash (artifactKey), like every other lookup: the engine passes its own id.
      await db
        .deleteFrom('oauth_artifacts')
        .where('model', '=', this.model)
        .where('id', '=', artifactKey(id))
        .execute();
      if (this.model === 'Grant') {
        await events.grantEnded(db, id);
        await events.grantRevoked(id);
      } else if (this.model === 'AccessToken') await events.tokensRevoked(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db
        .deleteFrom('oauth_artifacts')
        .where('model', '=', this.model)
        .where('grant_id', '=', grantId)
        .execute();
      if (this.model === 'AccessToken') await events.tokensRevoked(grantId);
    }
  };
}

/** Deletes artefacts that expired (the engine ignores them already; this only reclaims the space). */
export async function purgeExpiredArtifacts(db: Kysely<DB>, now: number): Promise<number> {
  const result = await db
    .deleteFrom('oauth_artifacts')
    .where('expires_at', '<=', isoAt(now))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
