/**
 * Group commit (src/storage/group-commit.ts), on both engines: the writes of one event-loop turn share one
 * transaction, each with its own result; a lone write runs on its own; a failure fails the whole batch and
 * leaves nothing of it behind; writes that arrive while a batch commits go to the next one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../src/storage/database.ts';
import { GroupCommit } from '../../src/storage/group-commit.ts';
import type { DB } from '../../src/storage/schema.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('group commit', (_engine, handle) => {
  let database: Database;
  let writes: GroupCommit;
  before(async () => {
    database = await handle().open();
    writes = new GroupCommit(database.db);
  });
  after(async () => {
    await database.destroy();
  });

  /** Inserts one artefact row; answers whether it ran in a transaction. */
  const insert = (id: string) => async (db: Kysely<DB> | Transaction<DB>) => {
    await db.insertInto('oauth_artifacts').values({ model: 'Test', id, payload: id }).execute();
    return { id, inTransaction: db.isTransaction };
  };
  const stored = async (ids: string[]) =>
    (
      await database.db
        .selectFrom('oauth_artifacts')
        .select('id')
        .where('model', '=', 'Test')
        .where('id', 'in', ids)
        .orderBy('id')
        .execute()
    ).map((row) => row.id);

  test('writes of one turn share one transaction, and each gets its own result', async () => {
    const results = await Promise.all(['a1', 'a2', 'a3'].map((id) => writes.run(insert(id))));
    assert.deepEqual(
      results.map((r) => r.id),
      ['a1', 'a2', 'a3'],
    );
    assert.ok(results.every((r) => r.inTransaction));
    assert.deepEqual(await stored(['a1', 'a2', 'a3']), ['a1', 'a2', 'a3']);
  });

  test('a lone write runs on its own, outside any transaction', async () => {
    const result = await writes.run(insert('b1'));
    assert.equal(result.inTransaction, false);
    assert.deepEqual(await stored(['b1']), ['b1']);
  });

  test('a conditional write sees the writes before it in its batch: one of two consumes wins', async () => {
    await database.db
      .insertInto('oauth_artifacts')
      .values({ model: 'Test', id: 'c1', payload: 'c1' })
      .execute();
    const consume = () =>
      writes.run(async (db) => {
        const result = await db
          .updateTable('oauth_artifacts')
          .set({ consumed_at: '2026-12-04T00:00:00.000Z' })
          .where('model', '=', 'Test')
          .where('id', '=', 'c1')
          .where('consumed_at', 'is', null)
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    assert.deepEqual(await Promise.all([consume(), consume()]), [1, 0]);
  });

  test('a failing write fails its whole batch, and nothing of the batch is stored', async () => {
    const failure = new Error('refused');
    const outcomes = await Promise.allSettled([
      writes.run(insert('d1')),
      writes.run(async () => {
        throw failure;
      }),
      writes.run(insert('d2')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    for (const outcome of outcomes) assert.equal((outcome as PromiseRejectedResult).reason, failure);
    assert.deepEqual(await stored(['d1', 'd2']), [], 'rolled back');
    // And the next batch is not affected.
    await Promise.all([writes.run(insert('d3')), writes.run(insert('d4'))]);
    assert.deepEqual(await stored(['d3', 'd4']), ['d3', 'd4']);
  });

  test('a duplicate key fails the batch it is in, not the next one', async () => {
    const outcomes = await Promise.allSettled([writes.run(insert('e1')), writes.run(insert('a1'))]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    assert.deepEqual(await stored(['e1']), []);
    assert.equal((await writes.run(insert('e1'))).id, 'e1');
  });

  test('writes queued while a batch commits go to the next batch', async () => {
    const order: string[] = [];
    let later: Promise<unknown> | undefined;
    const first = Promise.all([
      writes.run(async (db) => {
        // Queued from inside the first batch: it cannot join a transaction already under way.
        later = writes.run(async (inner) => {
          order.push(`later:${inner.isTransaction}`);
          return insert('f3')(inner);
        });
        order.push('first');
        return insert('f1')(db);
      }),
      writes.run(insert('f2')),
    ]);
    await first;
    await later;
    assert.deepEqual(order, ['first', 'later:false']);
    assert.deepEqual(await stored(['f1', 'f2', 'f3']), ['f1', 'f2', 'f3']);
  });
});
