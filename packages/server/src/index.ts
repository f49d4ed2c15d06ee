export { type BuildOptions, buildApp } from './app.ts';
export { rotateSigningKey } from './auth/oauth/signing-keys.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export { startServer } from './main.ts';
export { BootstrapError, bootstrap } from './orgs/bootstrap.ts';
export { findOrg, rateLimitsOf, setTier, TIERS } from './orgs/repository.ts';
export { type Database, openDatabase } from './storage/database.ts';
export type { Tier } from './storage/schema.ts';
