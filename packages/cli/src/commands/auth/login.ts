/**
 * `cohera login`: the device authorization grant (RFC 8628) for the first-party public client
 * `cohera-cli`. No secret is involved on this machine: the person approves in a browser, signed in to the
 * dashboard, and the CLI polls for the tokens, then saves them for this base URL (credentials-store.ts).
 *
 * Where the instructions go: the verification URL and the user code are for the person, so they go to
 * stdout on a terminal and to stderr otherwise; stdout then carries only the result (with `--json`, the
 * identity document), which keeps `cohera login --json | jq` working while the person still sees the code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SCOPES } from '@cohera/shared';
import type { CliContext } from '../../context.ts';
import { credentialsPath, saveLogin } from '../../credentials-store.ts';
import { CliError, UsageError } from '../../output/error.ts';
import { Cohera, Tokens } from '../../sdk.ts';
import { type DeviceAuthorization, pollToken, startDeviceAuthorization } from './device-grant.ts';
import { savedLoginOf } from './session.ts';
import { identityOf } from './whoami.ts';

/** RFC 8628 §3.5: the default polling interval, and what `slow_down` adds to it. */
const DEFAULT_INTERVAL_SECONDS = 5;
const SLOW_DOWN_SECONDS = 5;

export function parseScopes(value: string | undefined): string[] {
  if (value === undefined) return [...SCOPES];
  const scopes = value.split(/[\s,]+/).filter(Boolean);
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--scopes: unknown scope ${unknown.join(', ') || '(none given)'}; known: ${SCOPES.join(', ')}`,
    );
  }
  return scopes;
}

function instructions(ctx: CliContext, device: DeviceAuthorization): void {
  const { bold, cyan, dim } = ctx.output.color;
  const url = device.verification_uri_complete ?? device.verification_uri;
  const lines = [
    'To sign in, open this page in a browser:',
    '',
    `  ${cyan(url)}`,
    '',
    `and check that it shows the code  ${bold(device.user_code)}`,
    dim(
      `(or open ${device.verification_uri} and enter the code; it expires in ${Math.round(device.expires_in / 60)} minutes)`,
    ),
    '',
    'Waiting for approval… (Ctrl-C to cancel)',
  ].join('\n');
  if (ctx.output.isTTY && !ctx.jsonMode) ctx.output.line(lines);
  else ctx.output.info(lines);
}

async function waitForApproval(baseUrl: string, device: DeviceAuthorization) {
  let interval = device.interval ?? DEFAULT_INTERVAL_SECONDS;
  const deadline = Date.now() + device.expires_in * 1000;
  for (;;) {
    await sleep(interval * 1000);
    const result = await pollToken(baseUrl, device.device_code);
    if (result.ok) return result.body;
    switch (result.error) {
      case 'authorization_pending':
        break;
      case 'slow_down':
        interval += SLOW_DOWN_SECONDS;
        break;
      case 'access_denied':
        throw new CliError('sign-in was denied in the browser; nothing was saved', 1, 'access_denied');
      case 'expired_token':
        throw new CliError(
          'the code expired before it was approved: run `cohera login` again',
          1,
          'expired_token',
        );
      default:
        throw new CliError(
          `sign-in failed: ${result.error}${result.description ? ` (${result.description})` : ''}`,
          1,
          result.error,
        );
    }
    if (Date.now() > deadline) {
      throw new CliError(
        'the code expired before it was approved: run `cohera login` again',
        1,
        'expired_token',
      );
    }
  }
}

export async function runLogin(options: { scopes?: string }, ctx: CliContext): Promise<void> {
  const scopes = parseScopes(options.scopes);
  const baseUrl = ctx.baseUrl;
  const device = await startDeviceAuthorization(baseUrl, scopes);
  instructions(ctx, device);
  const body = await waitForApproval(baseUrl, device);
  const tokens = Tokens.fromResponse(body);
  await saveLogin(savedLoginOf(tokens, baseUrl), ctx.env);
  const info = await new Cohera({ accessToken: tokens.accessToken, baseUrl }).whoami();
  const identity = identityOf(info, baseUrl, 'saved login');
  if (ctx.jsonMode) return ctx.output.json(identity);
  const { green } = ctx.output.color;
  ctx.output.line(
    `${green('Signed in')} to ${baseUrl}: user ${info.id}, org ${info.org_id}, scopes ${info.scopes.join(' ') || '(none)'}.`,
  );
  ctx.output.line(
    `Saved to ${credentialsPath(ctx.env)} (refreshed automatically; \`cohera logout\` to sign out).`,
  );
  if (ctx.env.COHERA_API_KEY?.trim()) {
    ctx.output.warn('COHERA_API_KEY is set and wins over this login: unset it to use the login.');
  }
}
