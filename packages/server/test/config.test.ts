/**
 * Configuration (DESIGN §8, src/config.ts): validated once, every problem reported on its own clear line
 * naming the setting, unknown settings refused, `*_FILE` variants, the embedded master key, frozen result;
 * and the CLI turning a bad setting into one stderr line per problem and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Config, ConfigError, loadConfig } from '../src/config.ts';
import { tempDir } from './support/config.ts';

const dirs: { remove(): void }[] = [];
function dir(): string {
  const made = tempDir('cohera-config-');
  dirs.push(made);
  return made.path;
}
after(() => {
  for (const made of dirs) made.remove();
});

const masterKey = () => randomBytes(32).toString('base64');

/** A valid base, so that only the setting under test can be wrong. */
function base(): Record<string, string> {
  return { COHERA_DATA_DIR: dir(), COHERA_MASTER_KEY: masterKey() };
}

function problemsOf(env: Record<string, string | undefined>, cwd = dir()): readonly string[] {
  try {
    loadConfig(env, cwd);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    // The message lists the same problems, one per line, for whoever prints the error itself.
    for (const problem of error.problems) assert.ok(error.message.includes(`  - ${problem}`));
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

/** Exactly one problem, on one line, naming the setting, and not echoing `secret` if given. */
function assertOneProblem(env: Record<string, string>, setting: string, secret?: string): string {
  const problems = problemsOf(env);
  assert.equal(problems.length, 1, `expected one problem, got ${JSON.stringify(problems)}`);
  const [problem = ''] = problems;
  assert.ok(problem.includes(setting), `"${problem}" does not name ${setting}`);
  assert.ok(!problem.includes('\n'), 'a problem is one line');
  if (secret !== undefined) assert.ok(!problem.includes(secret), `"${problem}" echoes the value`);
  return problem;
}

describe('invalid settings', () => {
  const cases: [title: string, env: Record<string, string>, setting: string, secret?: string][] = [
    ['a port that is not a number', { COHERA_PORT: 'abc' }, 'COHERA_PORT'],
    ['a port over 65535', { COHERA_PORT: '70000' }, 'COHERA_PORT'],
    ['a negative port', { COHERA_PORT: '-1' }, 'COHERA_PORT'],
    ['a port with trailing text', { COHERA_PORT: '8080x' }, 'COHERA_PORT'],
    ['a metrics port that is not a number', { COHERA_METRICS_PORT: 'nine' }, 'COHERA_METRICS_PORT'],
    ['an unknown log level', { COHERA_LOG_LEVEL: 'verbose' }, 'COHERA_LOG_LEVEL'],
    ['an upper-case log level', { COHERA_LOG_LEVEL: 'INFO' }, 'COHERA_LOG_LEVEL'],
    [
      'a MySQL database URL',
      { COHERA_DATABASE_URL: 'mysql://user:db-pass-1@host/db' },
      'COHERA_DATABASE_URL',
      'db-pass-1',
    ],
    [
      'a database URL that does not parse',
      { COHERA_DATABASE_URL: 'postgres//user:db-pass-2@host' },
      'COHERA_DATABASE_URL',
      'db-pass-2',
    ],
    [
      'an HTTP URL as the Redis URL',
      { COHERA_REDIS_URL: 'http://:redis-pass@localhost:6379' },
      'COHERA_REDIS_URL',
      'redis-pass',
    ],
    ['a public URL that does not parse', { COHERA_PUBLIC_URL: 'cohera.example.com' }, 'COHERA_PUBLIC_URL'],
    ['an FTP public URL', { COHERA_PUBLIC_URL: 'ftp://cohera.example.com' }, 'COHERA_PUBLIC_URL'],
    [
      'a public URL with a query',
      { COHERA_PUBLIC_URL: 'https://cohera.example.com/?a=1' },
      'COHERA_PUBLIC_URL',
    ],
    ['a short metrics token', { COHERA_METRICS_TOKEN: 'short-tok' }, 'COHERA_METRICS_TOKEN', 'short-tok'],
    ['no hashing slots', { COHERA_PASSWORD_HASH_CONCURRENCY: '0' }, 'COHERA_PASSWORD_HASH_CONCURRENCY'],
    [
      'a hashing concurrency that is not a number',
      { COHERA_PASSWORD_HASH_CONCURRENCY: 'all' },
      'COHERA_PASSWORD_HASH_CONCURRENCY',
    ],
    ['a negative hashing queue', { COHERA_PASSWORD_HASH_QUEUE: '-1' }, 'COHERA_PASSWORD_HASH_QUEUE'],
    [
      'a master key of 16 bytes',
      { COHERA_MASTER_KEY: randomBytes(16).toString('base64') },
      'COHERA_MASTER_KEY',
    ],
    [
      'a master key of 33 bytes',
      { COHERA_MASTER_KEY: randomBytes(33).toString('base64') },
      'COHERA_MASTER_KEY',
    ],
    ['a master key that is not base64', { COHERA_MASTER_KEY: 'not base64 at all!!' }, 'COHERA_MASTER_KEY'],
    ['an unknown COHERA_ setting', { COHERA_FOO: '1' }, 'COHERA_FOO'],
    ['an unknown _FILE setting', { COHERA_FOO_FILE: '/dev/null' }, 'COHERA_FOO_FILE'],
    ['a misspelt setting', { COHERA_POTR: '8080' }, 'COHERA_POTR'],
    [
      'a setting and its _FILE twin',
      { COHERA_PORT: '8080', COHERA_PORT_FILE: '/dev/null' },
      'COHERA_PORT_FILE',
    ],
  ];
  for (const [title, env, setting, secret] of cases) {
    test(`${title} is one problem naming ${setting}`, () => {
      assertOneProblem({ ...base(), ...env }, setting, secret);
    });
  }

  test('a secret master key value is never echoed', () => {
    const almost = randomBytes(31).toString('base64');
    assertOneProblem({ ...base(), COHERA_MASTER_KEY: almost }, 'COHERA_MASTER_KEY', almost);
  });

  test('PostgreSQL without a master key is a problem naming COHERA_MASTER_KEY', () => {
    const problem = assertOneProblem(
      { COHERA_DATA_DIR: dir(), COHERA_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' },
      'COHERA_MASTER_KEY',
    );
    assert.match(problem, /PostgreSQL/);
  });

  test('several problems at once are all reported, one line each', () => {
    const problems = problemsOf({
      ...base(),
      COHERA_PORT: 'abc',
      COHERA_LOG_LEVEL: 'loud',
      COHERA_REDIS_URL: 'http://localhost',
      COHERA_METRICS_TOKEN: 'x',
      COHERA_FOO: '1',
    });
    assert.equal(problems.length, 5, JSON.stringify(problems));
    for (const setting of [
      'COHERA_PORT',
      'COHERA_LOG_LEVEL',
      'COHERA_REDIS_URL',
      'COHERA_METRICS_TOKEN',
      'COHERA_FOO',
    ]) {
      assert.equal(problems.filter((p) => p.includes(setting)).length, 1, `${setting}: ${problems}`);
    }
  });

  test('a data dir that is a file is a problem, not a crash', () => {
    const parent = dir();
    const file = join(parent, 'not-a-dir');
    writeFileSync(file, 'x');
    assertOneProblem({ COHERA_DATA_DIR: file }, 'COHERA_DATA_DIR');
    assertOneProblem({ COHERA_DATA_DIR: join(file, 'below') }, 'COHERA_DATA_DIR');
  });
});

describe('valid settings', () => {
  test('defaults follow the design and the result is frozen', () => {
    const dataDir = dir();
    const config = loadConfig({ COHERA_DATA_DIR: dataDir, COHERA_MASTER_KEY: masterKey() }, dir());
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, dataDir);
    assert.equal(config.databaseUrl, null);
    assert.equal(config.redisUrl, null);
    assert.equal(config.issuer, 'cohera.io');
    assert.equal(config.audience, 'https://api.cohera.io');
    assert.equal(config.logLevel, 'info');
    // One core left for the event loop, at most 3 of libuv's 4 pool threads.
    assert.equal(config.passwordHashConcurrency, Math.min(3, Math.max(1, availableParallelism() - 1)));
    assert.equal(config.passwordHashQueue, 64);
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as Config).port = 1;
    }, TypeError);
  });

  test('values are read and typed', () => {
    const key = randomBytes(32);
    const config = loadConfig(
      {
        COHERA_DATA_DIR: dir(),
        COHERA_PORT: '9090',
        COHERA_MASTER_KEY: key.toString('base64'),
        COHERA_DATABASE_URL: 'postgresql://u@db.example:5432/cohera',
        COHERA_REDIS_URL: 'rediss://cache.example:6380',
        COHERA_PUBLIC_URL: 'https://cohera.example.com/',
        COHERA_LOG_LEVEL: 'trace',
        COHERA_METRICS_TOKEN: 'a-metrics-token-of-32-characters',
        COHERA_PASSWORD_HASH_CONCURRENCY: '8',
        COHERA_PASSWORD_HASH_QUEUE: '0',
      },
      dir(),
    );
    assert.equal(config.port, 9090);
    assert.equal(config.passwordHashConcurrency, 8);
    assert.equal(config.passwordHashQueue, 0);
    assert.ok(config.masterKey.equals(key));
    assert.equal(config.masterKeySource, 'environment');
    assert.equal(config.databaseUrl, 'postgresql://u@db.example:5432/cohera');
    assert.equal(config.redisUrl, 'rediss://cache.example:6380');
    assert.equal(config.publicUrl, 'https://cohera.example.com');
    assert.equal(config.logLevel, 'trace');
    assert.equal(config.metricsToken, 'a-metrics-token-of-32-characters');
  });

  test('a relative data dir is resolved against the working directory', () => {
    const cwd = dir();
    const config = loadConfig({ COHERA_DATA_DIR: 'data/here', COHERA_MASTER_KEY: masterKey() }, cwd);
    assert.equal(config.dataDir, resolve(cwd, 'data/here'));
  });

  test('client variables and non-Cohera variables are ignored', () => {
    const config = loadConfig(
      {
        ...base(),
        COHERA_API_KEY: 'ck_live_whatever',
        COHERA_BASE_URL: 'not even a url',
        COHERA_CLIENT_ID: 'x',
        COHERA_CLIENT_SECRET: 'y',
        COHERA_ACCESS_TOKEN: 'z',
        PATH: '/usr/bin',
        PORT: 'abc',
      },
      dir(),
    );
    assert.equal(config.port, 8080);
  });
});

