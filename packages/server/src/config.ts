/**
 * Configuration (DESIGN §8): read from the environment once, validated, frozen and passed down. Nothing
 * else in the server reads `process.env`. Every problem is reported, one line each, before start-up stops.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type ClientLimits, parseClientLimits } from './http/client-limits.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** `pretty`: a start-up banner and one readable line per event, for people; `json`: one object per line. */
export type LogFormat = 'pretty' | 'json';

/** What loadConfig needs to know about where the process writes, for the defaults that depend on it. */
export interface Terminal {
  stdoutIsTTY: boolean;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `postgres://…` switches storage to PostgreSQL; absent means SQLite in `dataDir`. */
  databaseUrl: string | null;
  /** PostgreSQL pool size and timeouts (COHERA_DATABASE_*; storage/database.ts says what each bounds). */
  databasePool: DatabasePoolSettings;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several installations (or test runs) can share a Redis. */
  redisPrefix: string;
  /**
   * The longest a request waits on one Redis command before it is decided locally, and the bound on each
   * invalidation publish and health PING (COHERA_REDIS_COMMAND_TIMEOUT_MS; docs/operations.md).
   */
  redisCommandTimeoutMs: number;
  /** 32 bytes; encrypts secrets the server must reuse and keys HMACs (CSRF tokens). */
  masterKey: Buffer;
  /** Where the master key came from; `generated` is worth a warning at start-up. */
  masterKeySource: 'environment' | 'data-dir' | 'generated';
  issuer: string;
  audience: string;
  /** The URL users reach the server at; decides cookie `Secure` and absolute links. */
  publicUrl: string;
  logLevel: LogLevel;
  /** COHERA_LOG_FORMAT; by default `pretty` when stdout is a terminal and `json` otherwise. */
  logFormat: LogFormat;
  /** Whether pretty output is coloured (NO_COLOR / FORCE_COLOR conventions; see parseLogOutput). */
  logColor: boolean;
  metricsToken: string | null;
  metricsPort: number | null;
  /**
   * Whom to believe about the client IP (X-Forwarded-For): `false` (default: the socket peer), `true`
   * (any proxy), a hop count, or a comma-separated list of proxy addresses/CIDRs.
   */
  trustProxy: boolean | number | string;
  /** Which API calls the audit log records: none, state changes only (default), or every call. */
  auditApiCalls: 'none' | 'writes' | 'all';
  /** Audit events older than this many days are deleted (the chain stays verifiable). */
  auditRetentionDays: number;
  /** How often signed digests of the audit chains that moved are made, in seconds (1–300). */
  auditDigestIntervalSeconds: number;
  /** An absolute file path each audit digest is also appended to (NDJSON, created 0600), or null. */
  auditDigestSink: string | null;
  /** argon2id hashes (sign-in) in flight at once on this node. */
  passwordHashConcurrency: number;
  /** Hashes that may wait for a slot; one more is answered 503 at once. */
  passwordHashQueue: number;
  /** Webhooks may use `http://` and reach private addresses: development and tests only (a start-up warning). */
  webhooksAllowPrivate: boolean;
  /** How long a webhook delivery may take before it counts as failed, in seconds (1–60). */
  webhookTimeoutSeconds: number;
  /** Seconds to wait before each retry of a failed delivery; after the last one the message is `failed`. */
  webhookRetrySchedule: readonly number[];
  /** An endpoint whose deliveries have all failed for this many hours is disabled (1–8760). */
  webhookDisableAfterHours: number;
  /** How often each node scans for certificates and API keys crossing an expiry threshold, in seconds (1–3600). */
  webhookSchedulerIntervalSeconds: number;
  /**
   * Where GitHub publishes the keys that sign secret-scanning reports to `POST /v1/leaks/github` (DESIGN §5.6):
   * JSON `{public_keys: [{key_identifier, key, is_current}]}`. Fetched on the first report, then cached.
   */
  githubScanningKeysUrl: string;
  /**
   * Where the e-mail outbox is delivered (`smtp://` or `smtps://`, credentials in the URL), or null: messages
   * then stay in the `email_outbox` table and the log (docs/team.md#e-mail).
   */
  smtpUrl: string | null;
  /** The `From` of every message the server sends. */
  smtpFrom: string;
  /** Request, header, keep-alive and idle timeouts and the connection cap (http/client-limits.ts). */
  clientLimits: ClientLimits;
}

