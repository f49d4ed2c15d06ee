/**
 * Prepared queries (src/storage/prepared-query.ts): compiled once per dialect, then run with new parameters
 * that land where the builder put them, on both engines; a builder that binds anything else than the
 * parameters it is given (a constant, a repeated value) is refused on first use, before it could bind a
 * wrong value on a later call.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Database } from '../../src/storage/database.ts';
import { preparedQuery } from '../../src/storage/prepared-query.ts';
import { forEachEngine } from '../support/engines.ts';

const insertArtifact = preparedQuery(
  (db, model: string, id: string, payload: string, expiresAt: string | null) =>
    db.insertInto('oauth_artifacts').values({ model, id, payload, expires_at: expiresAt }),
);
const artifactPayload = preparedQuery((db, model: string, id: string) =>
  db
    .selectFrom('oauth_artifacts')
    .select(['payload', 'expires_at'])
    .where('model', '=', model)
    .where('id', '=', id),
);
const consume = preparedQuery((db, at: string, model: string, id: string) =>
  db
    .updateTable('oauth_artifacts')
    .set({ consumed_at: at })
    .where('model', '=', model)
    .where('id', '=', id)
    .where('consumed_at', 'is', null),
);

forEachEngine('prepared queries', (_engine, handle) => {
  let database: Database;
  before(async () => {
    database = await handle().open();
  });
  after(async () => {
    await database.destroy();
  });

  test('each call binds its own parameters to the statement compiled on the first', async () => {
    await insertArtifact.execute(database.db, 'Grant', 'g-1', 'first', null);
    await insertArtifact.execute(database.db, 'Grant', 'g-2', 'second', '2030-01-01T00:00:00.000Z');
    assert.deepEqual(
      { ...(await artifactPayload.first(database.db, 'Grant', 'g-1')) },
      {
        payload: 'first',
        expires_at: null,
      },
    );
    assert.deepEqual(
      (await artifactPayload.execute(database.db, 'Grant', 'g-2')).map((row) => ({ ...row })),
      [{ payload: 'second', expires_at: '2030-01-01T00:00:00.000Z' }],
    );
    assert.equal(await artifactPayload.first(database.db, 'Session', 'g-1'), undefined);
  });

  test('changes counts the rows an update changed, inside a transaction too', async () => {
    await insertArtifact.execute(database.db, 'RefreshToken', 'r-1', 'token', null);
    assert.equal(await consume.changes(database.db, '2026-01-01T00:00:00.000Z', 'RefreshToken', 'r-1'), 1n);
    // Consumed already: the conditional update changes nothing (what makes a replay lose the race).
    assert.equal(await consume.changes(database.db, '2026-01-01T00:00:01.000Z', 'RefreshToken', 'r-1'), 0n);
    const inside = await database.db.transaction().execute(async (trx) => {
      await insertArtifact.execute(trx, 'RefreshToken', 'r-2', 'token', null);
      return consume.changes(trx, '2026-01-01T00:00:02.000Z', 'RefreshToken', 'r-2');
    });
    assert.equal(inside, 1n);
  });

  test('a builder binding a value it was not given is refused on first use', async () => {
    const constant = preparedQuery((db, id: string) =>
      db.selectFrom('oauth_artifacts').select('payload').where('model', '=', 'Grant').where('id', '=', id),
    );
    await assert.rejects(constant.first(database.db, 'g-1'), /binds other parameters than it is given/);
    const repeated = preparedQuery((db, id: string) =>
      db.selectFrom('oauth_artifacts').select('payload').where('id', '=', id).where('uid', '=', id),
    );
    await assert.rejects(repeated.first(database.db, 'g-1'), /binds other parameters than it is given/);
  });
});
