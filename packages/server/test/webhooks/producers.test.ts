/**
 * The catalogue's change events come from the API calls that make the changes (DESIGN §5.5), on both
 * engines: each call leaves one message in the outbox with a delivery to an endpoint subscribed to `*`,
 * its `data` is the object exactly as the API answers it, no payload ever holds a secret (API key, OAuth
 * client secret, service-account private key), a change that rolls back after its event was written leaves
 * no event, and `rate_limit.exceeded` is produced once per window however many requests are refused.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { emitApiKeyLeaked } from '../../src/auth/api-keys/leak-event.ts';
import { revokeApiKey } from '../../src/auth/api-keys/repository.ts';
import { ManualClock } from '../../src/clock.ts';
import { insertEndpoint } from '../../src/webhooks/repository.ts';
import { webhookSecretBox } from '../../src/webhooks/secrets.ts';
import { createKey, createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import {
  authorize,
  Browser,
  type OAuthTestServer,
  registerClient,
  startOAuthServer,
} from '../support/oauth.ts';

const START = Date.parse('2026-11-22T10:00:00Z');

interface Event {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A loopback receiver that answers 204, so the delivery worker's attempts stay on this machine. */
async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server };
}

forEachEngine('webhook producers', (engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let receiver: { url: string; server: Server };
  let org: TestOrg;
  let endpointId: string;

  before(async () => {
    clock = new ManualClock(START);
    receiver = await startReceiver();
    t = await startTestApp(handle(), { clock, env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    org = await createOrg(t.app);
    const { row } = await insertEndpoint(
      t.app.deps.db,
      { orgId: org.orgId, mode: 'live' },
      webhookSecretBox(t.config.masterKey),
      { url: receiver.url, events: ['*'], description: 'everything' },
      clock.now(),
    );
    endpointId = row.id;
  });
  after(async () => {
    await t.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  /** The org's events, oldest first, each checked to have its delivery row for the `*` endpoint. */
  async function events(orgId = org.orgId): Promise<(Event & { dedupe_key: string | null })[]> {
    const rows = await t.app.deps.db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id')
      .execute();
    const out = [];
    for (const row of rows) {
      const body = JSON.parse(row.body) as Event;
      assert.equal(body.id, row.id);
      assert.equal(body.type, row.type);
      out.push({ ...body, dedupe_key: row.dedupe_key });
    }
    return out;
  }

  /** Runs `change` and returns the events it produced (in order), each with a delivery to the endpoint. */
  async function producedBy(change: () => Promise<unknown>): Promise<Event[]> {
    const before = new Set((await events()).map((e) => e.id));
    await change();
    const produced = (await events()).filter((e) => !before.has(e.id));
    for (const event of produced) {
      const delivery = await t.app.deps.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .where('message_id', '=', event.id)
        .executeTakeFirst();
      assert.ok(delivery, `${event.type} has a delivery to the endpoint subscribed to *`);
    }
    return produced;
  }

  async function call<T = Record<string, unknown>>(
    method: 'POST' | 'PATCH' | 'DELETE' | 'GET',
    url: string,
    body?: unknown,
    status?: number,
  ): Promise<T> {
    const response = await t.call(org.adminKey, method, url, body);
    if (status !== undefined) assert.equal(response.statusCode, status, response.body);
    return (response.body ? response.json() : null) as T;
  }

  /** One event of `type` was produced and its data is `expected` (the API's own object). */
  function assertOne(produced: Event[], type: string, expected: unknown) {
    assert.deepEqual(
      produced.map((e) => e.type),
      [type],
    );
    assert.deepEqual(produced[0]?.data, expected);
  }

  test('suppliers, products and certificates: created, updated, revoked, deleted', async () => {
    let supplier: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        supplier = await call('POST', '/v1/suppliers', { name: 'Acme', country: 'DE' }, 201);
      }),
      'supplier.created',
      supplier,
    );
    clock.advance(1000);
    let updated: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        updated = await call('PATCH', `/v1/suppliers/${supplier.id}`, { name: 'Acme GmbH' }, 200);
      }),
      'supplier.updated',
      updated,
    );

    let product: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        product = await call(
          'POST',
          '/v1/products',
          { name: 'Bolt', sku: 'B-1', supplier_id: supplier.id },
          201,
        );
      }),
      'product.created',
      product,
    );
    let productUpdated: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        productUpdated = await call('PATCH', `/v1/products/${product.id}`, { name: 'Bolt M8' }, 200);
      }),
      'product.updated',
      productUpdated,
    );

    const certificateBody = {
      standard: 'ISO 9001',
      number: 'Q-1',
      issuer: 'TÜV',
      supplier_id: supplier.id,
      product_ids: [product.id],
      issued_at: '2026-01-01',
      expires_at: '2028-01-01',
    };
    let certificate: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        certificate = await call('POST', '/v1/certificates', certificateBody, 201);
      }),
      'certificate.created',
      certificate,
    );
    let certificateUpdated: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        certificateUpdated = await call(
          'PATCH',
          `/v1/certificates/${certificate.id}`,
          { number: 'Q-2' },
          200,
        );
      }),
      'certificate.updated',
      certificateUpdated,
    );
    let revoked: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        revoked = await call('PATCH', `/v1/certificates/${certificate.id}`, { status: 'revoked' }, 200);
      }),
      'certificate.revoked',
      revoked,
    );
    assert.equal(revoked.status, 'revoked');
    // A later change of a revoked certificate is an update, not a second revocation.
    let afterRevoke: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        afterRevoke = await call('PATCH', `/v1/certificates/${certificate.id}`, { issuer: 'DEKRA' }, 200);
      }),
      'certificate.updated',
      afterRevoke,
    );

    // `deleted` carries the object as the API showed it just before the delete.
    const lastCertificate = await call('GET', `/v1/certificates/${certificate.id}`, undefined, 200);
    assertOne(
      await producedBy(() => call('DELETE', `/v1/certificates/${certificate.id}`, undefined, 204)),
      'certificate.deleted',
      lastCertificate,
    );
    const lastProduct = await call('GET', `/v1/products/${product.id}`, undefined, 200);
    assertOne(
      await producedBy(() => call('DELETE', `/v1/products/${product.id}`, undefined, 204)),
      'product.deleted',
      lastProduct,
    );
    const lastSupplier = await call('GET', `/v1/suppliers/${supplier.id}`, undefined, 200);
    assertOne(
      await producedBy(() => call('DELETE', `/v1/suppliers/${supplier.id}`, undefined, 204)),
      'supplier.deleted',
      lastSupplier,
    );

    // A refused change produces nothing: a missing reference, a delete of an object in use, a 404.
    const other = await call('POST', '/v1/suppliers', { name: 'Other', country: 'FR' }, 201);
    await call('POST', '/v1/products', { name: 'Nut', sku: 'N-1', supplier_id: other.id }, 201);
    assert.deepEqual(
      await producedBy(async () => {
        await call('POST', '/v1/products', { name: 'X', sku: 'X-1', supplier_id: supplier.id }, 400);
        await call('DELETE', `/v1/suppliers/${other.id}`, undefined, 409);
        await call('DELETE', `/v1/certificates/${certificate.id}`, undefined, 404);
      }),
      [],
    );
  });

  test('two racing revocations of one certificate: exactly one certificate.revoked', async () => {
    const supplier = await call('POST', '/v1/suppliers', { name: 'Race', country: 'DE' }, 201);
    const certificate = await call(
      'POST',
      '/v1/certificates',
      {
        standard: 'ISO 14001',
        number: 'E-1',
        issuer: 'TÜV',
        supplier_id: supplier.id,
        issued_at: '2026-01-01',
        expires_at: '2028-01-01',
      },
      201,
    );
    const produced = await producedBy(() =>
      Promise.all(
        [1, 2, 3].map(() => call('PATCH', `/v1/certificates/${certificate.id}`, { status: 'revoked' }, 200)),
      ),
    );
    assert.deepEqual(produced.map((e) => e.type).sort(), [
      'certificate.revoked',
      'certificate.updated',
      'certificate.updated',
    ]);
  });

  test('api_key.leaked (the hook point of the leak handler): the key object with `leak`, once per key', async () => {
    const created = await call<Record<string, unknown> & { key: string }>(
      'POST',
      '/v1/api-keys',
      { name: 'Leaky', scopes: ['read:suppliers'] },
      201,
    );
    const db = t.app.deps.db;
    const report = { source: 'github' as const, url: 'https://github.com/example/repo/blob/0a1b/config.env' };
    const produced = await producedBy(async () => {
      for (let i = 0; i < 2; i++) {
        await db.transaction().execute(async (trx) => {
          const row = await revokeApiKey(
            trx,
            { orgId: org.orgId, modes: ['live'] },
            created.id as string,
            clock.now(),
          );
          assert.ok(row);
          await emitApiKeyLeaked(trx, row, report, clock.now());
        });
      }
    });
    const shown = await call('GET', `/v1/api-keys/${created.id}`, undefined, 200);
    assertOne(produced, 'api_key.leaked', { ...shown, leak: report });
    assert.ok(!JSON.stringify(produced).includes(created.key), 'the event has no key');
  });

  test('API keys: created, rolled and revoked carry the key object, never the key', async () => {
    let created: Record<string, unknown> & { key?: string } = {};
    const onCreate = await producedBy(async () => {
      created = await call('POST', '/v1/api-keys', { name: 'CI', scopes: ['read:suppliers'] }, 201);
    });
    const { key, ...createdObject } = created;
    assert.ok(key);
    assertOne(onCreate, 'api_key.created', createdObject);
    assert.equal('key' in (onCreate[0]?.data ?? {}), false);

    let rolled: Record<string, unknown> & { key?: string } = {};
    const onRoll = await producedBy(async () => {
      rolled = await call('POST', `/v1/api-keys/${created.id}/roll`, { grace_period_seconds: 60 }, 201);
    });
    const { key: rolledKey, ...rolledObject } = rolled;
    assertOne(onRoll, 'api_key.rolled', rolledObject);
    assert.equal(rolledObject.rolled_from, created.id);

    let revoked: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        revoked = await call('POST', `/v1/api-keys/${rolled.id}/revoke`, undefined, 200);
      }),
      'api_key.revoked',
      revoked,
    );
    // Revoking again changes nothing (the first revoked_at stays): no second event.
    assert.deepEqual(
      await producedBy(() => call('POST', `/v1/api-keys/${rolled.id}/revoke`, undefined, 200)),
      [],
    );

    const bodies = (await t.app.deps.db.selectFrom('webhook_messages').select('body').execute()).map(
      (r) => r.body,
    );
    for (const secret of [key, rolledKey] as string[]) {
      assert.ok(!bodies.some((body) => body.includes(secret)), 'no message body holds an API key');
    }
  });

  test('service accounts: created, key_created (no private key), key_deleted, deleted', async () => {
    let account: Record<string, unknown> = {};
    assertOne(
      await producedBy(async () => {
        account = await call(
          'POST',
          '/v1/service-accounts',
          { name: 'ERP', scopes: ['read:suppliers'] },
          201,
        );
      }),
      'service_account.created',
      account,
    );
    let file: Record<string, unknown> = {};
    const onKey = await producedBy(async () => {
      file = await call('POST', `/v1/service-accounts/${account.id}/keys`, undefined, 201);
    });
    assert.ok(String(file.private_key).includes('PRIVATE KEY'));
    const keys = await call<{ data: Record<string, unknown>[] }>(
      'GET',
      `/v1/service-accounts/${account.id}/keys`,
      undefined,
      200,
    );
    const keyObject = keys.data.find((k) => k.id === file.private_key_id);
    assertOne(onKey, 'service_account.key_created', keyObject);
    assert.ok(!JSON.stringify(onKey[0]).includes('PRIVATE KEY'), 'the event has no private key');

    assertOne(
      await producedBy(() =>
        call('DELETE', `/v1/service-accounts/${account.id}/keys/${file.private_key_id}`, undefined, 204),
      ),
      'service_account.key_deleted',
      keyObject,
    );
    assertOne(
      await producedBy(() => call('DELETE', `/v1/service-accounts/${account.id}`, undefined, 204)),
      'service_account.deleted',
      account,
    );
  });

  test('OAuth clients: created, secret_rotated, deleted, never with client_secret', async () => {
    const body = {
      name: 'Portal',
      redirect_uris: ['https://portal.example.com/callback'],
      client_type: 'confidential',
      scopes: ['read:suppliers'],
    };
    let created: Record<string, unknown> & { client_secret?: string } = {};
    const onCreate = await producedBy(async () => {
      created = await call('POST', '/v1/oauth/clients', body, 201);
    });
    const { client_secret: firstSecret, ...createdObject } = created;
    assertOne(onCreate, 'oauth_client.created', createdObject);

    let rotated: Record<string, unknown> & { client_secret?: string } = {};
    const onRotate = await producedBy(async () => {
      rotated = await call('POST', `/v1/oauth/clients/${created.id}/rotate-secret`, {}, 200);
    });
    const { client_secret: secondSecret, ...rotatedObject } = rotated;
    assertOne(onRotate, 'oauth_client.secret_rotated', rotatedObject);

    const last = await call('GET', `/v1/oauth/clients/${created.id}`, undefined, 200);
    assertOne(
      await producedBy(() => call('DELETE', `/v1/oauth/clients/${created.id}`, undefined, 204)),
      'oauth_client.deleted',
      last,
    );
    const bodies = (await t.app.deps.db.selectFrom('webhook_messages').select('body').execute()).map(
      (r) => r.body,
    );
    for (const secret of [firstSecret, secondSecret] as string[]) {
      assert.ok(secret && !bodies.some((b) => b.includes(secret)), 'no message body holds a client secret');
    }
    assert.ok(!bodies.some((b) => b.includes('client_secret"')), 'no payload has a client_secret member');
  });

  test('a change that fails after its event was written leaves neither the change nor the event', async () => {
    const account = await call(
      'POST',
      '/v1/service-accounts',
      { name: 'Doomed', scopes: ['read:suppliers'] },
      201,
    );
    // The audit entry is written after the event in the delete's transaction: make it fail.
    const db = t.app.deps.db;
    if (engine === 'sqlite') {
      await sql`create trigger fail_audit before insert on audit_events
        when new.action = 'service_account.deleted' begin select raise(abort, 'audit refused'); end`.execute(
        db,
      );
    } else {
      await sql`create function fail_audit() returns trigger language plpgsql as $$
        begin if new.action = 'service_account.deleted' then raise exception 'audit refused'; end if;
        return new; end $$`.execute(db);
      await sql`create trigger fail_audit before insert on audit_events
        for each row execute function fail_audit()`.execute(db);
    }
    try {
      const produced = await producedBy(async () => {
        const response = await t.call(org.adminKey, 'DELETE', `/v1/service-accounts/${account.id}`);
        assert.equal(response.statusCode, 500, response.body);
      });
      assert.deepEqual(produced, [], 'the rolled-back delete produced no event');
      await call('GET', `/v1/service-accounts/${account.id}`, undefined, 200);
    } finally {
      await sql`drop trigger fail_audit${engine === 'postgres' ? sql` on audit_events` : sql``}`.execute(db);
      if (engine === 'postgres') await sql`drop function fail_audit()`.execute(db);
    }
    assertOne(
      await producedBy(() => call('DELETE', `/v1/service-accounts/${account.id}`, undefined, 204)),
      'service_account.deleted',
      account,
    );
  });

  test('rate_limit.exceeded: once per window however many requests are refused', async () => {
    const limited = await createOrg(t.app);
    await insertEndpoint(
      t.app.deps.db,
      { orgId: limited.orgId, mode: 'live' },
      webhookSecretBox(t.config.masterKey),
      { url: receiver.url, events: ['rate_limit.exceeded'], description: 'limits' },
      clock.now(),
    );
    clock.set(Date.parse('2026-11-22T11:00:10Z'));
    const key = await createKey(t.app, limited, ['read:suppliers'], 'live', { rateLimitPerMinute: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.call(key, 'GET', '/v1/suppliers')).statusCode);
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429]);
    const first = await eventuallyEvents(limited.orgId, 1);
    assert.equal(first.length, 1);
    const keyId = (
      await t.app.deps.db
        .selectFrom('api_keys')
        .select('id')
        .where('org_id', '=', limited.orgId)
        .where('name', 'like', 'test key%')
        .executeTakeFirstOrThrow()
    ).id;
    assert.equal(first[0]?.type, 'rate_limit.exceeded');
    assert.deepEqual(first[0]?.data, {
      object: 'rate_limit',
      mode: 'live',
      window: 'key-minute',
      key_id: keyId,
      limit: 2,
      window_start: '2026-11-22T11:00:00Z',
      resets_at: '2026-11-22T11:01:00Z',
    });
    assert.equal(
      first[0]?.dedupe_key,
      `rate_limit.exceeded:live:key-minute:${keyId}:2026-11-22T11:00:00.000Z`,
    );

    // The next window is a new report; more refusals in it are not.
    clock.set(Date.parse('2026-11-22T11:01:05Z'));
    for (let i = 0; i < 5; i++) await t.call(key, 'GET', '/v1/suppliers');
    const second = await eventuallyEvents(limited.orgId, 2);
    assert.equal(second.length, 2);
    assert.equal(second[1]?.data.window_start, '2026-11-22T11:01:00Z');
    // Nothing more arrives for these windows (a further refusal in the same window is remembered).
    for (let i = 0; i < 3; i++) await t.call(key, 'GET', '/v1/suppliers');
    await t.app.inject({ method: 'GET', url: '/health' });
    assert.equal((await eventuallyEvents(limited.orgId, 2)).length, 2);
  });

  /** The rate-limit event is written off the request path: wait (bounded) until `count` are there. */
  async function eventuallyEvents(orgId: string, count: number) {
    for (let i = 0; i < 100; i++) {
      const found = await events(orgId);
      if (found.length >= count) return found;
      await sleep(20);
    }
    return events(orgId);
  }
});

