/**
 * A real app for tests (inject() or a listening server on loopback), its captured log lines, and fixtures
 * that make orgs and keys through the same code paths the product uses.
 */

import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateApiKey, type Mode, type Scope } from '@cohera/shared';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type BuildOptions, buildApp } from '../../src/app.ts';
import { insertApiKey } from '../../src/auth/api-keys/repository.ts';
import type { Config } from '../../src/config.ts';
import { bootstrap } from '../../src/orgs/bootstrap.ts';
import type { AbuseLimits } from '../../src/ratelimit/abuse.ts';
import type { Role, Tier } from '../../src/storage/schema.ts';
import { generatePassword, hashPassword } from '../../src/users/passwords.ts';
import { addMembership, insertUser } from '../../src/users/repository.ts';
import { testConfig } from './config.ts';
import type { EngineHandle } from './engines.ts';

export const DASHBOARD_FIXTURE = join(import.meta.dirname, '../fixtures/dashboard');

export const RELAXED_ABUSE_LIMITS: AbuseLimits = {
  authFailuresPerMinute: 1_000_000,
  loginFailuresPerIpPerMinute: 1_000_000,
  loginFailuresPerAccountPer15Minutes: 1_000_000,
};

/** Every log line any test app wrote in this process: the secret-scan test reads it. */
export const capturedLogs: string[] = [];

export function logCapture(): Writable {
  return new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) capturedLogs.push(line);
      callback();
    },
  });
}

export interface TestApp {
  app: FastifyInstance;
  config: Readonly<Config>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** A request with `Authorization: Bearer <key>`. */
  call(
    key: string,
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startTestApp(
  handle: EngineHandle,
  options: BuildOptions & {
    env?: Record<string, string>;
    /** Runs after the app is built and before it is ready: where a test adds routes of its own. */
    beforeReady?: (app: FastifyInstance) => void | Promise<void>;
  } = {},
): Promise<TestApp> {
  const { env, beforeReady, ...buildOptions } = options;
  const config = testConfig({ ...handle.env, ...env });
  const app = await buildApp(config, {
    logDestination: logCapture(),
    // Every inject() comes from 127.0.0.1, so the production abuse limits (20 failed authentications per
    // minute per IP) would turn most negative tests into 429s. Tests of the throttling pass their own limits.
    abuseLimits: RELAXED_ABUSE_LIMITS,
    // A fixed stand-in for the built dashboard: server tests never depend on whether `vite build` ran.
    dashboardDir: DASHBOARD_FIXTURE,
    ...buildOptions,
  });
  await beforeReady?.(app);
  await app.ready();
  return {
    app,
    config,
    inject: (opts) => app.inject(opts),
    call: (key, method, url, body) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
      }),
    close: () => app.close(),
  };
}

export interface TestOrg {
  orgId: string;
  userId: string;
  email: string;
  password: string;
  /** The bootstrap `admin` key (live mode). */
  adminKey: string;
}

let orgCounter = 0;

/** Bootstraps an org exactly as `cohera admin bootstrap` does. */
export async function createOrg(app: FastifyInstance, tier: Tier = 'pro'): Promise<TestOrg> {
  orgCounter++;
  const result = await bootstrap(
    app.deps.db,
    { orgName: `Org ${orgCounter}`, email: `owner${orgCounter}.${Date.now()}@example.com`, tier },
    app.deps.clock.now(),
  );
  return {
    orgId: result.org_id,
    userId: result.user_id,
    email: result.email,
    password: result.password,
    adminKey: result.api_key,
  };
}

/** Mints an API key for an org with the given scopes and mode; returns the plaintext key. */
export async function createKey(
  app: FastifyInstance,
  org: Pick<TestOrg, 'orgId' | 'userId'>,
  scopes: Scope[],
  mode: Mode = 'live',
  extra: { expiresAt?: string | null; rateLimitPerMinute?: number | null } = {},
): Promise<string> {
  const key = generateApiKey(mode);
  await insertApiKey(
    app.deps.db,
    { orgId: org.orgId, mode },
    key,
    {
      name: `test key ${scopes.join(' ')}`,
      scopes,
      expiresAt: extra.expiresAt ?? null,
      rateLimitPerMinute: extra.rateLimitPerMinute ?? null,
      createdBy: { kind: 'user', id: org.userId },
    },
    app.deps.clock.now(),
  );
  return key;
}

let memberCounter = 0;

/** Adds a person to an org with a role and a password, as an invitation would (for role-limited tests). */
export async function createMember(
  t: Pick<TestApp, 'app'>,
  org: Pick<TestOrg, 'orgId'>,
  role: Role,
): Promise<{ userId: string; email: string; password: string }> {
  memberCounter++;
  const now = t.app.deps.clock.now();
  const password = generatePassword();
  const email = `${role}${memberCounter}.${now}@example.com`;
  const user = await insertUser(t.app.deps.db, { email, passwordHash: await hashPassword(password) }, now);
  await addMembership(t.app.deps.db, { orgId: org.orgId, userId: user.id, role }, now);
  return { userId: user.id, email, password };
}
