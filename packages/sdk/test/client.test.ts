/**
 * Constructing a client: where the credential and base URL come from (there is no default server), what
 * is refused, that a credential read from a file with a trailing newline still works, and that the
 * credential never shows (inspect, JSON, errors).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ServiceAccount } from '../src/auth/index.ts';
import {
  APIError,
  AuthenticationError,
  Cohera,
  CoheraError,
  ConnectionError,
  VERSION,
} from '../src/index.ts';
import { type SdkTestServer, startServer } from './support/server.ts';

const SAMPLE_KEY = `ck_test_${'A1b2C3d4E5'.repeat(3)}xy${'000000'}`;

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return assert.fail('expected it to throw');
}

function withEnv(env: Record<string, string | undefined>, run: () => void): void {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('new Cohera()', () => {
  test('without any credential, the error names the three ways to give one', () => {
    withEnv({ COHERA_API_KEY: undefined }, () => {
      const error = thrown(() => new Cohera());
      assert.ok(error instanceof CoheraError);
      assert.equal(error.code, 'missing_credential');
      for (const way of ['apiKey', 'COHERA_API_KEY', 'accessToken', 'serviceAccount']) {
        assert.match(error.message, new RegExp(way));
      }
    });
  });

  test('reads COHERA_API_KEY and COHERA_BASE_URL from the environment', () => {
    withEnv({ COHERA_API_KEY: SAMPLE_KEY, COHERA_BASE_URL: 'http://127.0.0.1:9/' }, () => {
      const client = new Cohera();
      assert.equal(client.baseUrl, 'http://127.0.0.1:9');
    });
  });

  test('has no default server: without a base URL it refuses, naming COHERA_BASE_URL and baseUrl', () => {
    for (const unset of [undefined, '', '  \n']) {
      withEnv({ COHERA_API_KEY: SAMPLE_KEY, COHERA_BASE_URL: unset }, () => {
        for (const make of [
          () => new Cohera(),
          () => new Cohera({ apiKey: SAMPLE_KEY }),
          () => new Cohera({ accessToken: 'eyJ.token.sig' }),
          () => new Cohera({ anonymous: true }),
          () => new Cohera({ apiKey: SAMPLE_KEY, baseUrl: ' ' }),
        ]) {
          const error = thrown(make);
          assert.ok(error instanceof CoheraError);
          assert.equal(error.code, 'missing_base_url');
          assert.equal(error.status, null);
          assert.match(error.message, /COHERA_BASE_URL/);
          assert.match(error.message, /baseUrl/);
          assert.ok(!error.message.includes(SAMPLE_KEY));
        }
      });
    }
  });

  test('the baseUrl option wins over COHERA_BASE_URL; both are trimmed', () => {
    withEnv({ COHERA_BASE_URL: 'http://127.0.0.1:9/\n' }, () => {
      assert.equal(new Cohera({ apiKey: SAMPLE_KEY }).baseUrl, 'http://127.0.0.1:9');
      const given = new Cohera({ apiKey: SAMPLE_KEY, baseUrl: ' https://cohera.internal/api/ ' });
      assert.equal(given.baseUrl, 'https://cohera.internal/api');
    });
  });

  test('refuses a malformed API key without repeating it', () => {
    const almost = `${SAMPLE_KEY.slice(0, -1)}!`;
    const error = thrown(() => new Cohera({ apiKey: almost }));
    assert.ok(error instanceof CoheraError);
    assert.equal(error.code, 'invalid_credential');
    assert.ok(!error.message.includes(almost.slice(8)), 'the key must not appear in the message');
  });

  test('refuses two credentials at once, an empty token, a bad base URL, bad numbers', () => {
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, accessToken: 'x' }), /one credential/);
    assert.throws(() => new Cohera({ accessToken: '' }), /empty/);
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, baseUrl: 'not a url' }), /baseUrl/);
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, baseUrl: 'ftp://example.com' }), /http/);
    const baseUrl = 'http://127.0.0.1:9';
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, baseUrl, timeout: 0 }), RangeError);
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, baseUrl, maxRetries: -1 }), RangeError);
  });

  test('a key or token with whitespace inside is refused without repeating it', () => {
    const baseUrl = 'http://127.0.0.1:9';
    for (const inside of [`${SAMPLE_KEY.slice(0, 20)}\n${SAMPLE_KEY.slice(20)}`, `${SAMPLE_KEY} x`]) {
      const error = thrown(() => new Cohera({ apiKey: inside, baseUrl }));
      assert.ok(error instanceof CoheraError);
      assert.equal(error.code, 'invalid_credential');
      assert.match(error.message, /line break/);
      assert.ok(!error.message.includes(SAMPLE_KEY.slice(8, 20)), 'no part of the key in the message');
    }
    for (const empty of ['', ' \n', '\ufeff']) {
      const error = thrown(() => new Cohera({ apiKey: empty, baseUrl }));
      assert.ok(error instanceof CoheraError);
      assert.equal(error.code, 'invalid_credential');
      assert.match(error.message, /apiKey is empty/);
    }
    const token = thrown(() => new Cohera({ accessToken: 'eyJ.secret-token\r\n.sig', baseUrl }));
    assert.ok(token instanceof CoheraError && !token.message.includes('secret-token'));
  });

  test('the credential does not show in inspect or JSON', () => {
    const client = new Cohera({ apiKey: SAMPLE_KEY, baseUrl: 'http://127.0.0.1:9' });
    assert.ok(!inspect(client, { depth: 10, showHidden: true }).includes(SAMPLE_KEY));
    assert.ok(!JSON.stringify(client).includes(SAMPLE_KEY));
    const tokenClient = new Cohera({ accessToken: 'eyJ.secret-token.sig', baseUrl: 'http://127.0.0.1:9' });
    assert.ok(!inspect(tokenClient, { depth: 10, showHidden: true }).includes('secret-token'));
  });

  test('VERSION matches package.json', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    assert.equal(VERSION, pkg.version);
  });
});

describe('a credential read from a file (a trailing newline) works as it is', () => {
  let s: SdkTestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  test('an API key with surrounding whitespace, given or from COHERA_API_KEY', async () => {
    for (const padded of [`${s.org.adminKey}\n`, `${s.org.adminKey}\r\n`, `\ufeff${s.org.adminKey} \t`]) {
      const given = new Cohera({ apiKey: padded, baseUrl: `${s.baseUrl}\n` });
      assert.equal((await given.whoami()).kind, 'api_key');
      let fromEnv: Cohera | undefined;
      withEnv({ COHERA_API_KEY: padded, COHERA_BASE_URL: s.baseUrl }, () => {
        fromEnv = new Cohera();
      });
      assert.equal((await (fromEnv as Cohera).whoami()).kind, 'api_key');
    }
  });

  test('an access token with a newline, fixed or from a function; a bad one fails unsent', async () => {
    const admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
    const account = await admin.serviceAccounts.create({ name: 'file-token', scopes: ['read:suppliers'] });
    const sa = await ServiceAccount.fromJSON(await admin.serviceAccounts.createKey(account.id));
    const token = await sa.generateToken({ scopes: ['read:suppliers'] });
    const fixed = new Cohera({ accessToken: `${token}\n`, baseUrl: s.baseUrl });
    assert.equal((await fixed.whoami()).id, account.id);
    const viaFunction = new Cohera({ accessToken: async () => `${token}\n`, baseUrl: s.baseUrl });
    assert.equal((await viaFunction.whoami()).id, account.id);

    let sent = 0;
    const broken = new Cohera({
      accessToken: () => `${token.slice(0, 30)}\n${token.slice(30)}`,
      baseUrl: s.baseUrl,
      fetch: (input, init) => {
        sent++;
        return fetch(input, init);
      },
    });
    const error = await broken.whoami().catch((e: unknown) => e);
    assert.ok(error instanceof CoheraError);
    assert.equal(error.code, 'invalid_credential');
    assert.ok(!String(error.stack).includes(token.slice(0, 30)), 'the token is not in the error');
    assert.equal(sent, 0, 'nothing was sent');
  });
});

describe('the credential never appears in an error', () => {
  let s: SdkTestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  function headerText(headers: Headers): string {
    let text = '';
    headers.forEach((value, name) => {
      text += `${name}: ${value}\n`;
    });
    return text;
  }

  function assertClean(error: unknown, secret: string) {
    assert.ok(error instanceof CoheraError);
    const seen = [
      error.message,
      String(error.stack),
      JSON.stringify(error),
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error.problem),
      error instanceof APIError ? headerText(error.headers) : '',
    ].join('\n');
    assert.ok(!seen.includes(secret), `the credential leaked into ${error.constructor.name}`);
  }

  test('not in a 401 for an unknown key', async () => {
    const unknownKey = `ck_live_${'Zz9Yy8Xx7W'.repeat(3)}ab000000`;
    const client = new Cohera({ apiKey: unknownKey, baseUrl: s.baseUrl });
    const error = await client.certificates.list().then(
      () => assert.fail('expected a 401'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AuthenticationError);
    assertClean(error, unknownKey);
  });

  test('not in a 401 for a token', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const client = new Cohera({ accessToken: token, baseUrl: s.baseUrl });
    const error = await client.suppliers.get('sup_x').catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError);
    assertClean(error, token);
    assertClean(error, 'c2lnbmF0dXJl');
  });

  test('not in a connection error', async () => {
    const client = new Cohera({ apiKey: s.org.adminKey, baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
    const error = await client.organization.retrieve().catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.code, 'connection_error');
    assert.equal(error.status, null);
    assertClean(error, s.org.adminKey);
  });
});
