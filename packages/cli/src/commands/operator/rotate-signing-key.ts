/**
 * `cohera admin rotate-signing-key`: a new OAuth token-signing key. Running nodes sign with it within 30 s;
 * the old key stays published, and accepted, for a token's lifetime, so tokens already issued keep working.
 *
 * `--revoke-old` is the emergency form, for a key that may have leaked: every older key is withdrawn at once
 * (no longer published, no longer accepted), so every access token issued so far stops working on every
 * node. Refresh tokens are not signed and keep working: apps get new access tokens with them.
 */
import { createLogger, revokeOldSigningKeys, rotateSigningKey } from '@cohera/server';
import type { CliContext } from '../../context.ts';
import { withDatabase } from './config.ts';

export async function runRotateSigningKey(options: { revokeOld?: boolean }, ctx: CliContext): Promise<void> {
  await withDatabase({ create: 'never' }, ctx, async (settings, database) => {
    if (!options.revokeOld) {
      const kid = await rotateSigningKey(database.db, settings.masterKey, Date.now());
      if (ctx.jsonMode) return ctx.output.json({ kid });
      ctx.output.line(
        `New OAuth signing key ${kid}. Nodes sign with it within 30 s; the previous key stays valid for tokens it signed.`,
      );
      return;
    }
    // The bus retries a connection it cannot make, with a warning each time: an unreachable bus is told
    // once, below, in words, not as a stream of JSON lines.
    const log = createLogger('error', process.stderr);
    const result = await revokeOldSigningKeys(settings, database, Date.now(), log);
    const busName = (transport: string) => (transport === 'redis' ? 'Redis' : 'PostgreSQL');
    const reach = result.announced
      ? `Running nodes were told over ${busName(result.announced)} and refuse them at once.`
      : result.unreachable
        ? `${busName(result.unreachable)} could not be reached to tell running nodes; each notices within 30 s and refuses them from then on.`
        : 'A running node notices within 30 s and refuses them from then on.';
    ctx.output.info(
      [
        'cohera: warning: every OAuth access token issued until now is invalid from now on, on every node:',
        `cohera: the signing keys that signed them (${result.revoked.join(', ') || 'none'}) are withdrawn. ${reach}`,
        'cohera: apps get new access tokens with their refresh tokens (not affected), or by signing users in again.',
        '',
      ].join('\n'),
    );
    if (ctx.jsonMode) return ctx.output.json(result);
    ctx.output.line(
      `New OAuth signing key ${result.kid}; revoked ${result.revoked.length} older key(s). ${reach}`,
    );
  });
}