describe('*_FILE variants', () => {
  test('read the file, trimming one trailing newline', () => {
    const secrets = dir();
    const key = randomBytes(32);
    const write = (name: string, content: string) => {
      const path = join(secrets, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const config = loadConfig(
      {
        COHERA_DATA_DIR: dir(),
        COHERA_MASTER_KEY_FILE: write('master', `${key.toString('base64')}\n`),
        COHERA_METRICS_TOKEN_FILE: write('metrics', 'metrics-token-from-a-file\r\n'),
        COHERA_DATABASE_URL_FILE: write('db', 'postgres://u:p@db.example/cohera\n'),
        COHERA_PORT_FILE: write('port', '7070'),
      },
      dir(),
    );
    assert.ok(config.masterKey.equals(key));
    assert.equal(config.metricsToken, 'metrics-token-from-a-file');
    assert.equal(config.databaseUrl, 'postgres://u:p@db.example/cohera');
    assert.equal(config.port, 7070);
  });

  test('a missing file is a clear problem naming the setting and the reason', () => {
    const missing = join(dir(), 'no-such-file');
    const problem = assertOneProblem(
      { ...base(), COHERA_METRICS_TOKEN_FILE: missing },
      'COHERA_METRICS_TOKEN_FILE',
    );
    assert.ok(problem.includes(missing) && problem.includes('ENOENT'), problem);
    assertOneProblem({ COHERA_DATA_DIR: dir(), COHERA_MASTER_KEY_FILE: missing }, 'COHERA_MASTER_KEY_FILE');
  });

  test('a file whose content is invalid is a problem naming the setting', () => {
    const path = join(dir(), 'port');
    writeFileSync(path, 'eighty\n');
    assertOneProblem({ ...base(), COHERA_PORT_FILE: path }, 'COHERA_PORT');
  });
});

describe('the embedded master key', () => {
  test('is generated into <dataDir>/master.key with mode 0600 and reused on the next load', () => {
    const dataDir = join(dir(), 'nested', 'data'); // does not exist yet
    const first = loadConfig({ COHERA_DATA_DIR: dataDir }, dir());
    assert.equal(first.masterKeySource, 'generated');
    assert.equal(first.masterKey.length, 32);
    const file = join(dataDir, 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first.masterKey));

    const second = loadConfig({ COHERA_DATA_DIR: dataDir }, dir());
    assert.equal(second.masterKeySource, 'data-dir');
    assert.ok(second.masterKey.equals(first.masterKey));
  });

  test('is not generated when the configuration has another problem', () => {
    const dataDir = dir();
    assertOneProblem({ COHERA_DATA_DIR: dataDir, COHERA_PORT: 'abc' }, 'COHERA_PORT');
    assert.ok(!existsSync(join(dataDir, 'master.key')));
  });

  test('a corrupt master.key is a problem naming the file', () => {
    const dataDir = dir();
    const file = join(dataDir, 'master.key');
    writeFileSync(file, 'not a key\n');
    chmodSync(file, 0o600);
    assertOneProblem({ COHERA_DATA_DIR: dataDir }, file);
  });
});

describe('cohera server with a bad setting', () => {
  const bin = resolve(import.meta.dirname, '../../cli/bin/cohera.js');

  function run(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    // The parent's own COHERA_* variables (a test database URL, say) must not leak into the child.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('COHERA_')),
    );
    const cwd = dir();
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [bin, 'server'], {
        cwd,
        env: { ...inherited, COHERA_DATA_DIR: join(cwd, 'data'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', fail);
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
    });
  }

  test('exits non-zero with one stderr line per problem and no stack', async () => {
    const { code, stdout, stderr } = await run({ COHERA_PORT: 'abc', COHERA_LOG_LEVEL: 'loud' });
    assert.notEqual(code, 0);
    assert.notEqual(code, null, 'the process exited by itself');
    assert.equal(stdout, '');
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, stderr);
    assert.ok(lines.some((line) => line.includes('COHERA_PORT')));
    assert.ok(lines.some((line) => line.includes('COHERA_LOG_LEVEL')));
    for (const line of lines) assert.match(line, /^cohera: COHERA_[A-Z_]+ /);
    assert.doesNotMatch(stderr, /\bat .*:\d+:\d+|Error:|Warning/);
  });
});

