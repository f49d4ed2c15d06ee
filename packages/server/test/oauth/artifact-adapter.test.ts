/**
 * The engine's storage adapter on every engine, below the engine: expiry and purging, single use under a
 * race, revocation by grant, and what is stored (hashed ids, sealed payloads).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { errors } from 'oidc-provider';
import {
  artifactBox,
  artifactKey,
  createArtifactAdapter,
  purgeExpiredArtifacts,
} from '../../src/auth/oauth/artifact-adapter.ts';
import { deleteClient, insertClient, rotateClientSecret } from '../../src/auth/oauth/clients-repository.ts';
import { SYSTEM_ORG_ID } from '../../src/auth/oauth/first-party-clients.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Database } from '../../src/storage/database.ts';
import { forEachEngine } from '../support/engines.ts';

forEachEngine('oauth: artefact adapter', (engine, handle) => {
  let database: Database;
  const clock = new ManualClock(Date.parse('2026-12-01T12:00:00Z'));
  const revoked: string[] = [];
  const announced: string[] = [];
  let Adapter: ReturnType<typeof createArtifactAdapter>;

  before(async () => {
    database = await handle().open();
    Adapter = createArtifactAdapter(
      database.db,
      clock,
      {
        grantEnded: async () => {},
        grantRevoked: async (grantId) => {
          revoked.push(grantId);
        },
        tokensRevoked: async (id) => {
          announced.push(id);
        },
      },
      artifactBox(randomBytes(32)),
    );
  });
  after(() => database.destroy());

  test('an artefact is found until it expires, then purged', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('code-1', { grantId: 'grant-1', kind: 'AuthorizationCode', jti: 'code-1' }, 60);
    assert.equal((await codes.find('code-1'))?.grantId, 'grant-1');
    clock.advance(61_000);
    assert.equal(await codes.find('code-1'), undefined, 'expired: not returned even before the purge');
    assert.ok((await purgeExpiredArtifacts(database.db, clock.now())) >= 1);
    const left = await database.db
      .selectFrom('oauth_artifacts')
      .select('id')
      .where('id', '=', artifactKey('code-1'))
      .execute();
    assert.equal(left.length, 0);
  });

  test('ids are stored as hashes and payloads sealed: the table holds no usable value', async () => {
    const tokens = new Adapter('RefreshToken');
    const value = `refresh-${randomBytes(16).toString('hex')}`;
    await tokens.upsert(value, { grantId: 'grant-2', jti: value, accountId: 'usr_secretive' }, 3600);
    const rows = await database.db.selectFrom('oauth_artifacts').selectAll().execute();
    const text = JSON.stringify(rows);
    assert.ok(!text.includes(value), 'the token value is not stored');
    assert.ok(!text.includes('usr_secretive'), 'the payload is sealed');
    assert.equal((await tokens.find(value))?.accountId, 'usr_secretive');
  });

  test('consuming twice at once: exactly one wins; the loser revokes the grant and is invalid_grant', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('code-race', { grantId: 'grant-race', jti: 'code-race' }, 60);
    const tokens = new Adapter('AccessToken');
    await tokens.upsert('at-race', { grantId: 'grant-race', jti: 'at-race' }, 3600);
    const results = await Promise.allSettled([codes.consume('code-race'), codes.consume('code-race')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(lost.reason instanceof errors.InvalidGrant);
    assert.ok(revoked.includes('grant-race'));
    assert.equal(await tokens.find('at-race'), undefined, 'the grant’s tokens are gone');
    assert.ok((await codes.find('code-race'))?.consumed === undefined, 'the code itself is gone too');
  });

  test('revokeByGrantId removes one model’s artefacts of that grant only, and announces tokens', async () => {
    const tokens = new Adapter('RefreshToken');
    await tokens.upsert('rt-a', { grantId: 'grant-a', jti: 'rt-a' }, 3600);
    await tokens.upsert('rt-b', { grantId: 'grant-b', jti: 'rt-b' }, 3600);
    await tokens.revokeByGrantId('grant-a');
    assert.equal(await tokens.find('rt-a'), undefined);
    assert.ok(await tokens.find('rt-b'));
    await new Adapter('AccessToken').revokeByGrantId('grant-b');
    assert.ok(announced.includes('grant-b'), 'access tokens of a grant are announced to every node');
    await new Adapter('Grant').destroy('grant-b');
    assert.ok(revoked.includes('grant-b'));
  });

  test('a client’s metadata is built once per row: the same row gives the same frozen object, a change a new one', async () => {
    const scope = { orgId: SYSTEM_ORG_ID, modes: ['live' as const] };
    const { row } = await insertClient(
      database.db,
      {
        orgId: SYSTEM_ORG_ID,
        mode: 'live',
        name: 'Memo app',
        clientType: 'confidential',
        redirectUris: ['https://app.example.com/callback'],
        scopes: ['read:certificates'],
        createdBy: { kind: 'user', id: 'usr_0000000000000000000001' },
      },
      clock.now(),
    );
    const clients = new Adapter('Client');
    const first = await clients.find(row.id);
    assert.equal(first?.client_secret, row.secret_hash);
    assert.deepEqual(first?.redirect_uris, ['https://app.example.com/callback']);
    assert.equal(await clients.find(row.id), first, 'an unchanged row: the metadata already built');
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.redirect_uris), 'shared, so frozen');

    // Rotated within the same second (updated_at unchanged): the new secret counts at once, on this node.
    const rotated = await rotateClientSecret(database.db, scope, row, 3600, clock.now());
    assert.ok(rotated);
    const after = await clients.find(row.id);
    assert.notEqual(after, first);
    assert.equal(after?.client_secret, rotated.row.secret_hash);
    assert.equal(after?.cohera_previous_secret_hash, row.secret_hash);

    await deleteClient(database.db, scope, row.id, clock.now());
    assert.equal(await clients.find(row.id), undefined, 'a deleted client is unknown at once');
  });

  test('uid and user_code lookups use partial indexes, which leave out the artefacts that have neither', async () => {
    const interactions = new Adapter('Interaction');
    await interactions.upsert(
      'interaction-1',
      { uid: 'uid-1', kind: 'Interaction', jti: 'interaction-1' },
      60,
    );
    await new Adapter('RefreshToken').upsert('refresh-1', { grantId: 'grant-p', kind: 'RefreshToken' }, 60);
    assert.equal((await interactions.findByUid('uid-1'))?.jti, 'interaction-1');

    for (const column of ['uid', 'user_code']) {
      const name = `oauth_artifacts_${column}`;
      if (engine === 'sqlite') {
        const { rows } = await sql<{
          sql: string;
        }>`select sql from sqlite_master where name = ${name}`.execute(database.db);
        assert.match(rows[0]?.sql ?? '', new RegExp(`where "?${column}"? is not null`, 'i'));
        const plan = await sql<{ detail: string }>`
          explain query plan select id from oauth_artifacts where model = ${'Interaction'} and ${sql.ref(column)} = ${'x'}
        `.execute(database.db);
        assert.ok(
          plan.rows.some((row) => row.detail.includes(name)),
          `${column} lookup: ${JSON.stringify(plan.rows)}`,
        );
      } else {
        const { rows } = await sql<{ indexdef: string }>`
          select indexdef from pg_indexes where indexname = ${name}
        `.execute(database.db);
        assert.match(rows[0]?.indexdef ?? '', new RegExp(`WHERE \\(${column} IS NOT NULL\\)`));
        // A table this small is read whole unless the planner is told not to: the question is only whether
        // the partial index can serve the lookup.
        const plan = await database.db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          return sql<{ 'QUERY PLAN': string }>`
            explain select id from oauth_artifacts where model = ${'Interaction'} and ${sql.ref(column)} = ${'x'}
          `.execute(trx);
        });
        assert.ok(
          plan.rows.some((row) => row['QUERY PLAN'].includes(name)),
          `${column} lookup: ${JSON.stringify(plan.rows)}`,
        );
      }
    }
  });
});
