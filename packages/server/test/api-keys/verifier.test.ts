/**
 * The verifier under a flood, on every engine: unknown keys are remembered briefly so repeating one does
 * not reach the database again, a burst of one uncached key makes one query, a key with a bad checksum
 * never reaches the cache or the database, and the cache stays bounded (least recently used goes first).
 * Database lookups are counted by a Kysely plugin on the app's own connection: every query that looks a
 * key up by its hash is seen, whoever issues it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '@cohera/shared';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { hashApiKey } from '../../src/auth/api-keys/repository.ts';
import { ApiKeyVerifier } from '../../src/auth/api-keys/verifier.ts';
import { ManualClock } from '../../src/clock.ts';
import { ApiError } from '../../src/http/errors.ts';
import type { Database } from '../../src/storage/database.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';

/** Counts `select … from api_keys … where key_hash = …`: the verifier's database lookup. */
class LookupCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs) {
    const node = args.node;
    if (node.kind === 'SelectQueryNode') {
      const text = JSON.stringify(node);
      if (text.includes('"api_keys"') && text.includes('"key_hash"')) this.count++;
    }
    return node;
  }
  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }
}

/** Resolves what `verify` gives (a value, a promise, or a throw) into the AuthContext or the ApiError code. */
async function outcome(verifier: ApiKeyVerifier, key: string): Promise<string> {
  try {
    const auth = await verifier.verify(key);
    return `ok:${auth.principal.id}`;
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

forEachEngine('api keys: verifier under a flood', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let database: Database;
  const lookups = new LookupCounter();
  before(async () => {
    clock = new ManualClock();
    database = await handle().open();
    t = await startTestApp(handle(), {
      clock,
      database: { ...database, db: database.db.withPlugin(lookups) },
    });
    org = await createOrg(t.app);
  });
  after(async () => {
    await t.close();
    await database.destroy();
  });

  const rejectedAs = async (key: string) => {
    const res = await t.call(key, 'GET', '/v1/suppliers');
    assert.equal(res.statusCode, 401, res.body);
    return res.json<{ code: string }>().code;
  };

  test('the counter sees the verifier’s lookups', async () => {
    const key = await createKey(t.app, org, ['read:suppliers']);
    const before = lookups.count;
    assert.equal((await t.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(lookups.count, before + 1);
    assert.equal((await t.call(key, 'GET', '/v1/suppliers')).statusCode, 200);
    assert.equal(lookups.count, before + 1, 'the second use is a cache hit');
  });

  test('200 distinct unknown keys: one lookup each, then none while remembered', async () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey('live'));
    const before = lookups.count;
    const size = t.app.deps.apiKeys.size;
    for (const key of keys) assert.equal(await rejectedAs(key), 'invalid_credential');
    assert.equal(lookups.count, before + 200);
    assert.equal(t.app.deps.apiKeys.size, size + 200, 'unknown keys are cached as unknown');
    for (const key of keys) assert.equal(await rejectedAs(key), 'invalid_credential');
    assert.equal(lookups.count, before + 200, 'a repeated unknown key does not reach the database');
  });

  test('one unknown key 200 times: at most one lookup, in sequence or all at once', async () => {
    const repeated = generateApiKey('test');
    const before = lookups.count;
    const { hits, misses } = t.app.deps.apiKeys;
    for (let i = 0; i < 200; i++) assert.equal(await rejectedAs(repeated), 'invalid_credential');
    assert.equal(lookups.count, before + 1);
    assert.equal(t.app.deps.apiKeys.misses, misses + 1);
    assert.equal(t.app.deps.apiKeys.hits, hits + 199);

    const burst = generateApiKey('live');
    const beforeBurst = lookups.count;
    const codes = await Promise.all(Array.from({ length: 200 }, () => rejectedAs(burst)));
    assert.ok(codes.every((code) => code === 'invalid_credential'));
    assert.equal(lookups.count, beforeBurst + 1, 'concurrent requests for one uncached key share one query');
  });

  test('“unknown” is remembered only briefly', async () => {
    const key = generateApiKey('live');
    const before = lookups.count;
    assert.equal(await rejectedAs(key), 'invalid_credential');
    clock.advance(4_000);
    assert.equal(await rejectedAs(key), 'invalid_credential');
    assert.equal(lookups.count, before + 1);
    clock.advance(2_000);
    assert.equal(await rejectedAs(key), 'invalid_credential');
    assert.equal(lookups.count, before + 2, 'looked up again once the negative entry went stale');
  });

  test('a key with a bad checksum never reaches the cache or the database', async () => {
    const real = await createKey(t.app, org, ['read:suppliers']);
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const malformed = [
      `${real.slice(0, -1)}${flip(real.at(-1) as string)}`, // a typo in the checksum
      `${real.slice(0, 20)}${flip(real[20] as string)}${real.slice(21)}`, // a typo in the random part
      `${real.slice(0, 45)}`, // truncated
      `${real}A`, // too long
      `ck_live_${'!'.repeat(38)}`,
      `ck_prod_${real.slice(8)}`,
    ];
    const before = lookups.count;
    const size = t.app.deps.apiKeys.size;
    const { hits, misses } = t.app.deps.apiKeys;
    for (let round = 0; round < 3; round++) {
      for (const key of malformed) assert.equal(await rejectedAs(key), 'invalid_credential');
    }
    assert.equal(lookups.count, before);
    assert.equal(t.app.deps.apiKeys.size, size);
    assert.equal(t.app.deps.apiKeys.hits, hits);
    assert.equal(t.app.deps.apiKeys.misses, misses);
  });

  describe('a bounded cache', () => {
    test('holds at most maxEntries, evicting the least recently used', async () => {
      const verifier = new ApiKeyVerifier(t.app.deps.db, clock, { maxEntries: 2 });
      const a = await createKey(t.app, org, ['read:suppliers']);
      const b = await createKey(t.app, org, ['read:suppliers']);
      const c = await createKey(t.app, org, ['read:suppliers']);
      for (const key of [a, b]) assert.match(await outcome(verifier, key), /^ok:key_/);
      assert.match(await outcome(verifier, a), /^ok:/); // a is now the most recently used
      assert.equal(verifier.hits, 1);
      assert.match(await outcome(verifier, c), /^ok:/); // evicts b, the least recently used
      assert.equal(verifier.size, 2);
      const misses = verifier.misses;
      assert.match(await outcome(verifier, a), /^ok:/);
      assert.equal(verifier.misses, misses, 'a stayed cached');
      assert.match(await outcome(verifier, b), /^ok:/);
      assert.equal(verifier.misses, misses + 1, 'b was evicted and looked up again');

      for (let i = 0; i < 50; i++)
        assert.equal(await outcome(verifier, generateApiKey('live')), 'invalid_credential');
      assert.equal(verifier.size, 2);
    });

    test('a found key is re-read after its TTL, so changes made behind the cache’s back still land', async () => {
      const verifier = new ApiKeyVerifier(t.app.deps.db, clock, { positiveTtlMs: 10_000 });
      const key = await createKey(t.app, org, ['read:suppliers']);
      assert.match(await outcome(verifier, key), /^ok:/);
      // Revoked directly in the database: no invalidation message reaches this verifier.
      await t.app.deps.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date(clock.now()).toISOString() })
        .where('key_hash', '=', hashApiKey(key))
        .execute();
      assert.match(await outcome(verifier, key), /^ok:/, 'still cached');
      clock.advance(10_001);
      assert.equal(await outcome(verifier, key), 'revoked_credential');
    });

    test('a lookup that read the row before a revocation does not cache it after the invalidation', async () => {
      const verifier = new ApiKeyVerifier(t.app.deps.db, clock);
      const key = await createKey(t.app, org, ['read:suppliers']);
      // The lookup is in flight (it read, or will read, the key while it is still active) when the key is
      // revoked and the invalidation arrives: the row it read must not land in the cache afterwards.
      const inFlight = verifier.verify(key);
      assert.ok(inFlight instanceof Promise, 'an uncached key is looked up');
      await t.app.deps.db
        .updateTable('api_keys')
        .set({ revoked_at: new Date(clock.now()).toISOString() })
        .where('key_hash', '=', hashApiKey(key))
        .execute();
      verifier.invalidate(hashApiKey(key));
      await inFlight.catch(() => undefined); // whichever row it read, it answers only the requests that joined it
      assert.equal(verifier.size, 0, 'nothing read before the invalidation was remembered');
      assert.equal(await outcome(verifier, key), 'revoked_credential');
    });

    test('a request arriving after an invalidation does not join a lookup that began before it', async () => {
      const verifier = new ApiKeyVerifier(t.app.deps.db, clock);
      const key = await createKey(t.app, org, ['read:suppliers']);
      const before = lookups.count;
      const first = verifier.verify(key);
      verifier.invalidate(hashApiKey(key));
      const second = verifier.verify(key);
      await Promise.all([first, second]);
      assert.equal(lookups.count, before + 2, 'the second request read the database afresh');
    });
  });
});
