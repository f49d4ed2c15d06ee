/**
 * `cohera whoami`: who the credential is (`GET /health` with it: kind, id, org, mode, scopes, expiry), and
 * where it came from: `COHERA_API_KEY` (it wins when set) or the saved login for this base URL.
 */
import type { CliContext } from '../../context.ts';
import type { CredentialInfo } from '../../sdk.ts';

export interface Identity extends CredentialInfo {
  base_url: string;
  source: 'COHERA_API_KEY' | 'saved login';
}

export function identityOf(info: CredentialInfo, baseUrl: string, source: Identity['source']): Identity {
  return { base_url: baseUrl, source, ...info };
}

export async function runWhoami(ctx: CliContext): Promise<void> {
  const credential = await ctx.credential();
  const info = await (await ctx.client()).whoami();
  const identity = identityOf(info, ctx.baseUrl, credential.source);
  if (ctx.jsonMode) return ctx.output.json(identity);
  const { bold } = ctx.output.color;
  const rows: [string, string][] = [
    ['server', identity.base_url],
    [
      'credential',
      `${identity.kind} ${bold(identity.id)}${identity.client_id ? ` (app ${identity.client_id})` : ''}`,
    ],
    ['org', identity.org_id],
    ['mode', identity.mode],
    ['scopes', identity.scopes.join(' ') || '(none)'],
    ['expires', identity.expires_at ?? 'never'],
    [
      'from',
      credential.source === 'COHERA_API_KEY'
        ? 'COHERA_API_KEY (environment)'
        : 'the saved login (`cohera login`)',
    ],
  ];
  for (const [label, value] of rows) ctx.output.line(`${label.padEnd(11)} ${value}`);
}
