/**
 * `cohera admin audit-reseal`: seals the audit chains' head and purge marker as they stand
 * (`resealAuditChain`), after a master-key change or once a tampered anchor has been investigated.
 * Recorded in each chain as `audit.chain_resealed`.
 */
import { findOrg, operatorAuditLog, resealAuditChain, systemClock } from '@cohera/server';
import type { CliContext } from '../../context.ts';
import { CliError, UsageError } from '../../output/error.ts';
import { withDatabase } from './config.ts';

export interface AuditResealOptions {
  org?: string;
  all?: boolean;
  dropUnverifiable?: boolean;
}

export async function runAuditReseal(options: AuditResealOptions, ctx: CliContext): Promise<void> {
  if ((options.org === undefined) === !options.all) throw new UsageError('give either --org ORG_ID or --all');
  await withDatabase({ create: 'never' }, ctx, async (settings, database) => {
    if (options.org !== undefined && !(await findOrg(database.db, options.org))) {
      throw new CliError(`no organization with id ${options.org}`, 1, 'not_found');
    }
    const orgIds =
      options.org !== undefined
        ? [options.org]
        : (await database.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((org) => org.id);
    const audit = operatorAuditLog(database.db, settings.masterKey, systemClock);
    const resealed = [];
    for (const orgId of orgIds) {
      ctx.output.progress(`resealing ${orgId}…`);
      const result = await resealAuditChain(database.db, audit, orgId, {
        dropUnverifiable: options.dropUnverifiable === true,
      });
      if (result) resealed.push(result);
    }
    if (ctx.jsonMode) return ctx.output.json({ resealed });
    const was = (authentic: boolean) => (authentic ? 'was authentic' : 'was NOT authentic');
    for (const r of resealed) {
      const dropped =
        r.dropped_events > 0 ? `; dropped ${r.dropped_events} unverifiable oldest event(s)` : '';
      ctx.output.line(
        `${r.org_id}: head at seq ${r.head.seq} (${was(r.head.was_authentic)}), purge marker at seq ` +
          `${r.purge_marker.seq} (${was(r.purge_marker.was_authentic)}) resealed${dropped}`,
      );
    }
    if (resealed.length === 0) ctx.output.line('No audit chain to reseal.');
  });
}
