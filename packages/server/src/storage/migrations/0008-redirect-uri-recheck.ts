/**
 * `oauth_clients.redirect_uri_problems`: the redirect URIs of a client that break the rules, with why (JSON
 * `[{redirect_uri, problem}]`, `[]` when none). Issue 14: hosts used to be checked only by `new URL()`, which
 * lets `;`, `*`, `'` and `,` into a host, and a client's origins are listed in the consent page's
 * Content-Security-Policy. Every stored client is checked again here by today's rules (@cohera/shared
 * redirect-uris.ts), so the apps registered before them are known: the authorize step refuses their bad
 * URIs (the server re-checks at run time too) and the developer console says which and why.
 */
import { type RedirectUriProblem, redirectUriProblems } from '@cohera/shared';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../database.ts';

/** The problems of one stored list; a list that is not a JSON array is itself one. */
function problemsOf(stored: string): RedirectUriProblem[] {
  let uris: unknown;
  try {
    uris = JSON.parse(stored);
  } catch {
    uris = null;
  }
  if (!Array.isArray(uris)) return [{ redirect_uri: '', problem: 'is not a readable list of URIs' }];
  return redirectUriProblems(uris);
}

export function redirectUriRecheck(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('oauth_clients')
        .addColumn('redirect_uri_problems', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      const { rows } = await sql<{ id: string; redirect_uris: string }>`
        select id, redirect_uris from oauth_clients
      `.execute(db);
      for (const row of rows) {
        const problems = problemsOf(row.redirect_uris);
        if (problems.length === 0) continue;
        await sql`
          update oauth_clients set redirect_uri_problems = ${JSON.stringify(problems)} where id = ${row.id}
        `.execute(db);
      }
    },
    async down(): Promise<void> {
      throw new Error('migration 0008-redirect-uri-recheck cannot be reverted');
    },
  };
}
