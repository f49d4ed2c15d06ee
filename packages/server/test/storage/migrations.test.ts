/**
 * Migrations under concurrency (src/storage/database.ts): several nodes starting at once on one fresh
 * database all come up, and each migration is applied exactly once; opening again changes nothing.
 * PostgreSQL relies on Kysely's advisory lock; SQLite on the write lock `migrate` takes around the run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { tempDir } from '../support/config.ts';
import { createPostgresDatabase, postgresReachable } from '../support/engines.ts';

const MIGRATIONS_DIR = resolve(import.meta.dirname, '../../src/storage/migrations');

/** The migrations the code ships: one file each, named as the migration is recorded. */
const shipped = readdirSync(MIGRATIONS_DIR)
  .filter((file) => /^\d{4}-.+\.ts$/.test(file))
  .map((file) => file.slice(0, -3))
  .sort();

interface MigrationRow {
  name: string;
  timestamp: string;
}

async function migrationRows(database: Database): Promise<MigrationRow[]> {
  const { rows } =
    await sql<MigrationRow>`select name, timestamp from cohera_migrations order by name`.execute(database.db);
  return rows.map((row) => ({ name: row.name, timestamp: String(row.timestamp) }));
}

/** Each shipped migration recorded exactly once, and nothing else. */
async function assertAppliedOnce(database: Database): Promise<MigrationRow[]> {
  const rows = await migrationRows(database);
  assert.deepEqual(
    rows.map((row) => row.name),
    shipped,
  );
  return rows;
}

/** A write on one node is read on another: the schema is whole and shared. */
async function assertShared(writer: Database, reader: Database, tag: string): Promise<void> {
  const now = new Date().toISOString();
  await writer.db
    .insertInto('orgs')
    .values({
      id: `org_${tag}`,
      name: `Concurrent ${tag}`,
      tier: 'free',
      rate_limit_per_minute: null,
      rate_limit_per_day: null,
      max_key_lifetime_days: null,
      key_rotation_days: null,
      leaked_key_action: 'revoke',
      created_at: now,
      updated_at: now,
    })
    .execute();
  const row = await reader.db
    .selectFrom('orgs')
    .select('name')
    .where('id', '=', `org_${tag}`)
    .executeTakeFirst();
  assert.equal(row?.name, `Concurrent ${tag}`);
}

test('the migrations directory ships at least the foundation', () => {
  assert.ok(shipped.length >= 2);
  assert.equal(shipped[0], '0001-foundation');
});

describe('PostgreSQL: three nodes start at once on a fresh database', async () => {
  if (!(await postgresReachable())) {
    if (process.env.CI) throw new Error('PostgreSQL is unreachable; CI must run these tests');
    test('PostgreSQL unreachable: skipped', { skip: true }, () => {});
    return;
  }
  const dir = tempDir();
  const postgres = await createPostgresDatabase();
  const open: Database[] = [];
  after(async () => {
    for (const database of open) await database.destroy();
    await postgres.drop();
    dir.remove();
  });
  const node = () => openDatabase({ databaseUrl: postgres.url, dataDir: dir.path, poolSize: 2 });

  test('all three open, and every migration is applied exactly once', async () => {
    open.push(...(await Promise.all([node(), node(), node()])));
    for (const database of open) await assertAppliedOnce(database);
    const [first, second, third] = open;
    assert.ok(first && second && third);
    await assertShared(first, second, 'pg1');
    await assertShared(third, first, 'pg2');
  });

  test('opening again is a no-op', async () => {
    const [first] = open;
    assert.ok(first);
    const before = await migrationRows(first);
    const again = await node();
    open.push(again);
    assert.deepEqual(await assertAppliedOnce(again), before);
    const orgs = await again.db
      .selectFrom('orgs')
      .select('id')
      .where('id', 'in', ['org_pg1', 'org_pg2'])
      .execute();
    assert.equal(orgs.length, 2, 'data written before survives');
  });
});

describe('SQLite: two opens of one fresh data dir at once', () => {
  const open: Database[] = [];
  const dirs: { remove(): void }[] = [];
  after(async () => {
    for (const database of open) await database.destroy();
    for (const dir of dirs) dir.remove();
  });

  test('both open, and every migration is applied exactly once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const node = () => openDatabase({ databaseUrl: null, dataDir: dir.path });
    open.push(...(await Promise.all([node(), node()])));
    const [first, second] = open;
    assert.ok(first && second);
    await assertAppliedOnce(first);
    await assertAppliedOnce(second);
    await assertShared(first, second, 'lite1');

    const before = await migrationRows(first);
    const again = await node();
    open.push(again);
    assert.deepEqual(await assertAppliedOnce(again), before, 'opening again is a no-op');
  });

  test('two processes opening one fresh data dir at once both succeed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const database = resolve(import.meta.dirname, '../../src/storage/database.ts');
    const script = [
      'const { openDatabase } = await import(process.argv[1]);',
      'const db = await openDatabase({ databaseUrl: null, dataDir: process.argv[2] });',
      'await db.destroy();',
    ].join('\n');
    const child = () =>
      new Promise<{ code: number | null; stderr: string }>((done, fail) => {
        const proc = spawn(
          process.execPath,
          ['--no-warnings', '--input-type=module', '-e', script, database, dir.path],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        proc.stderr.on('data', (chunk) => {
          stderr += String(chunk);
        });
        proc.on('error', fail);
        proc.on('close', (code) => done({ code, stderr }));
      });
    const results = await Promise.all([child(), child()]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const check = await openDatabase({ databaseUrl: null, dataDir: dir.path });
    open.push(check);
    await assertAppliedOnce(check);
    assert.ok(readdirSync(dir.path).includes('cohera.sqlite'));
    assert.equal(join(dir.path, 'cohera.sqlite'), check.location);
  });
});
