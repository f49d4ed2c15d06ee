/**
 * Replacing a credential is single-successor and exclusive with ending it (issue 14, finding 1), on every
 * engine; on PostgreSQL with two nodes (two apps on one database, each listening on loopback), so the
 * races are settled by the database and not by one process's event loop:
 *
 * - an API key is rolled once: an expired, revoked or already rolled key answers 409 with its own code;
 *   ten rolls of one key at once make one successor; a roll racing a revoke never leaves a revoked key
 *   with a successor made after the revoke (revoking a rolled key during its grace stays allowed);
 * - an OAuth client's secret: ten rotations at once, one wins, the previous secret stays the original;
 * - a service account: a key added while the account is deleted is never left active on it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import type { Kysely } from 'kysely';
import { insertApiKey } from '../../src/auth/api-keys/repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { carryOverLineage } from '../../src/storage/migrations/0010-api-key-successor.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

const RACE_ROUNDS = 25;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of several shapes, checked field by field
  body: any;
}

interface Node {
  t: TestApp;
  url: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

forEachEngine('roll races', (engine, handle) => {
  const clock = new ManualClock();
  /** One node on SQLite (the embedded default serves from one process); two on PostgreSQL. */
  const nodes: Node[] = [];
  let org: TestOrg;

  before(async () => {
    for (let i = 0; i < (engine === 'postgres' ? 2 : 1); i++) {
      const t = await startTestApp(handle(), { clock });
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      nodes.push({ t, url });
    }
    org = await createOrg((nodes[0] as Node).t.app, 'enterprise');
  });
  after(async () => {
    for (const node of nodes) await node.t.close();
  });

  const node = (i: number) => nodes[i % nodes.length] as Node;
  const db = () => node(0).t.app.deps.db;

  /** A request over real HTTP to node `i` (alternating nodes spreads a race over both). */
  async function send(i: number, method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${node(i).url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${org.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  function assertCode(answer: Answer, status: number, code: string) {
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.equal(answer.body.code, code, JSON.stringify(answer.body));
  }

  async function createKey(name: string, extra: Record<string, unknown> = {}) {
    const created = await send(0, 'POST', '/v1/api-keys', { name, scopes: ['read:suppliers'], ...extra });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; key: string; expires_at: string | null };
  }

  /** The keys the database says were rolled from `id`. */
  const successorsOf = async (id: string) =>
    (await db().selectFrom('api_keys').select('id').where('rolled_from_id', '=', id).execute()).map(
      (row) => row.id,
    );

  const storedKey = async (id: string) =>
    db().selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  describe('API keys', () => {
    test('an expired key is not rolled: 409 key_expired, nothing made', async () => {
      const old = await createKey('expiring', { expires_in_days: 1 });
      clock.advance(86_400_000);
      const rolled = await send(0, 'POST', `/v1/api-keys/${old.id}/roll`, {});
      assertCode(rolled, 409, 'key_expired');
      assert.deepEqual(await successorsOf(old.id), []);
      assert.equal((await storedKey(old.id)).replaced_by_id, null);
    });

    test('a revoked key is not rolled: 409 key_revoked, nothing made', async () => {
      const old = await createKey('revoked');
      assert.equal((await send(0, 'POST', `/v1/api-keys/${old.id}/revoke`)).status, 200);
      assertCode(await send(0, 'POST', `/v1/api-keys/${old.id}/roll`, {}), 409, 'key_revoked');
      assert.deepEqual(await successorsOf(old.id), []);
    });

    test('a key is rolled once: the second roll is 409 key_already_rolled naming the successor', async () => {
      const old = await createKey('rolled twice');
      const first = await send(0, 'POST', `/v1/api-keys/${old.id}/roll`, { grace_period_seconds: 3600 });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.rolled_from, old.id);
      assert.equal(first.body.replaced_by, null);
      const second = await send(1, 'POST', `/v1/api-keys/${old.id}/roll`, { grace_period_seconds: 3600 });
      assertCode(second, 409, 'key_already_rolled');
      assert.match(second.body.detail, new RegExp(first.body.id));
      assert.deepEqual(await successorsOf(old.id), [first.body.id]);
      const shown = await send(1, 'GET', `/v1/api-keys/${old.id}`);
      assert.equal(shown.body.replaced_by, first.body.id);
      assert.equal(shown.body.status, 'active', 'the old key works during its grace period');
    });

    test('ten rolls of one key at once: one 201, nine 409 key_already_rolled, one successor', async () => {
      const old = await createKey('raced');
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => send(i, 'POST', `/v1/api-keys/${old.id}/roll`, {})),
      );
      const won = answers.filter((a) => a.status === 201);
      assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.status)));
      for (const lost of answers.filter((a) => a.status !== 201)) assertCode(lost, 409, 'key_already_rolled');
      const winner = (won[0] as Answer).body;
      assert.deepEqual(await successorsOf(old.id), [winner.id]);
      assert.equal((await storedKey(old.id)).replaced_by_id, winner.id);
      // Only the winner's key works; the losers' keys were rolled back with their transactions.
      const rows = await db().selectFrom('api_keys').select('id').where('name', '=', 'raced').execute();
      assert.equal(rows.length, 2, 'the old key and one successor');
    });

    test('revoking a rolled key during its grace ends it; its successor keeps working', async () => {
      const old = await createKey('grace cut short');
      const rolled = await send(0, 'POST', `/v1/api-keys/${old.id}/roll`, { grace_period_seconds: 3600 });
      assert.equal(rolled.status, 201);
      const revoked = await send(1, 'POST', `/v1/api-keys/${old.id}/revoke`);
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal(revoked.body.status, 'revoked');
      assert.equal(revoked.body.replaced_by, rolled.body.id);
      const call = (key: string) =>
        fetch(`${node(1).url}/v1/suppliers`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal((await call(old.key)).status, 401);
      assert.equal((await call(rolled.body.key)).status, 200);
    });

    test('a roll racing a revoke: never a revoked key with a successor made after the revoke', async () => {
      const outcomes = { rollFirst: 0, revokeFirst: 0 };
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const old = await createKey(`race ${round}`);
        const [rolled, revoked] = await Promise.all([
          send(round, 'POST', `/v1/api-keys/${old.id}/roll`, { grace_period_seconds: 3600 }),
          send(round + 1, 'POST', `/v1/api-keys/${old.id}/revoke`),
        ]);
        // Revoking is always allowed, rolled or not.
        assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
        assert.equal(revoked.body.status, 'revoked');
        const successors = await successorsOf(old.id);
        if (rolled.status === 201) {
          // The roll committed first: the revoke then saw (and ended) a key that already had its successor.
          outcomes.rollFirst++;
          assert.equal(revoked.body.replaced_by, rolled.body.id, `round ${round}`);
          assert.deepEqual(successors, [rolled.body.id]);
        } else {
          outcomes.revokeFirst++;
          assertCode(rolled, 409, 'key_revoked');
          assert.equal(revoked.body.replaced_by, null);
          assert.deepEqual(successors, [], `round ${round}: no successor of a revoked key`);
        }
        const stored = await storedKey(old.id);
        assert.notEqual(stored.revoked_at, null);
        assert.equal(stored.replaced_by_id, successors[0] ?? null);
      }
      assert.equal(outcomes.rollFirst + outcomes.revokeFirst, RACE_ROUNDS);
    });
  });

  test('migration 0010 carries lineage over: a key rolled twice by an earlier version names the first', async () => {
    const old = await createKey('rolled by an earlier version');
    const tenant = { orgId: org.orgId, mode: 'live' as const };
    const successors: string[] = [];
    for (let i = 0; i < 2; i++) {
      clock.advance(1000);
      const row = await insertApiKey(
        db(),
        tenant,
        generateApiKey('live'),
        {
          name: 'successor',
          scopes: ['read:suppliers'],
          expiresAt: null,
          rateLimitPerMinute: null,
          createdBy: { kind: 'user', id: org.userId },
          rolledFromId: old.id,
        },
        clock.now(),
      );
      successors.push(row.id);
    }
    const lone = await createKey('never rolled');
    await carryOverLineage(db() as Kysely<unknown>);
    assert.equal((await storedKey(old.id)).replaced_by_id, successors[0]);
    assert.equal((await storedKey(lone.id)).replaced_by_id, null);
    assertCode(await send(0, 'POST', `/v1/api-keys/${old.id}/roll`, {}), 409, 'key_already_rolled');
  });

  describe('OAuth client secrets', () => {
    test('ten rotations at once: each winner replaced the secret it read, never a stale one', async () => {
      const created = await send(0, 'POST', '/v1/oauth/clients', {
        name: 'raced app',
        redirect_uris: ['https://app.example.com/callback'],
        client_type: 'confidential',
        scopes: ['read:suppliers'],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const original = created.body.client_secret as string;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          send(i, 'POST', `/v1/oauth/clients/${created.body.id}/rotate-secret`, {}),
        ),
      );
      // Rotations that did not overlap all succeed, one after the other; of overlapping ones (two that
      // read the same secret), one wins and the others answer 409.
      const won = answers.filter((a) => a.status === 200).map((a) => a.body.client_secret as string);
      for (const lost of answers.filter((a) => a.status !== 200)) assertCode(lost, 409, 'conflict');
      assert.ok(won.length >= 1);
      assert.equal(new Set(won).size, won.length);
      const row = await db()
        .selectFrom('oauth_clients')
        .selectAll()
        .where('id', '=', created.body.id)
        .executeTakeFirstOrThrow();
      assert.ok(
        won.some((secret) => row.secret_hash === sha256(secret)),
        'the current secret is a winner’s',
      );
      // The kept previous secret is the one the last rotation replaced: the original only when a single
      // rotation won. Two rotations both replacing the original would leave it as the previous secret
      // after several wins, and one winner's secret unusable without anyone knowing.
      const previous = won.length === 1 ? [original] : won;
      assert.ok(
        previous.some((secret) => row.previous_secret_hash === sha256(secret)) &&
          row.previous_secret_hash !== row.secret_hash,
        `the previous secret after ${won.length} rotation(s)`,
      );
    });
  });

  describe('service accounts', () => {
    test('a key added while its account is deleted is never left active on the deleted account', async () => {
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const account = await send(0, 'POST', '/v1/service-accounts', {
          name: `raced account ${round}`,
          scopes: ['read:suppliers'],
        });
        assert.equal(account.status, 201, JSON.stringify(account.body));
        const id = account.body.id as string;
        const [added, deleted] = await Promise.all([
          send(round, 'POST', `/v1/service-accounts/${id}/keys`, {}),
          send(round + 1, 'DELETE', `/v1/service-accounts/${id}`),
        ]);
        assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
        if (added.status !== 201) assertCode(added, 404, 'not_found');
        const active = await db()
          .selectFrom('service_account_keys')
          .select('id')
          .where('service_account_id', '=', id)
          .where('deleted_at', 'is', null)
          .execute();
        assert.deepEqual(active, [], `round ${round}: an active key on a deleted account`);
      }
    });
  });
});
