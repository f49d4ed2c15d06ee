/**
 * The device authorization grant (RFC 8628), for `cohera login` and other clients without a browser: the
 * engine's `deviceFlow` with our pages, and the parts the engine leaves to us.
 * - User codes: 8 letters from a 20-consonant alphabet (no vowels, so no words; no look-alike digits),
 *   shown `XXXX-XXXX`, entered in any case with or without the dash: 20^8 ≈ 2.6·10^10 codes, of which a
 *   guesser may try 10 per IP and 600 in all per 10 minutes (UserCodeThrottle) while a code lives 10
 *   minutes, so guessing a live code is hopeless (RFC 8628 §5.1).
 * - `interval` in every device authorization response (the engine omits it; RFC 8628 §3.2 defaults to 5,
 *   but clients and our contract expect it said), and `slow_down` (§3.5) for a device that polls sooner:
 *   the last poll is kept on the device code's row, so every node answers the same.
 */
import type { IncomingMessage } from 'node:http';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { type Clock, isoAt } from '../../clock.ts';
import { type LoginAttempt, reserveAttempt } from '../../ratelimit/abuse.ts';
import type { RateLimiter, WindowSpec } from '../../ratelimit/limiter.ts';
import type { DB } from '../../storage/schema.ts';
import { artifactKey } from './artifact-adapter.ts';
import {
  DEVICE_PATH,
  deviceSuccessPage,
  userCodeConfirmPage,
  userCodeInputPage,
  userCodeProblem,
} from './device-pages.ts';

export const DEVICE_ROUTES = {
  device_authorization: `${DEVICE_PATH}/auth`,
  code_verification: DEVICE_PATH,
} as const;

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** Seconds a device waits between polls (RFC 8628 §3.2 `interval`). */
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
/** How long a device code and its user code live. */
export const DEVICE_CODE_TTL_SECONDS = 600;

/** The engine keeps the per-session anti-forgery secret of the code forms here (its own pages read it too). */
function xsrfOf(ctx: KoaContextWithOIDC): string {
  const state = (ctx.oidc.session as unknown as { state?: { secret?: unknown } } | undefined)?.state;
  return typeof state?.secret === 'string' ? state.secret : '';
}