/** PostgreSQL connections of one node, in milliseconds (docs/configuration.md#postgresql-timeouts). */
export interface DatabasePoolSettings {
  /** Connections per node (COHERA_DATABASE_POOL_SIZE). */
  size: number;
  /** Wait for a connection: a new one's handshake, or a free one when all are busy. */
  connectTimeoutMs: number;
  /** `statement_timeout`: PostgreSQL cancels a statement running longer (the connection stays usable). */
  statementTimeoutMs: number;
  /** Client-side wait for any answer; ends the wait when the server cannot (frozen, partitioned). */
  queryTimeoutMs: number;
  /** `idle_in_transaction_session_timeout`: a session holding a transaction open, idle, this long is ended. */
  idleInTransactionTimeoutMs: number;
}

/** Settings the server knows. Anything else named `COHERA_*` is a typo and stops start-up. */
const SETTINGS = [
  'COHERA_PORT',
  'COHERA_HOST',
  'COHERA_DATA_DIR',
  'COHERA_DATABASE_URL',
  'COHERA_DATABASE_POOL_SIZE',
  'COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS',
  'COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS',
  'COHERA_DATABASE_QUERY_TIMEOUT_SECONDS',
  'COHERA_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS',
  'COHERA_REDIS_URL',
  'COHERA_REDIS_PREFIX',
  'COHERA_REDIS_COMMAND_TIMEOUT_MS',
  'COHERA_MASTER_KEY',
  'COHERA_ISSUER',
  'COHERA_AUDIENCE',
  'COHERA_PUBLIC_URL',
  'COHERA_LOG_LEVEL',
  'COHERA_LOG_FORMAT',
  'COHERA_METRICS_TOKEN',
  'COHERA_METRICS_PORT',
  'COHERA_TRUST_PROXY',
  'COHERA_AUDIT_API_CALLS',
  'COHERA_AUDIT_RETENTION_DAYS',
  'COHERA_AUDIT_DIGEST_INTERVAL',
  'COHERA_AUDIT_DIGEST_SINK',
  'COHERA_PASSWORD_HASH_CONCURRENCY',
  'COHERA_PASSWORD_HASH_QUEUE',
  'COHERA_WEBHOOKS_ALLOW_PRIVATE',
  'COHERA_WEBHOOK_TIMEOUT_SECONDS',
  'COHERA_WEBHOOK_RETRY_SCHEDULE',
  'COHERA_WEBHOOK_DISABLE_AFTER_HOURS',
  'COHERA_WEBHOOK_SCHEDULER_INTERVAL_SECONDS',
  'COHERA_GITHUB_SCANNING_KEYS_URL',
  'COHERA_SMTP_URL',
  'COHERA_SMTP_FROM',
  'COHERA_REQUEST_TIMEOUT_SECONDS',
  'COHERA_HEADERS_TIMEOUT_SECONDS',
  'COHERA_KEEP_ALIVE_TIMEOUT_SECONDS',
  'COHERA_IDLE_TIMEOUT_SECONDS',
  'COHERA_MAX_CONNECTIONS',
] as const;
type Setting = (typeof SETTINGS)[number];

