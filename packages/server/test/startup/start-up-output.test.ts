/**
 * The pieces of what the server prints at start-up (the processes themselves are tested in
 * packages/cli/test/server): COHERA_LOG_FORMAT and colour from the environment, the listen-failure messages,
 * the banner and the ready line (never a password from a database or Redis URL), and pretty log lines that
 * keep pino's redaction and print no control characters from a request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createLogger, prettyDestination } from '../../src/http/logger.ts';
import { renderBanner } from '../../src/startup/banner.ts';
import { ListenError, listenError } from '../../src/startup/listen-error.ts';
import {
  describePostgres,
  describeRedis,
  type ReadyFacts,
  readyLogFields,
} from '../../src/startup/ready-facts.ts';
import { redactDatabaseUrl } from '../../src/storage/database.ts';
import { tempDir } from '../support/config.ts';

const data = tempDir('cohera-startup-');
after(() => data.remove());

function load(env: Record<string, string>, stdoutIsTTY: boolean) {
  return loadConfig(
    { COHERA_DATA_DIR: data.path, COHERA_MASTER_KEY: randomBytes(32).toString('base64'), ...env },
    data.path,
    { stdoutIsTTY },
  );
}

describe('COHERA_LOG_FORMAT and colour', () => {
  test('default: pretty on a terminal, json otherwise; an explicit value wins either way', () => {
    assert.equal(load({}, true).logFormat, 'pretty');
    assert.equal(load({}, false).logFormat, 'json');
    assert.equal(load({ COHERA_LOG_FORMAT: 'json' }, true).logFormat, 'json');
    assert.equal(load({ COHERA_LOG_FORMAT: 'pretty' }, false).logFormat, 'pretty');
  });

  test('a bad value is a configuration problem naming the variable and the allowed values', () => {
    assert.throws(
      () => load({ COHERA_LOG_FORMAT: 'PRETTY' }, true),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => /^COHERA_LOG_FORMAT must be pretty or json, got "PRETTY"/.test(p)),
    );
  });

  const cases: [string, Record<string, string>, boolean, boolean][] = [
    ['a terminal', {}, true, true],
    ['a pipe', {}, false, false],
    ['NO_COLOR on a terminal', { NO_COLOR: '1' }, true, false],
    ['an empty NO_COLOR (no-color.org: present and not empty)', { NO_COLOR: '' }, true, true],
    ['TERM=dumb', { TERM: 'dumb' }, true, false],
    ['FORCE_COLOR in a pipe', { FORCE_COLOR: '1' }, false, true],
    ['FORCE_COLOR (empty) in a pipe', { FORCE_COLOR: '' }, false, true],
    ['FORCE_COLOR over NO_COLOR', { FORCE_COLOR: '1', NO_COLOR: '1' }, true, true],
    ['FORCE_COLOR=0 on a terminal', { FORCE_COLOR: '0' }, true, false],
    ['FORCE_COLOR=false on a terminal', { FORCE_COLOR: 'false' }, true, false],
  ];
  for (const [name, env, tty, color] of cases) {
    test(`colour with ${name}: ${color}`, () => {
      assert.equal(load(env, tty).logColor, color);
    });
  }
});

describe('a port the server cannot listen on', () => {
  const api = { setting: 'COHERA_PORT', host: '127.0.0.1', port: 8080 } as const;
  const errno = (code: string) => Object.assign(new Error(`listen ${code}`), { code });

  test('in use: names the port, the host and COHERA_PORT with the next port', () => {
    const error = listenError(errno('EADDRINUSE'), api);
    assert.ok(error instanceof ListenError);
    assert.equal(error.code, 'port_in_use');
    assert.equal(
      error.message,
      'Port 8080 on 127.0.0.1 is already in use. Stop the other server, or choose another port with COHERA_PORT=8081.',
    );
    assert.match(
      listenError(errno('EADDRINUSE'), { ...api, port: 65535 })?.message ?? '',
      /COHERA_PORT=65534\.$/,
    );
  });

  test('the metrics port in use names COHERA_METRICS_PORT', () => {
    const error = listenError(errno('EADDRINUSE'), {
      setting: 'COHERA_METRICS_PORT',
      host: '0.0.0.0',
      port: 9464,
    });
    assert.equal(error?.setting, 'COHERA_METRICS_PORT');
    assert.match(
      error?.message ?? '',
      /^Metrics port 9464 on 0\.0\.0\.0 is already in use\. .*COHERA_METRICS_PORT=9465\.$/,
    );
  });

  test('privileged: suggests the unprivileged default', () => {
    const error = listenError(errno('EACCES'), { ...api, port: 80 });
    assert.equal(error?.code, 'port_not_permitted');
    assert.match(error?.message ?? '', /^Port 80 on 127\.0\.0\.1 needs privileges .* COHERA_PORT=8080,/);
  });

  test('an address that is not this machine’s, or a name that does not resolve, names COHERA_HOST', () => {
    const missing = listenError(errno('EADDRNOTAVAIL'), { ...api, host: '10.9.9.9' });
    assert.equal(missing?.code, 'address_not_available');
    assert.equal(missing?.setting, 'COHERA_HOST');
    assert.match(missing?.message ?? '', /^Cannot listen on 10\.9\.9\.9: .*COHERA_HOST/);
    assert.equal(listenError(errno('ENOTFOUND'), { ...api, host: 'nohost.invalid' })?.code, 'host_not_found');
  });

  test('any other failure is not dressed up', () => {
    assert.equal(listenError(errno('EMFILE'), api), null);
    assert.equal(listenError(new Error('boom'), api), null);
  });
});

const PASSWORD = 's3cr3t-pa55';

describe('storage descriptions hold no password', () => {
  test('PostgreSQL: host, port and database only, whether the password is in the user info or the query', () => {
    assert.equal(
      describePostgres(`postgres://app:${PASSWORD}@db.internal:6543/cohera`),
      'db.internal:6543/cohera',
    );
    assert.equal(
      describePostgres(`postgresql://db.internal/cohera?user=app&password=${PASSWORD}`),
      'db.internal:5432/cohera',
    );
    assert.equal(describePostgres('postgres:///cohera?host=/run/postgresql'), '/run/postgresql:5432/cohera');
  });

  test('Redis: host and port (and a non-zero db) only', () => {
    assert.equal(describeRedis(`redis://default:${PASSWORD}@cache:6380/2`), 'cache:6380/2');
    assert.equal(describeRedis(`rediss://:${PASSWORD}@cache`), 'cache:6379');
  });

  test('the logged database URL drops a password given in the query too (pg honours ?password=)', () => {
    const redacted = redactDatabaseUrl(
      `postgres://app:${PASSWORD}@db/cohera?sslmode=require&password=${PASSWORD}&sslpassword=${PASSWORD}`,
    );
    assert.ok(!redacted.includes(PASSWORD), redacted);
    assert.match(redacted, /sslmode=require/);
  });
});

function facts(overrides: Partial<ReadyFacts> = {}): ReadyFacts {
  return {
    version: '1.2.3',
    url: 'http://127.0.0.1:8080',
    publicUrl: 'http://127.0.0.1:8080',
    dashboard: 'http://127.0.0.1:8080/dashboard/',
    metrics: null,
    storage: 'sqlite',
    location: '/srv/cohera/.cohera/cohera.sqlite',
    redis: null,
    dataDir: '/srv/cohera/.cohera',
    masterKey: 'data-dir',
    masterKeyFile: '/srv/cohera/.cohera/master.key',
    hasOrganization: false,
    bootstrapCommand: 'npx cohera admin bootstrap --org "Acme" --email you@example.com',
    bootstrapNeeds: null,
    bootstrapInThisDirectory: true,
    ...overrides,
  };
}

describe('the banner and the ready line', () => {
  test('a fresh SQLite install: where everything is, and the bootstrap command to run from here', () => {
    const text = renderBanner(facts(), false);
    assert.match(text, /Cohera 1\.2\.3 is ready/);
    assert.match(text, /API +http:\/\/127\.0\.0\.1:8080\n/);
    assert.match(text, /Dashboard +http:\/\/127\.0\.0\.1:8080\/dashboard\/\n/);
    assert.match(text, /Storage +SQLite, \/srv\/cohera\/\.cohera\/cohera\.sqlite\n/);
    assert.match(text, /Data dir +\/srv\/cohera\/\.cohera\n/);
    assert.match(
      text,
      /in another terminal, in this directory:\n\n +npx cohera admin bootstrap --org "Acme"/,
    );
    assert.doesNotMatch(text, /Listening on|Redis|Metrics/);
    assert.ok(!text.includes('\u001b['));
  });

  test('PostgreSQL behind a proxy with an org: both addresses, Redis, sign-in as the next step', () => {
    const text = renderBanner(
      facts({
        publicUrl: 'https://api.example.com',
        dashboard: 'https://api.example.com/dashboard/',
        url: 'http://0.0.0.0:8080',
        metrics: 'http://0.0.0.0:9464/metrics',
        storage: 'postgres',
        location: 'db.internal:5432/cohera',
        redis: 'cache:6379',
        masterKey: 'environment',
        masterKeyFile: null,
        hasOrganization: true,
      }),
      false,
    );
    assert.match(text, /API +https:\/\/api\.example\.com\n +Listening on +http:\/\/0\.0\.0\.0:8080\n/);
    assert.match(text, /Storage +PostgreSQL, db\.internal:5432\/cohera\n +Redis +cache:6379\n/);
    assert.match(text, /Master key +from COHERA_MASTER_KEY/);
    assert.doesNotMatch(text, /Data dir/, 'nothing is kept there with PostgreSQL');
    assert.match(text, /Next: sign in at https:\/\/api\.example\.com\/dashboard\//);
    assert.doesNotMatch(text, /admin bootstrap/);
  });

  test('a generated master key stands out; colour only when asked for', () => {
    const generated = facts({ masterKey: 'generated' });
    assert.match(
      renderBanner(generated, false),
      /master\.key \(generated just now: back it up, or set COHERA_MASTER_KEY\)/,
    );
    assert.ok(renderBanner(generated, true).includes('\u001b['));
  });

  test('the JSON ready line carries the same facts; next_step only while there is no organization', () => {
    const fields = readyLogFields(facts());
    assert.equal(fields.dashboard, 'http://127.0.0.1:8080/dashboard/');
    assert.equal(fields.data_dir, '/srv/cohera/.cohera');
    assert.equal(fields.version, '1.2.3');
    assert.match(String(fields.next_step), /admin bootstrap/);
    assert.equal('next_step' in readyLogFields(facts({ hasOrganization: true })), false);
  });
});

describe('pretty log lines', () => {
  function capture() {
    const lines: string[] = [];
    return { lines, out: { write: (text: string) => lines.push(text) } };
  }

  test('redaction happens before rendering: no secret reaches the terminal', () => {
    const { lines, out } = capture();
    const log = createLogger('info', prettyDestination(false, out));
    log.info({ password: PASSWORD, headers: { authorization: `Bearer ${PASSWORD}` } }, 'signed in');
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]?.includes(PASSWORD), lines[0]);
    assert.match(lines[0] ?? '', /INFO: signed in .*\[redacted\]/);
  });

  test('a request line is one readable line, without the query string or control characters', () => {
    const { lines, out } = capture();
    const log = createLogger('info', prettyDestination(false, out));
    log.info(
      { req: { method: 'GET', url: `/v1/x\u001b[2J?api_key=${PASSWORD}`, ip: '127.0.0.1' } },
      'incoming request',
    );
    log.info({ res: { statusCode: 200 }, responseTime: 3.125 }, 'request completed');
    assert.match(lines[0] ?? '', /INFO: incoming request GET \/v1\/x from 127\.0\.0\.1\n$/);
    assert.match(lines[1] ?? '', /INFO: request completed 200 in 3\.1 ms\n$/);
    assert.ok(!lines.join('').includes('\u001b'));
    assert.ok(!lines.join('').includes(PASSWORD));
  });

  test('colour is off unless asked for', () => {
    const plain = capture();
    createLogger('info', prettyDestination(false, plain.out)).warn('careful');
    const coloured = capture();
    createLogger('info', prettyDestination(true, coloured.out)).warn('careful');
    assert.ok(!plain.lines.join('').includes('\u001b['));
    assert.ok(coloured.lines.join('').includes('\u001b['));
  });
});