function html(ctx: KoaContextWithOIDC, body: string): void {
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

/**
 * The engine's `deviceFlow` feature with our pages. `wrongUserCodes` collects the requests where the engine
 * found no such code: the guesses UserCodeThrottle counts (the engine re-renders the form for them without
 * emitting an event, so the page hook is where they are seen).
 */
export function deviceFlowFeature(
  wrongUserCodes: WeakSet<IncomingMessage>,
): NonNullable<NonNullable<Configuration['features']>['deviceFlow']> {
  return {
    enabled: true,
    charset: 'base-20',
    mask: '****-****',
    userCodeInputSource: async (ctx, _form, _out, error) => {
      const failure = error as (Error & { userCode?: string }) | undefined;
      if (failure?.name === 'NotFoundError') wrongUserCodes.add(ctx.req);
      html(ctx, userCodeInputPage(xsrfOf(ctx), userCodeProblem(failure?.name), failure?.userCode));
    },
    userCodeConfirmSource: async (ctx, _form, client, _deviceInfo, userCode) => {
      html(
        ctx,
        userCodeConfirmPage({
          xsrf: xsrfOf(ctx),
          userCode,
          clientName: client.clientName ?? client.clientId,
        }),
      );
    },
    successSource: async (ctx) => {
      const client = ctx.oidc.client;
      html(ctx, deviceSuccessPage(client?.clientName ?? client?.clientId ?? 'The device'));
    },
  };
}

/**
 * Records this poll of a device code and answers whether it came sooner than the interval after the last
 * one. One conditional UPDATE decides, so two nodes polled at once cannot both let a fast poll through. A
 * poll that was too soon still counts as the last one: a device hammering the endpoint stays slowed down.
 */
async function polledTooSoon(db: Kysely<DB>, deviceCode: string, now: number): Promise<boolean> {
  const id = artifactKey(deviceCode);
  const polledAt = isoAt(now);
  const earliest = isoAt(now - DEVICE_POLL_INTERVAL_SECONDS * 1000);
  const inTime = await db
    .updateTable('oauth_artifacts')
    .set({ polled_at: polledAt })
    .where('model', '=', 'DeviceCode')
    .where('id', '=', id)
    .where((eb) => eb.or([eb('polled_at', 'is', null), eb('polled_at', '<=', earliest)]))
    .executeTakeFirst();
  if (inTime.numUpdatedRows > 0n) return false;
  await db
    .updateTable('oauth_artifacts')
    .set({ polled_at: polledAt })
    .where('model', '=', 'DeviceCode')
    .where('id', '=', id)
    .execute();
  return true;
}

/**
 * A code form posted, or a device authorization resumed, without a live session of the engine (its cookie
 * missing, or expired meanwhile) fails, and the engine's error path, which re-renders the code form, then
 * fails to keep the session it never saved (`persist`: a 500). Such a request is sent back to the form
 * instead, which opens a session: the person enters the code again.
 */
function sessionNeverSaved(ctx: KoaContextWithOIDC): boolean {
  const route = ctx.oidc?.route;
  if (route !== 'code_verification' && route !== 'device_resume') return false;
  const session = ctx.oidc.session as unknown as { exp?: unknown } | undefined;
  return session !== undefined && typeof session.exp !== 'number';
}

/**
 * The steps the engine's device endpoints lack: `interval`, `slow_down` (see the module comment), and a
 * way back to the form for a post without a session.
 */
export function installDeviceSteps(provider: Provider, deps: { db: Kysely<DB>; clock: Clock }): void {
  provider.use(async (koa, next) => {
    const ctx = koa as KoaContextWithOIDC;
    try {
      await next();
    } catch (error) {
      if (!sessionNeverSaved(ctx)) throw error;
      ctx.remove('set-cookie');
      ctx.redirect(DEVICE_PATH);
      ctx.status = 303;
      return;
    }
    const route = ctx.oidc?.route;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (route === 'device_authorization' && ctx.status === 200 && body) {
      body.interval = DEVICE_POLL_INTERVAL_SECONDS;
      return;
    }
    const params = route === 'token' ? ctx.oidc.params : undefined;
    if (
      params?.grant_type === DEVICE_GRANT_TYPE &&
      typeof params.device_code === 'string' &&
      body?.error === 'authorization_pending' &&
      (await polledTooSoon(deps.db, params.device_code, deps.clock.now()))
    ) {
      ctx.body = {
        error: 'slow_down',
        error_description: `polling too quickly: wait at least ${DEVICE_POLL_INTERVAL_SECONDS + 5} seconds between requests`,
      };
    }
  });
}

/** Wrong user codes a guesser may try, per IP and in all, per window (see the module comment). */
export interface UserCodeLimits {
  perIp: number;
  global: number;
  windowSeconds: number;
}

export const DEFAULT_USER_CODE_LIMITS: UserCodeLimits = { perIp: 10, global: 600, windowSeconds: 600 };

/**
 * Counts user-code attempts at `POST /oauth/device`, as LoginThrottle counts sign-ins (ratelimit/abuse.ts):
 * each attempt is reserved in the shared limiter before the engine looks the code up, atomically against
 * both windows, and given back unless it was a wrong code. So at most `limit` wrong codes are ever looked
 * up per window, however concurrent the guesses, and people who type their code right never use any.
 */
export class UserCodeThrottle {
  readonly #limiter: RateLimiter;
  readonly #clock: Clock;
  readonly #limits: UserCodeLimits;

  constructor(limiter: RateLimiter, clock: Clock, limits: UserCodeLimits = DEFAULT_USER_CODE_LIMITS) {
    this.#limiter = limiter;
    this.#clock = clock;
    this.#limits = limits;
  }

  #windows(ip: string): WindowSpec[] {
    const { perIp, global, windowSeconds } = this.#limits;
    return [
      { key: `usercode:{${ip}}`, name: 'user-code-ip', limit: perIp, windowSeconds },
      { key: 'usercode:{all}', name: 'user-code-global', limit: global, windowSeconds },
    ];
  }

  /**
   * Reserves an attempt; null when a window is full (then the answer is the number of seconds to wait).
   * The returned function gives the attempt back (call it when the code was not a wrong one).
   */
  reserve(ip: string): Promise<LoginAttempt | { retryAfter: number }> {
    return reserveAttempt(this.#limiter, this.#windows(ip), this.#clock.now());
  }
}