describe('PostgreSQL pool settings (COHERA_DATABASE_*)', () => {
  test('default to a 10-connection pool with 5 s, 10 s, 15 s and 60 s bounds', () => {
    assert.deepEqual(loadConfig(base(), '/').databasePool, {
      size: 10,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 10_000,
      queryTimeoutMs: 15_000,
      idleInTransactionTimeoutMs: 60_000,
    });
  });

  test('are read in whole seconds and kept in milliseconds', () => {
    const config = loadConfig(
      {
        ...base(),
        COHERA_DATABASE_POOL_SIZE: '25',
        COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
        COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '30',
        COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '45',
        COHERA_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: '120',
      },
      '/',
    );
    assert.deepEqual(config.databasePool, {
      size: 25,
      connectTimeoutMs: 2_000,
      statementTimeoutMs: 30_000,
      queryTimeoutMs: 45_000,
      idleInTransactionTimeoutMs: 120_000,
    });
  });

  const invalid: [title: string, setting: string, value: string][] = [
    ['an empty pool', 'COHERA_DATABASE_POOL_SIZE', '0'],
    ['a pool size that is not a number', 'COHERA_DATABASE_POOL_SIZE', 'ten'],
    ['a connect timeout of 0 (no bound)', 'COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS', '0'],
    ['a connect timeout in milliseconds', 'COHERA_DATABASE_CONNECT_TIMEOUT_SECONDS', '5000'],
    ['a fractional statement timeout', 'COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS', '1.5'],
    ['a query timeout of 0 (no bound)', 'COHERA_DATABASE_QUERY_TIMEOUT_SECONDS', '0'],
    ['a negative idle-in-transaction timeout', 'COHERA_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS', '-1'],
  ];
  for (const [title, setting, value] of invalid) {
    test(`${title} is one problem naming ${setting}`, () => {
      const problem = assertOneProblem({ ...base(), [setting]: value }, setting);
      assert.match(problem, /whole number of (seconds|connections) from \d+ to \d+/);
    });
  }

  test('a query timeout not above the statement timeout is one problem naming both', () => {
    const problem = assertOneProblem(
      {
        ...base(),
        COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS: '20',
        COHERA_DATABASE_QUERY_TIMEOUT_SECONDS: '20',
      },
      'COHERA_DATABASE_QUERY_TIMEOUT_SECONDS',
    );
    assert.match(problem, /COHERA_DATABASE_STATEMENT_TIMEOUT_SECONDS/);
  });
});
