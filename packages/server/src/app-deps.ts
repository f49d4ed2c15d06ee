/** What every route plugin receives: built once in buildApp, never read from globals. */
import type { Kysely } from 'kysely';
import type { AuditLog } from './audit/log.ts';
import type { ApiKeyVerifier } from './auth/api-keys/verifier.ts';
import type { OAuthServer } from './auth/oauth/provider.ts';
import type { OAuthTokenVerifier } from './auth/oauth/token-verifier.ts';
import type { ServiceAccountVerifier } from './auth/service-accounts/verifier.ts';
import type { CsrfTokens } from './auth/sessions/store.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { EmailSender } from './email/sender.ts';
import type { AuthFailureGuard, LoginThrottle } from './ratelimit/abuse.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import type { OrgLimitCache } from './ratelimit/org-limits.ts';
import type { ResourceReadCache } from './resources/read-cache.ts';
import type { InvalidationBus } from './state/invalidation-bus.ts';
import type { Database } from './storage/database.ts';
import type { DB } from './storage/schema.ts';
import type { UsageRecorder } from './usage/recorder.ts';
import type { PasswordHasher } from './users/password-hasher.ts';
import type { WebhookDispatcher } from './webhooks/delivery/dispatcher.ts';

export interface AppDeps {
  config: Readonly<Config>;
  database: Database;
  db: Kysely<DB>;
  clock: Clock;
  apiKeys: ApiKeyVerifier;
  /** Service-account JWTs (its verified-token cache counts `hits`/`misses`). */
  serviceAccounts: ServiceAccountVerifier;
  /** OAuth access tokens at the API (its verified-token cache counts `hits`/`misses`). */
  oauthTokens: OAuthTokenVerifier;
  /** The OAuth authorization server (oidc-provider). */
  oauth: OAuthServer;
  csrf: CsrfTokens;
  bus: InvalidationBus;
  limiter: RateLimiter;
  orgLimits: OrgLimitCache;
  loginThrottle: LoginThrottle;
  /** argon2id on request paths: bounded in flight and queued per node (COHERA_PASSWORD_HASH_*). */
  passwords: PasswordHasher;
  /** Failed authentication per client IP: API credentials and OAuth client authentication alike. */
  authFailures: AuthFailureGuard;
  readCache: ResourceReadCache;
  usage: UsageRecorder;
  /** The audit log: `record` in a management action's transaction, `enqueue` for high-volume events. */
  audit: AuditLog;
  /**
   * This node's webhook delivery worker (webhooks/delivery: WebhookDispatcher). Producers call `wake()` after
   * the transaction that emitted an event commits, so it is sent at once; workers also poll.
   */
  webhooks: WebhookDispatcher;
  /** Drains the e-mail outbox to SMTP when COHERA_SMTP_URL is set; `wake()` after a commit that queued mail. */
  email: EmailSender;
}
