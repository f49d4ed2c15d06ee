/**
 * The files the server writes into the data dir are owner-only (issue 14, finding 4): the SQLite database,
 * its -wal and -shm companions and the generated master key are 0600 under the usual umask 022 even in a
 * 0755 directory the operator made; files found looser on start are tightened, with a warning naming them.
 * The server is built as `cohera server` builds it: the real configuration loader (which generates the
 * master key) and the real openDatabase.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createOrg, DASHBOARD_FIXTURE } from '../support/app.ts';
import { tempDir } from '../support/config.ts';

const FILES = ['cohera.sqlite', 'cohera.sqlite-wal', 'cohera.sqlite-shm', 'master.key'];

const modeOf = (file: string) => statSync(file).mode & 0o777;
const octal = (mode: number) => `0${mode.toString(8)}`;

let previousUmask: number;
const dir = tempDir('cohera-modes-');

before(() => {
  previousUmask = process.umask(0o022);
  // The operator's `mkdir`: a directory others may list and enter.
  chmodSync(dir.path, 0o755);
});
after(() => {
  process.umask(previousUmask);
  dir.remove();
});

/** Starts the server on the data dir with no COHERA_MASTER_KEY (so it keeps one in the dir); its log lines. */
async function start(): Promise<{ app: FastifyInstance; logs: string[] }> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const config = loadConfig({ COHERA_DATA_DIR: dir.path, COHERA_LOG_LEVEL: 'info' }, process.cwd());
  const app = await buildApp(config, { logDestination: destination, dashboardDir: DASHBOARD_FIXTURE });
  await app.ready();
  // A write, so SQLite has made its write-ahead log (it lives while the database is open).
  await createOrg(app);
  return { app, logs };
}

function assertPrivate() {
  for (const name of FILES) {
    const file = join(dir.path, name);
    assert.ok(existsSync(file), `${name} exists`);
    assert.equal(octal(modeOf(file)), '0600', `${name} is owner-only`);
  }
}

test('a fresh data dir of mode 0755 under umask 022: the database, -wal, -shm and master.key are 0600', async () => {
  assert.equal(existsSync(join(dir.path, 'cohera.sqlite')), false);
  const { app, logs } = await start();
  try {
    assertPrivate();
    assert.ok(!logs.some((line) => line.includes('now 0600')), 'nothing to tighten on a fresh start');
  } finally {
    await app.close();
  }
});

test('files found readable by others are set to 0600 on start, with a warning naming them', async () => {
  const loosened = ['cohera.sqlite', 'master.key'];
  for (const name of loosened) chmodSync(join(dir.path, name), 0o644);
  const { app, logs } = await start();
  try {
    assertPrivate();
    const warning = logs
      .map(
        (line) =>
          JSON.parse(line) as { level: number; msg: string; files?: { file: string; mode: string }[] },
      )
      .find((entry) => entry.msg?.includes('now 0600'));
    assert.ok(warning, 'a warning was logged');
    assert.equal(warning.level, 40, 'at level warn');
    assert.deepEqual(
      warning.files,
      loosened.map((name) => ({ file: join(dir.path, name), mode: '0644' })),
    );
  } finally {
    await app.close();
  }
});
