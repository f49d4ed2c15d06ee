export { type BuildOptions, buildApp } from './app.ts';
export { operatorAuditLog } from './audit/log.ts';
export { type ResealResult, resealAuditChain } from './audit/reseal.ts';
export {
  revokeOldSigningKeys,
  type SigningKeyRevocation,
} from './auth/oauth/revoke-signing-keys.ts';
export { rotateSigningKey } from './auth/oauth/signing-keys.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export { createLogger } from './http/logger.ts';
export { type StartOptions, startServer } from './main.ts';
export { BootstrapError, bootstrap } from './orgs/bootstrap.ts';
export { findOrg, rateLimitsOf, setTier, TIERS } from './orgs/repository.ts';
export { ListenError } from './startup/listen-error.ts';
export { type Database, openDatabase } from './storage/database.ts';
export type { Tier } from './storage/schema.ts';
