/**
 * `cohera admin rotate-signing-key --revoke-old`, the server's half: the emergency rotation
 * (signing-keys.ts rotateSigningKeyRevokingOld), then the announcement to running nodes over the configured
 * invalidation bus — Redis pub/sub, or PostgreSQL LISTEN/NOTIFY — so each reloads its keys and drops the
 * tokens and keys it cached at once. On the embedded default (SQLite, no Redis) there is no bus between
 * processes: the running node finds the change when it next looks at its keys (every 30 s) and drops its
 * caches then (provider.ts reloadKeys).
 */
import type { Logger } from 'pino';
import { createInvalidationBus } from '../../app.ts';
import type { Config } from '../../config.ts';
import { settlesWithin } from '../../settles-within.ts';
import type { InvalidationBus } from '../../state/invalidation-bus.ts';
import type { Database } from '../../storage/database.ts';
import { announceSigningKeyChange, rotateSigningKeyRevokingOld } from './signing-keys.ts';

export interface SigningKeyRevocation {
  /** The new signing key. */
  kid: string;
  /** The keys withdrawn: no longer published, every token they signed refused. */
  revoked: string[];
  /** How running nodes were told at once; null when they find out by themselves (within 30 s). */
  announced: InvalidationBus['transport'] | null;
  /**
   * The bus that could not be reached within ANNOUNCE_WAIT_MS (Redis down, say: perhaps the incident
   * itself), or null. The rotation stands either way; running nodes then find it within 30 s.
   */
  unreachable: InvalidationBus['transport'] | null;
}

/** How long the command waits for the bus: an operator in an incident must not be left with a hung command. */
export const ANNOUNCE_WAIT_MS = 5_000;

export async function revokeOldSigningKeys(
  config: Readonly<Config>,
  database: Database,
  now: number,
  log: Logger,
): Promise<SigningKeyRevocation> {
  const { kid, revoked } = await rotateSigningKeyRevokingOld(database.db, config.masterKey, now);
  if (!config.redisUrl && database.dialect !== 'postgres') {
    return { kid, revoked, announced: null, unreachable: null };
  }
  const bus = createInvalidationBus(config, database, log);
  try {
    const deadline = Date.now() + ANNOUNCE_WAIT_MS;
    let sent = false;
    if (await settlesWithin(bus.ready(), ANNOUNCE_WAIT_MS)) {
      await announceSigningKeyChange(bus);
      sent = await bus.flush(Math.max(0, deadline - Date.now()));
    }
    return sent
      ? { kid, revoked, announced: bus.transport, unreachable: null }
      : { kid, revoked, announced: null, unreachable: bus.transport };
  } finally {
    await bus.close();
  }
}