/** Variables meant for the SDK and CLI as clients; they may share an environment with the server. */
const CLIENT_VARIABLES = new Set([
  'COHERA_API_KEY',
  'COHERA_BASE_URL',
  'COHERA_CLIENT_ID',
  'COHERA_CLIENT_SECRET',
  'COHERA_ACCESS_TOKEN',
  'COHERA_SERVICE_ACCOUNT_FILE',
]);

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads `NAME`, or the file named by `NAME_FILE` (trailing newline trimmed); both set is a problem. */
function readRaw(env: Env, name: Setting, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    problems.push(`${name} and ${name}_FILE are both set: set only one`);
    return undefined;
  }
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(
        `${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return undefined;
    }
  }
  return direct === '' ? undefined : direct;
}

function parsePort(name: Setting, raw: string | undefined, fallback: number | null, problems: string[]) {
  if (raw === undefined) return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    problems.push(`${name} must be a port number from 0 to 65535, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

function parseUrl(name: Setting, raw: string, protocols: readonly string[], problems: string[]): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${name} must be a URL, got a value that does not parse`);
    return null;
  }
  if (!protocols.includes(url.protocol)) {
    problems.push(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`);
    return null;
  }
  return url;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function decodeMasterKey(raw: string, source: string, problems: string[]): Buffer | null {
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw.trim())
    ? Buffer.from(raw.trim(), 'base64')
    : Buffer.alloc(0);
  if (key.length !== 32) {
    problems.push(`${source} must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
    return null;
  }
  return key;
}

/**
 * Validates the environment into a frozen Config. Throws ConfigError listing every problem.
 * `cwd` resolves a relative data dir; on the embedded default a missing master key is generated in the
 * data dir (mode 0600) because an embedded install must start with no setup at all. `terminal` decides the
 * log format's and colour's defaults (a person at a terminal, or a log collector).
 */
export function loadConfig(
  env: Env = process.env,
  cwd: string = process.cwd(),
  terminal: Terminal = { stdoutIsTTY: process.stdout.isTTY === true },
): Readonly<Config> {
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('COHERA_') || CLIENT_VARIABLES.has(name)) continue;
    const base = name.endsWith('_FILE') ? name.slice(0, -5) : name;
    if (!(SETTINGS as readonly string[]).includes(base)) problems.push(`${name} is not a known setting`);
  }

  const port = parsePort('COHERA_PORT', readRaw(env, 'COHERA_PORT', problems), 8080, problems) ?? 8080;
  const metricsPort = parsePort(
    'COHERA_METRICS_PORT',
    readRaw(env, 'COHERA_METRICS_PORT', problems),
    null,
    problems,
  );
  const host = readRaw(env, 'COHERA_HOST', problems) ?? '127.0.0.1';

  const dataDirRaw = readRaw(env, 'COHERA_DATA_DIR', problems) ?? './.cohera';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);

  const databaseRaw = readRaw(env, 'COHERA_DATABASE_URL', problems);
  const databaseUrl =
    databaseRaw === undefined
      ? null
      : parseUrl('COHERA_DATABASE_URL', databaseRaw, ['postgres:', 'postgresql:'], problems)
        ? databaseRaw
        : null;
  const databasePool = parseDatabasePoolSettings(env, problems);
  const redisRaw = readRaw(env, 'COHERA_REDIS_URL', problems);
  const redisUrl =
    redisRaw === undefined
      ? null
      : parseUrl('COHERA_REDIS_URL', redisRaw, ['redis:', 'rediss:'], problems)
        ? redisRaw
        : null;

  const redisPrefix = readRaw(env, 'COHERA_REDIS_PREFIX', problems) ?? 'cohera:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) {
    problems.push('COHERA_REDIS_PREFIX must be 1 to 64 characters of letters, digits, ":", "_", "." or "-"');
  }
  const redisTimeoutRaw = readRaw(env, 'COHERA_REDIS_COMMAND_TIMEOUT_MS', problems);
  let redisCommandTimeoutMs = 1_000;
  if (redisTimeoutRaw !== undefined) {
    const ms = Number(redisTimeoutRaw);
    if (!/^\d{1,5}$/.test(redisTimeoutRaw) || ms < 50 || ms > 10_000) {
      problems.push(
        `COHERA_REDIS_COMMAND_TIMEOUT_MS must be a whole number of milliseconds from 50 to 10000, got "${redisTimeoutRaw}"`,
      );
    } else redisCommandTimeoutMs = ms;
  }

  const logLevelRaw = readRaw(env, 'COHERA_LOG_LEVEL', problems) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelRaw)) {
    problems.push(`COHERA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"`);
  }
  const logOutput = parseLogOutput(env, terminal, problems);

  const issuer = readRaw(env, 'COHERA_ISSUER', problems) ?? 'cohera.io';
  const audience = readRaw(env, 'COHERA_AUDIENCE', problems) ?? 'https://api.cohera.io';
  const publicRaw = readRaw(env, 'COHERA_PUBLIC_URL', problems);
  let publicUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (publicRaw !== undefined) {
    const url = parseUrl('COHERA_PUBLIC_URL', publicRaw, ['http:', 'https:'], problems);
    if (url) {
      if (url.search || url.hash) problems.push('COHERA_PUBLIC_URL must not have a query or fragment');
      publicUrl = url.href.replace(/\/$/, '');
    }
  }

  const metricsToken = readRaw(env, 'COHERA_METRICS_TOKEN', problems) ?? null;
  if (metricsToken !== null && metricsToken.length < 16) {
    problems.push('COHERA_METRICS_TOKEN must be at least 16 characters');
  }

  const trustRaw = readRaw(env, 'COHERA_TRUST_PROXY', problems);
  let trustProxy: boolean | number | string = false;
  if (trustRaw === 'true' || trustRaw === 'false') trustProxy = trustRaw === 'true';
  else if (trustRaw !== undefined && /^\d{1,2}$/.test(trustRaw)) trustProxy = Number(trustRaw);
  else if (trustRaw !== undefined && /^[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*$/.test(trustRaw))
    trustProxy = trustRaw;
  else if (trustRaw !== undefined) {
    problems.push(
      'COHERA_TRUST_PROXY must be true, false, a hop count, or a comma-separated list of addresses/CIDRs',
    );
  }

  const auditRaw = readRaw(env, 'COHERA_AUDIT_API_CALLS', problems) ?? 'writes';
  if (auditRaw !== 'none' && auditRaw !== 'writes' && auditRaw !== 'all') {
    problems.push(`COHERA_AUDIT_API_CALLS must be none, writes or all, got "${auditRaw}"`);
  }
  const retentionRaw = readRaw(env, 'COHERA_AUDIT_RETENTION_DAYS', problems) ?? '365';
  if (!/^\d{1,5}$/.test(retentionRaw) || Number(retentionRaw) < 1) {
    problems.push(`COHERA_AUDIT_RETENTION_DAYS must be a whole number of days from 1, got "${retentionRaw}"`);
  }
  // At most 5 minutes: digests are how a truncation is found from outside; the gap they leave stays short.
  const digestIntervalRaw = readRaw(env, 'COHERA_AUDIT_DIGEST_INTERVAL', problems) ?? '300';
  const digestInterval = Number(digestIntervalRaw);
  if (!/^\d{1,3}$/.test(digestIntervalRaw) || digestInterval < 1 || digestInterval > 300) {
    problems.push(
      `COHERA_AUDIT_DIGEST_INTERVAL must be a whole number of seconds from 1 to 300, got "${digestIntervalRaw}"`,
    );
  }
  const digestSinkRaw = readRaw(env, 'COHERA_AUDIT_DIGEST_SINK', problems);
  const auditDigestSink = digestSinkRaw === undefined ? null : resolve(cwd, digestSinkRaw);
  if (auditDigestSink !== null && !isDirectory(dirname(auditDigestSink))) {
    problems.push(`COHERA_AUDIT_DIGEST_SINK: the directory of ${auditDigestSink} does not exist`);
  }

  // Default: one core left for the event loop, and at most 3 of libuv's 4 pool threads, where argon2 runs
  // beside file reads, DNS and WebCrypto (users/password-hasher.ts says why the bound exists).
  const hashConcurrencyDefault = Math.min(3, Math.max(1, availableParallelism() - 1));
  const hashConcurrencyRaw = readRaw(env, 'COHERA_PASSWORD_HASH_CONCURRENCY', problems);
  const passwordHashConcurrency =
    hashConcurrencyRaw === undefined ? hashConcurrencyDefault : Number(hashConcurrencyRaw);
  if (
    hashConcurrencyRaw !== undefined &&
    (!/^\d{1,2}$/.test(hashConcurrencyRaw) || passwordHashConcurrency < 1)
  ) {
    problems.push(
      `COHERA_PASSWORD_HASH_CONCURRENCY must be a whole number from 1 to 99, got "${hashConcurrencyRaw}"`,
    );
  }
  const hashQueueRaw = readRaw(env, 'COHERA_PASSWORD_HASH_QUEUE', problems) ?? '64';
  if (!/^\d{1,5}$/.test(hashQueueRaw)) {
    problems.push(`COHERA_PASSWORD_HASH_QUEUE must be a whole number from 0 to 99999, got "${hashQueueRaw}"`);
  }

  const webhooks = parseWebhookSettings(env, problems);
  const githubKeysRaw =
    readRaw(env, 'COHERA_GITHUB_SCANNING_KEYS_URL', problems) ?? DEFAULT_GITHUB_SCANNING_KEYS_URL;
  // http is allowed for a key server on the operator's own network (and tests); the keys only verify.
  const githubKeysUrl = parseUrl(
    'COHERA_GITHUB_SCANNING_KEYS_URL',
    githubKeysRaw,
    ['https:', 'http:'],
    problems,
  );
  const githubScanningKeysUrl = githubKeysUrl ? githubKeysRaw : DEFAULT_GITHUB_SCANNING_KEYS_URL;

  let masterKey: Buffer | null = null;
  let masterKeySource: Config['masterKeySource'] = 'environment';
  const masterRaw = readRaw(env, 'COHERA_MASTER_KEY', problems);
  if (masterRaw !== undefined) {
    masterKey = decodeMasterKey(masterRaw, 'COHERA_MASTER_KEY', problems);
  } else if (databaseUrl !== null) {
    problems.push('COHERA_MASTER_KEY is required with PostgreSQL (every node must share it)');
  } else if (problems.length === 0) {
    ({ key: masterKey, source: masterKeySource } = embeddedMasterKey(dataDir, problems));
  }

  const smtp = parseSmtpSettings(env, problems);
  const clientLimits = parseClientLimits((name) => readRaw(env, name, problems), problems);
  if (problems.length > 0 || masterKey === null) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    dataDir,
    databaseUrl,
    databasePool,
    redisUrl,
    redisPrefix,
    redisCommandTimeoutMs,
    masterKey,
    masterKeySource,
    issuer,
    audience,
    publicUrl,
    logLevel: logLevelRaw as LogLevel,
    ...logOutput,
    metricsToken,
    metricsPort,
    trustProxy,
    auditApiCalls: auditRaw as Config['auditApiCalls'],
    auditRetentionDays: Number(retentionRaw),
    auditDigestIntervalSeconds: digestInterval,
    auditDigestSink,
    passwordHashConcurrency,
    passwordHashQueue: Number(hashQueueRaw),
    ...webhooks,
    githubScanningKeysUrl,
    ...smtp,
    clientLimits,
  });
}

