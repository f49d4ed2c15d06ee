/**
 * `cohera keys …` against a real server: `--json` is the API's object (compared with the SDK), the key is
 * printed once by create and roll and never by list or get, revoke refuses without a terminal unless
 * `--yes`, lists paginate with `--limit`/`--all`, and failures exit 1 with the problem's message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApiKey, ApiKeyWithSecret, ListResponse } from '../../src/sdk.ts';
import {
  assertNoEscapes,
  comparable,
  json,
  occurrences,
  ok,
  plain,
  type Server,
  startServer,
} from './support.ts';

const KEY = /ck_(live|test)_[0-9A-Za-z]{38}/g;

describe('cohera keys', () => {
  let s: Server;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  test('create → get → list → roll → revoke: the secret shows once, at create and at roll', async () => {
    const createRun = await s.cohera([
      'keys',
      'create',
      '--name',
      'ci',
      '--scopes',
      'read:certificates,read:suppliers',
      '--expires-in-days',
      '90',
      '--json',
    ]);
    const created = json<ApiKeyWithSecret>(createRun);
    assert.match(created.key, /^ck_live_/);
    assert.deepEqual(created.scopes, ['read:certificates', 'read:suppliers']);
    const { key: secret, ...withoutSecret } = created;
    assert.deepEqual(comparable(withoutSecret), comparable(await s.sdk.apiKeys.get(created.id)));
    assert.equal(occurrences(createRun.stdout + createRun.stderr, secret), 1);

    // The key works for what it was given.
    const health = await fetch(`${s.baseUrl}/health`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(health.status, 200);

    const get = await s.cohera(['keys', 'get', created.id]);
    assert.ok(ok(get).includes(created.id));
    assert.ok(get.stdout.includes(`${created.prefix}…${created.last4}`));
    assert.equal(occurrences(get.stdout + get.stderr, secret), 0);
    assertNoEscapes(get);
    assert.deepEqual(
      comparable(json(await s.cohera(['keys', 'get', created.id, '--json']))),
      comparable(withoutSecret),
    );

    const list = await s.cohera(['keys', 'list', '--all', '--json']);
    const listed = json<ListResponse<ApiKey>>(list);
    assert.equal(listed.next_cursor, null);
    assert.deepEqual(comparable(listed.data), comparable(await s.sdk.apiKeys.list().toArray()));
    assert.equal(list.stdout.match(KEY), null, 'no key in a list');
    const table = await s.cohera(['keys', 'list']);
    assert.ok(ok(table).includes(created.id));
    assert.equal(table.stdout.match(KEY), null);
    assertNoEscapes(table);

    const rollRun = await s.cohera(['keys', 'roll', created.id, '--grace-period', '1h']);
    const newKeys = ok(rollRun).match(KEY) ?? [];
    assert.equal(newKeys.length, 1, 'the new key printed once');
    assert.notEqual(newKeys[0], secret);
    assert.equal(occurrences(rollRun.stdout + rollRun.stderr, newKeys[0] as string), 1);
    assertNoEscapes(rollRun);
    const old = await s.sdk.apiKeys.get(created.id);
    assert.ok(old.replaced_by);
    const oldExpiry = Date.parse(old.expires_at ?? '');
    assert.ok(Math.abs(oldExpiry - (Date.now() + 3600_000)) < 120_000, 'old key ends after the grace');

    const refused = await s.cohera(['keys', 'revoke', old.replaced_by]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--yes/);
    assert.equal((await s.sdk.apiKeys.get(old.replaced_by)).status, 'active');

    const revoked = json<ApiKey>(await s.cohera(['keys', 'revoke', old.replaced_by, '--yes', '--json']));
    assert.equal(revoked.status, 'revoked');
    assert.ok(revoked.revoked_at);
    assert.deepEqual(comparable(revoked), comparable(await s.sdk.apiKeys.get(old.replaced_by)));
  });

  test('create without --json in a pipe: the key alone on stdout (for `> key.txt`), what it is on stderr', async () => {
    const run = await s.cohera([
      'keys',
      'create',
      '--name',
      'people',
      '--scopes',
      'read:*',
      '--mode',
      'test',
    ]);
    const keys = ok(run).match(KEY) ?? [];
    assert.equal(keys.length, 1);
    assert.match(keys[0] as string, /^ck_test_/);
    assert.equal(run.stdout, `${keys[0]}\n`);
    assert.match(run.stderr, /Created key_\w+ \(people\)/);
    assert.equal(run.stderr.match(KEY), null, 'not on stderr');
    assertNoEscapes(run);
  });

  test('list pages: --limit gives one page and its cursor, --all every key', async () => {
    for (const name of ['p1', 'p2', 'p3']) await s.sdk.apiKeys.create({ name, scopes: ['read:products'] });
    const all = await s.sdk.apiKeys.list().toArray();
    assert.ok(all.length > 3);
    const page = json<ListResponse<ApiKey>>(await s.cohera(['keys', 'list', '--limit', '2', '--json']));
    assert.equal(page.data.length, 2);
    assert.ok(page.next_cursor);
    const next = json<ListResponse<ApiKey>>(
      await s.cohera(['keys', 'list', '--limit', '2', '--cursor', page.next_cursor, '--json']),
    );
    assert.deepEqual(comparable(next.data), comparable(all.slice(2, 4)));
    const everything = json<ListResponse<ApiKey>>(
      await s.cohera(['keys', 'list', '--all', '--limit', '2', '--json']),
    );
    assert.deepEqual(comparable(everything), comparable({ data: all, next_cursor: null }));
    const test = json<ListResponse<ApiKey>>(await s.cohera(['keys', 'list', '--mode', 'test', '--json']));
    assert.ok(test.data.length > 0 && test.data.every((key) => key.mode === 'test'));
  });

  test('usage: a row per day, as the API answers', async () => {
    const [first] = (await s.sdk.apiKeys.list({ limit: 1 })).data;
    assert.ok(first);
    const usage = json(await s.cohera(['keys', 'usage', first.id, '--days', '7', '--json']));
    assert.deepEqual(usage, plain(await s.sdk.apiKeys.usage(first.id, { days: 7 })));
    const table = await s.cohera(['keys', 'usage', first.id, '--days', '3']);
    assert.equal(ok(table).match(/\d{4}-\d{2}-\d{2}/g)?.length, 3);
  });

  test('usage errors exit 2 and name the option', async () => {
    const noScopes = await s.cohera(['keys', 'create', '--name', 'x']);
    assert.equal(noScopes.code, 2);
    assert.match(noScopes.stderr, /--scopes/);
    const badGrace = await s.cohera(['keys', 'roll', 'key_x', '--grace-period', 'soon']);
    assert.equal(badGrace.code, 2);
    assert.match(badGrace.stderr, /grace-period/);
    const badLimit = await s.cohera(['keys', 'list', '--limit', '500']);
    assert.equal(badLimit.code, 2);
  });

  test('failures exit 1 with the problem: unknown id, missing scope', async () => {
    const unknown = await s.cohera(['keys', 'get', 'key_doesnotexist']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /not.?found/i);
    assert.equal(unknown.stderr.trim().split('\n').length, 1, 'one line');

    const unknownJson = await s.cohera(['keys', 'revoke', 'key_doesnotexist', '--yes', '--json']);
    assert.equal(unknownJson.code, 1);
    const problem = JSON.parse(unknownJson.stdout) as { error: { code: string; request_id: string } };
    assert.equal(problem.error.code, 'not_found');
    assert.ok(problem.error.request_id);

    const reader = await s.keyWith(['read:certificates']);
    const denied = await s.cohera(['keys', 'list'], { COHERA_API_KEY: reader });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /admin/);
    assert.equal(denied.stderr.includes(reader), false, 'the credential is never printed');
  });
});
