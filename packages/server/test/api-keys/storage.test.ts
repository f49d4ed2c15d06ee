/**
 * The plaintext of an API key is stored nowhere (DESIGN §6.1) and logged nowhere (§6.2). Every key this
 * test makes (bootstrap, create in both modes, roll, keys used, revoked and expired) is searched for in
 * the raw bytes of the SQLite file and its write-ahead log, or in every row of every PostgreSQL table, and
 * in every captured log line. The SHA-256 of each key must be found in the same bytes, which proves the
 * search looks where the keys' rows really are.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { hashApiKey } from '../../src/auth/api-keys/repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { capturedLogs, createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('api keys: the plaintext is stored and logged nowhere', (engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  const keys: string[] = [];
  before(async () => {
    clock = new ManualClock();
    t = await startTestApp(handle(), { clock });
  });
  after(() => t.close());

  /** Everything the database holds for this suite, as text. */
  async function storedText(): Promise<string> {
    if (engine === 'sqlite') {
      const file = join(handle().dataDir, 'cohera.sqlite');
      const parts = [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
      assert.ok(parts.length > 0, 'the SQLite file exists');
      return Buffer.concat(parts).toString('latin1');
    }
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(t.app.deps.db);
    assert.ok(tables.rows.some((r) => r.table_name === 'api_keys'));
    const dumps: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
        t.app.deps.db,
      );
      dumps.push(...rows.rows.map((r) => r.row));
    }
    return dumps.join('\n');
  }

  test('make keys every way there is, and use them', async () => {
    const org = await createOrg(t.app);
    keys.push(org.adminKey);
    const create = async (body: Record<string, unknown>) => {
      const res = await t.call(org.adminKey, 'POST', '/v1/api-keys', body);
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json<{ id: string; key: string }>();
      keys.push(created.key);
      return created;
    };
    const live = await create({ name: 'live', scopes: ['read:*'], expires_in_days: 30 });
    const sandbox = await create({ name: 'sandbox', scopes: ['admin'], mode: 'test' });
    const revoked = await create({ name: 'revoked', scopes: ['read:suppliers'] });
    for (const key of keys) assert.equal((await t.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal((await t.call(org.adminKey, 'POST', `/v1/api-keys/${revoked.id}/revoke`)).statusCode, 200);
    const rolled = await t.call(org.adminKey, 'POST', `/v1/api-keys/${live.id}/roll`, {
      grace_period_seconds: 0,
    });
    assert.equal(rolled.statusCode, 201, rolled.body);
    keys.push(rolled.json<{ key: string }>().key);
    const fromSandbox = await t.call(sandbox.key, 'POST', '/v1/api-keys', {
      name: 'from sandbox',
      scopes: ['read:*'],
    });
    assert.equal(fromSandbox.statusCode, 201, fromSandbox.body);
    keys.push(fromSandbox.json<{ key: string }>().key);
    for (const key of keys) await t.call(key, 'GET', '/health');
    await t.app.deps.usage.flush();
    assert.equal(keys.length, 6);
  });

  test('no stored byte holds a key; each key’s hash is there', async () => {
    const text = await storedText();
    for (const key of keys) {
      assert.ok(text.includes(hashApiKey(key)), 'the search sees the stored hash of every key');
      assert.ok(!text.includes(key), 'a key is stored in the clear');
      assert.ok(!text.includes(key.slice(12, 42)), 'the secret middle of a key is stored');
      assert.ok(!text.includes(Buffer.from(key).toString('base64')), 'a key is stored in base64');
    }
  });

  test('no log line holds a key', () => {
    assert.ok(
      capturedLogs.some((line) => line.includes('"api_key.created"')),
      'the logs of this suite were captured',
    );
    for (const key of keys) {
      assert.ok(
        !capturedLogs.some((line) => line.includes(key.slice(12, 42))),
        'a key appears in a log line',
      );
    }
  });
});