/**
 * COHERA_LOG_FORMAT, and whether pretty output is coloured, by the conventions most tools share (and Node's
 * own, in this order): FORCE_COLOR decides when set (empty, 1, 2, 3 or true: colour; anything else, such as
 * 0 or false: none); else NO_COLOR with a non-empty value (https://no-color.org) or TERM=dumb means none; else a
 * terminal gets colour.
 */
function parseLogOutput(env: Env, terminal: Terminal, problems: string[]) {
  const raw = readRaw(env, 'COHERA_LOG_FORMAT', problems);
  if (raw !== undefined && raw !== 'pretty' && raw !== 'json') {
    problems.push(
      `COHERA_LOG_FORMAT must be pretty or json, got "${raw}" (default: pretty on a terminal, json otherwise)`,
    );
  }
  const logFormat: LogFormat =
    raw === 'pretty' || raw === 'json' ? raw : terminal.stdoutIsTTY ? 'pretty' : 'json';
  const force = env.FORCE_COLOR;
  const logColor =
    force !== undefined
      ? ['', '1', '2', '3', 'true'].includes(force)
      : !env.NO_COLOR && env.TERM !== 'dumb' && terminal.stdoutIsTTY;
  return { logFormat, logColor };
}

/**
 * PostgreSQL pool bounds (docs/configuration.md#postgresql-timeouts). Whole seconds, each with a range that
 * keeps it useful. The client-side query timeout must exceed the server's statement timeout: a slow
 * statement is then cancelled by PostgreSQL, which leaves the connection usable, and the client-side bound
 * only fires when the server cannot answer at all (frozen, partitioned).
 */