forEachEngine('webhook producers: oauth.authorization_revoked', (_engine, handle) => {
  let t: OAuthTestServer;
  let receiver: { url: string; server: Server };
  before(async () => {
    receiver = await startReceiver();
    t = await startOAuthServer(handle(), { env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
  });
  after(async () => {
    await t.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  test('a user revoking an app produces the authorization as the API listed it', async () => {
    const org = await createOrg(t.app);
    const { row: endpoint } = await insertEndpoint(
      t.app.deps.db,
      { orgId: org.orgId, mode: 'live' },
      webhookSecretBox(t.config.masterKey),
      { url: receiver.url, events: ['*'], description: 'everything' },
      t.app.deps.clock.now(),
    );
    const client = await registerClient(t, org.adminKey, { name: 'Compliance dashboard' });
    const browser = new Browser(t.baseUrl);
    await authorize(t, browser, org, client, ['read:certificates']);
    const { csrf_token: csrf } = (await (await browser.request(`${t.baseUrl}/auth/session`)).json()) as {
      csrf_token: string;
    };
    const headers = { cookie: browser.cookieHeader, 'x-csrf-token': csrf };
    const listed = await t.app.inject({ method: 'GET', url: '/v1/oauth/authorizations', headers });
    const authorization = (listed.json().data as { id: string; client: { id: string } }[]).find(
      (a) => a.client.id === client.id,
    );
    assert.ok(authorization);

    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/v1/oauth/authorizations/${authorization.id}`,
      headers,
    });
    assert.equal(revoked.statusCode, 204, revoked.body);
    const rows = await t.app.deps.db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .where('type', '=', 'oauth.authorization_revoked')
      .execute();
    assert.equal(rows.length, 1);
    assert.deepEqual((JSON.parse(rows[0]?.body ?? '{}') as Event).data, authorization);
    const delivery = await t.app.deps.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('endpoint_id', '=', endpoint.id)
      .where('message_id', '=', rows[0]?.id ?? '')
      .executeTakeFirst();
    assert.ok(delivery, 'delivered to the endpoint subscribed to *');
  });
});
