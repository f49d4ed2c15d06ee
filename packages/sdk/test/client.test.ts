/**
 * Constructing a client: where the credential and base URL come from, what is refused, and that the
 * credential never shows (inspect, JSON, errors).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
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

  test('defaults to https://api.cohera.io', () => {
    withEnv({ COHERA_BASE_URL: undefined }, () => {
      assert.equal(new Cohera({ apiKey: SAMPLE_KEY }).baseUrl, 'https://api.cohera.io');
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
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, timeout: 0 }), RangeError);
    assert.throws(() => new Cohera({ apiKey: SAMPLE_KEY, maxRetries: -1 }), RangeError);
  });

  test('the credential does not show in inspect or JSON', () => {
    const client = new Cohera({ apiKey: SAMPLE_KEY });
    assert.ok(!inspect(client, { depth: 10, showHidden: true }).includes(SAMPLE_KEY));
    assert.ok(!JSON.stringify(client).includes(SAMPLE_KEY));
    const tokenClient = new Cohera({ accessToken: 'eyJ.secret-token.sig' });
    assert.ok(!inspect(tokenClient, { depth: 10, showHidden: true }).includes('secret-token'));
  });

  test('VERSION matches package.json', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    assert.equal(VERSION, pkg.version);
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
