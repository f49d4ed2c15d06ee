/**
 * A PostgreSQL database that cannot be opened at start: the error says where (the URL without its
 * password), why (pg's words) and what to check, instead of "database migration unknown failed". Against a
 * port nothing listens on, and the real server with a database that does not exist.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { DatabaseOpenError, openDatabase } from '../../src/storage/database.ts';
import { tempDir } from '../support/config.ts';
import { POSTGRES_ADMIN_URL, postgresReachable } from '../support/engines.ts';

const pgUp = await postgresReachable();

async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('nothing listens: where, why, and to start PostgreSQL or check the host and port; no password', async () => {
  const dir = tempDir();
  const port = await deadPort();
  try {
    await assert.rejects(
      openDatabase({
        databaseUrl: `postgres://cohera:hunter2-secret@127.0.0.1:${port}/cohera`,
        dataDir: dir.path,
        databasePool: { connectTimeoutMs: 2_000 },
      }),
      (error: unknown) => {
        assert.ok(error instanceof DatabaseOpenError);
        assert.match(
          error.message,
          new RegExp(
            `^cannot open the PostgreSQL database at postgres://\\*\\*\\*@127\\.0\\.0\\.1:${port}/cohera: `,
          ),
        );
        assert.match(error.message, /ECONNREFUSED/);
        assert.match(error.message, /Start PostgreSQL, or check the host and port in COHERA_DATABASE_URL\.$/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  } finally {
    dir.remove();
  }
});

test('a database that does not exist: check the user, password and database name', {
  skip: !pgUp,
}, async () => {
  const dir = tempDir();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/cohera_missing_${randomBytes(4).toString('hex')}`;
  try {
    await assert.rejects(
      openDatabase({ databaseUrl: url.toString(), dataDir: dir.path }),
      (error: unknown) => {
        assert.ok(error instanceof DatabaseOpenError);
        assert.match(
          error.message,
          /does not exist\. Check the user, password and database name in COHERA_DATABASE_URL\.$/,
        );
        return true;
      },
    );
  } finally {
    dir.remove();
  }
});