function parseDatabasePoolSettings(env: Env, problems: string[]): DatabasePoolSettings {
  const whole = (name: Setting, fallback: number, min: number, max: number, unit: string): number => {
    const raw = readRaw(env, name, problems);
    if (raw === undefined) return fallback;
    if (!/^\d{1,5}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number of ${unit} from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  const size = whole('COHERA_DATABASE_POOL_SIZE', 10, 1, 1000, 'connections');
  const connect = whole('COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS', 5, 1, 300, 'seconds');
  const statement = whole('COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS', 10, 1, 3600, 'seconds');
  const query = whole('COHERA_DATABASE_QUERY_TIMEOUT_SECONDS', 15, 2, 3601, 'seconds');
  const idle = whole('COHERA_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS', 60, 1, 86_400, 'seconds');
  if (query <= statement) {
    problems.push(
      `COHERA_DATABASE_QUERY_TIMEOUT_SECONDS (${query}) must be greater than COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS (${statement}), so PostgreSQL cancels a slow statement before the client gives up on its connection`,
    );
  }
  return Object.freeze({
    size,
    connectTimeoutMs: connect * 1000,
    statementTimeoutMs: statement * 1000,
    queryTimeoutMs: query * 1000,
    idleInTransactionTimeoutMs: idle * 1000,
  });
}

/** The SMTP relay of the e-mail outbox (email/sender.ts); its password is never logged (redactSmtpUrl). */
function parseSmtpSettings(env: Env, problems: string[]) {
  const url = readRaw(env, 'COHERA_SMTP_URL', problems) ?? null;
  if (url !== null) {
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'smtp:' && protocol !== 'smtps:') {
      problems.push(
        'COHERA_SMTP_URL must be an smtp:// or smtps:// URL (e.g. smtps://user:pass@smtp.example.com)',
      );
    }
  }
  const from = readRaw(env, 'COHERA_SMTP_FROM', problems) ?? 'Cohera <no-reply@cohera.invalid>';
  if (from.length > 254 || !/^[^\r\n]*@[^\r\n]*$/.test(from)) {
    problems.push(
      `COHERA_SMTP_FROM must be one e-mail address, optionally with a name ("Cohera <no-reply@example.com>")`,
    );
  }
  return { smtpUrl: url, smtpFrom: from };
}

/** GitHub's published secret-scanning signing keys (DESIGN §5.6). */
export const DEFAULT_GITHUB_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** DESIGN §5.5: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (about 3 days in all). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [
  5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
] as const;

function parseWebhookSettings(env: Env, problems: string[]) {
  const allowRaw = readRaw(env, 'COHERA_WEBHOOKS_ALLOW_PRIVATE', problems) ?? 'false';
  if (allowRaw !== 'true' && allowRaw !== 'false') {
    problems.push(`COHERA_WEBHOOKS_ALLOW_PRIVATE must be true or false, got "${allowRaw}"`);
  }
  // At most a minute: a worker slot is held for the whole wait, and a receiver should answer at once.
  const timeoutRaw = readRaw(env, 'COHERA_WEBHOOK_TIMEOUT_SECONDS', problems) ?? '15';
  if (!/^\d{1,2}$/.test(timeoutRaw) || Number(timeoutRaw) < 1 || Number(timeoutRaw) > 60) {
    problems.push(
      `COHERA_WEBHOOK_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 60, got "${timeoutRaw}"`,
    );
  }
  const scheduleRaw = readRaw(env, 'COHERA_WEBHOOK_RETRY_SCHEDULE', problems);
  let schedule: readonly number[] = DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  if (scheduleRaw !== undefined) {
    const parts = scheduleRaw.split(',').map((part) => part.trim());
    // Up to 20 retries of up to a week each: enough for any policy, bounded so a typo cannot queue forever.
    if (
      parts.length > 20 ||
      parts.some((p) => !/^\d{1,6}$/.test(p) || Number(p) < 1 || Number(p) > 604_800)
    ) {
      problems.push(
        'COHERA_WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated whole numbers of seconds from 1 to 604800',
      );
    } else {
      schedule = Object.freeze(parts.map(Number));
    }
  }
  const disableRaw = readRaw(env, 'COHERA_WEBHOOK_DISABLE_AFTER_HOURS', problems) ?? '120';
  if (!/^\d{1,4}$/.test(disableRaw) || Number(disableRaw) < 1 || Number(disableRaw) > 8760) {
    problems.push(
      `COHERA_WEBHOOK_DISABLE_AFTER_HOURS must be a whole number of hours from 1 to 8760, got "${disableRaw}"`,
    );
  }
  return {
    webhooksAllowPrivate: allowRaw === 'true',
    webhookTimeoutSeconds: Number(timeoutRaw),
    webhookRetrySchedule: schedule,
    webhookDisableAfterHours: Number(disableRaw),
    webhookSchedulerIntervalSeconds: parseSchedulerInterval(env, problems),
  };
}

/** The expiry scan runs on every node; its events are deduplicated, so the interval only sets how late one can be. */
function parseSchedulerInterval(env: Env, problems: string[]): number {
  const raw = readRaw(env, 'COHERA_WEBHOOK_SCHEDULER_INTERVAL_SECONDS', problems) ?? '60';
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 3600) {
    problems.push(
      `COHERA_WEBHOOK_SCHEDULER_INTERVAL_SECONDS must be a whole number of seconds from 1 to 3600, got "${raw}"`,
    );
  }
  return Number(raw);
}

function embeddedMasterKey(dataDir: string, problems: string[]) {
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) {
    const key = decodeMasterKey(readFileSync(file, 'utf8'), file, problems);
    return { key, source: 'data-dir' as const };
  }
  const key = randomBytes(32);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // `wx`: never overwrite a key another process wrote a moment ago (two starts at once).
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { key, source: 'generated' as const };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    // A data dir that is a file, or sits under one, or is not writable is a configuration problem too.
    if (code !== 'EEXIST' || !existsSync(file)) {
      const reason = code === 'EEXIST' || code === 'ENOTDIR' ? 'part of the path is not a directory' : code;
      problems.push(`COHERA_DATA_DIR: cannot create ${file} (${reason})`);
      return { key: null, source: 'generated' as const };
    }
    return { key: decodeMasterKey(readFileSync(file, 'utf8'), file, problems), source: 'data-dir' as const };
  }
}
