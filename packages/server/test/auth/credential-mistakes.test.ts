/**
 * Credential mistakes get answers that say what to do (src/auth/credential-mistakes.ts): `Bearer ` with
 * nothing after it points at an empty variable, whitespace around or in a key is named, a key that fails its
 * checksum was "mistyped or truncated", and a key in the query string is refused as exposed (with or without
 * a header, public routes too) without being echoed or logged. Over real HTTP on loopback, with raw bytes
 * where an HTTP client would tidy the header first.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import { capturedLogs, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  text: string;
}

forEachEngine('credential mistakes', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  let port: number;
  before(async () => {
    t = await startTestApp(handle());
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    assert.ok(address && typeof address === 'object');
    port = address.port;
    org = await createOrg(t.app, 'pro');
  });
  after(() => t.close());

  /** One request written byte for byte: the Authorization header exactly as given (`null`: none). */
  function raw(path: string, authorization: string | null): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [head = '', body = ''] = text.split('\r\n\r\n');
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({
          status: Number(statusLine.split(' ')[1]),
          headers,
          body: body.startsWith('{') ? (JSON.parse(body) as Record<string, unknown>) : {},
          text,
        });
      });
      const auth = authorization === null ? '' : `Authorization: ${authorization}\r\n`;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`);
    });
  }

  function assertProblem(res: RawResponse, status: number, code: string, detail: RegExp): string {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code, res.text);
    assert.match(String(res.body.detail), detail);
    return String(res.body.detail);
  }

  /** No part of `key` longer than its public prefix appears in `text`. */
  function assertNotEchoed(text: string, key: string): void {
    assert.ok(!text.includes(key.slice(8, 20)), `the key's random part was echoed: ${text}`);
    assert.ok(!text.includes(key.slice(-10)), `the key's end was echoed: ${text}`);
  }

  test('`Bearer ` with nothing (or only spaces) after it hints at an empty variable', async () => {
    for (const header of ['Bearer ', 'Bearer', 'Bearer     ', 'bearer \t ']) {
      const res = await raw('/v1/suppliers', header);
      assertProblem(res, 401, 'missing_credential', /variable .*(empty|unset)/);
      assert.match(String(res.body.detail), /COHERA_API_KEY/);
      // RFC 6750 §3.1: no error code when no credential was presented.
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="cohera"');
    }
    // A route with optional authentication (/health) says the same instead of answering anonymously.
    assertProblem(await raw('/health', 'Bearer '), 401, 'missing_credential', /empty or unset/);
  });

  test('whitespace around or inside the key is named; the key itself is never echoed', async () => {
    const cases: [string, RegExp][] = [
      [`Bearer  ${org.adminKey}`, /starts with a space/],
      [`Bearer \t${org.adminKey}`, /starts with a tab/],
      [`Bearer ${org.adminKey} ${generateApiKey('live')}`, /contains a space/],
      [`Bearer ${org.adminKey}\u00a0`, /ends with a non-breaking space/],
    ];
    for (const [header, detail] of cases) {
      const res = await raw('/v1/suppliers', header);
      assertProblem(res, 401, 'invalid_credential', detail);
      assertNotEchoed(res.text, org.adminKey);
    }
    // A trailing newline cannot cross HTTP/1.1 (it ends the header line) and a trailing space or tab is
    // trimmed by every HTTP parser, ours included: such a key arrives clean and works.
    assert.equal((await raw('/v1/suppliers', `Bearer ${org.adminKey} \t`)).status, 200);
    // Through the app's own request handling, where no parser trimmed it first, it is named.
    for (const [suffix, name] of [
      ['\n', 'a newline'],
      ['\r\n', 'a newline'],
      [' ', 'a space'],
    ] as const) {
      const res = await t.inject({
        method: 'GET',
        url: '/v1/suppliers',
        headers: { authorization: `Bearer ${org.adminKey}${suffix}` },
      });
      assert.equal(res.statusCode, 401, res.body);
      assert.match(res.json<{ detail: string }>().detail, new RegExp(`ends with ${name}.*trim it`));
      assertNotEchoed(res.body, org.adminKey);
    }
  });

  test('quotes, a missing scheme and non-ASCII look-alikes are named', async () => {
    assertProblem(
      await raw('/v1/suppliers', `Bearer "${org.adminKey}"`),
      401,
      'invalid_credential',
      /quotes/,
    );
    assertProblem(
      await raw('/v1/suppliers', org.adminKey),
      401,
      'invalid_credential',
      /put "Bearer " before/,
    );
    assertProblem(
      await raw('/v1/suppliers', `Basic ${Buffer.from('a:b').toString('base64')}`),
      401,
      'invalid_credential',
      /must be "Bearer <credential>"$/,
    );
    const lookalike = `${org.adminKey.slice(0, 10)}é${org.adminKey.slice(11)}`;
    assertProblem(
      await raw('/v1/suppliers', `Bearer ${lookalike}`),
      401,
      'invalid_credential',
      /printable ASCII/,
    );
  });

  test('a key failing its checksum, or of the wrong length, was "mistyped or truncated"', async () => {
    const key = org.adminKey;
    const swapped = key.slice(-1) === 'A' ? 'B' : 'A';
    // Two neighbouring characters transposed: the first pair from position 20 that differs (a random key
    // has the same character twice in a row one time in 62, and swapping those changes nothing).
    let at = 20;
    while (key[at] === key[at + 1]) at++;
    const cases: [string, RegExp][] = [
      [`${key.slice(0, -1)}${swapped}`, /checksum does not match: it was mistyped or truncated/],
      [
        `${key.slice(0, at)}${key[at + 1]}${key[at]}${key.slice(at + 2)}`,
        /checksum does not match: it was mistyped or truncated/,
      ],
      [key.slice(0, -3), /is 43 characters long where a Cohera key has 46: it was mistyped or truncated/],
      [key.slice(0, 30), /is 30 characters long .*mistyped or truncated/],
      [`${key}xyz`, /is 49 characters long .*pasted after it/],
    ];
    for (const [credential, detail] of cases) {
      const res = await raw('/v1/suppliers', `Bearer ${credential}`);
      assertProblem(res, 401, 'invalid_credential', detail);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="cohera", error="invalid_token"');
      assertNotEchoed(res.text, key);
    }
    // A well-formed key that does not exist is still just "not valid": the checksum cannot tell.
    const unknown = await raw('/v1/suppliers', `Bearer ${generateApiKey('live')}`);
    assert.equal(unknown.status, 401);
    assert.doesNotMatch(String(unknown.body.detail), /mistyped/);
  });

  test('a key in the query string is refused as exposed, with or without a header, and never logged', async () => {
    const key = org.adminKey;
    const linesBefore = capturedLogs.length;
    const cases: [string, string | null, string][] = [
      [`/v1/suppliers?api_key=${key}`, null, 'query/api_key'],
      [`/v1/suppliers?api_key=${key}`, `Bearer ${key}`, 'query/api_key'],
      [`/v1/suppliers?limit=5&key=${key}`, `Bearer ${key}`, 'query/key'],
      [
        `/v1/suppliers?access_token=${encodeURIComponent('eyJhbGciOiJFUzI1NiJ9.e30.sig')}`,
        null,
        'query/access_token',
      ],
      [`/v1/suppliers?apikey=${key}`, null, 'query/apikey'],
      // Any parameter holding something shaped like a Cohera key, even with a bad checksum.
      [`/v1/suppliers?token_for_ci=${key.slice(0, -1)}Z`, `Bearer ${key}`, 'query/token_for_ci'],
      [`/v1/suppliers?q=${encodeURIComponent(`Bearer ${key}`)}`, null, 'query/q'],
      // Public routes too: the key is exposed whatever the route.
      [`/health?api_key=${key}`, null, 'query/api_key'],
      [`/openapi.json?key=${key}`, null, 'query/key'],
    ];
    for (const [path, authorization, field] of cases) {
      const res = await raw(path, authorization);
      const detail = assertProblem(res, 400, 'validation_failed', /exposed/);
      assert.match(detail, /Roll it/);
      assert.deepEqual(
        (res.body.errors as { field: string }[]).map((e) => e.field),
        [field],
      );
      assertNotEchoed(res.text, key);
      // Refused before authentication: nothing was counted against the org.
      assert.equal(res.headers['x-ratelimit-remaining'], undefined);
    }
    // An empty parameter of that name carries nothing.
    assert.equal((await raw('/health?key=', null)).status, 200);
    // `key` is a generic name: a key *id* there (the dashboard's own links once used one) is no credential.
    assert.equal((await raw('/health?key=key_0358QshZnZJWsQpF50qAAm', null)).status, 200);
    assert.equal((await raw('/health?unrelated=1', null)).status, 200);
    // The request log kept the path, never the query string that carried the key.
    const written = capturedLogs.slice(linesBefore).join('\n');
    assert.match(written, /\/v1\/suppliers/);
    assertNotEchoed(written, key);
    // The header alone still works.
    assert.equal((await raw('/v1/suppliers', `Bearer ${key}`)).status, 200);
  });
});
