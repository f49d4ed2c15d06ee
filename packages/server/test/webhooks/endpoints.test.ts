/**
 * The webhook endpoints API (DESIGN §5.5), on both engines: create, list, get, change, delete; URL and event
 * rules; the signing secret shown once (in the creation and rotation answers, never in a list, a read, a
 * change or an idempotent replay) and sealed in the database; rotation with a grace period; 404 across
 * orgs and modes; `admin` scope required.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WEBHOOK_SECRET_PREFIX } from '@cohera/shared';
import { isoAt } from '../../src/clock.ts';
import { getEndpoint, rotateEndpointSecret } from '../../src/webhooks/repository.ts';
import {
  openWebhookSecret,
  secretKeyBytes,
  signingSecrets,
  webhookSecretBox,
} from '../../src/webhooks/secrets.ts';
import {
  capturedLogs,
  createKey,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';

const URL_OK = 'https://hooks.example.com/cohera';

forEachEngine('webhook endpoints API', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  before(async () => {
    t = await startTestApp(handle());
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  const create = async (body: Record<string, unknown> = { url: URL_OK, events: ['supplier.created'] }) => {
    const response = await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', body);
    assert.equal(response.statusCode, 201, response.body);
    return response.json<{ id: string; secret: string } & Record<string, unknown>>();
  };
  const rawRow = async (id: string) =>
    t.app.deps.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  test('create answers the endpoint and its secret; the secret is Standard Webhooks’ shape', async () => {
    const created = await create({
      url: URL_OK,
      events: ['supplier.created', 'certificate.expiring'],
      description: 'ERP',
    });
    assert.match(created.id, /^whe_[0-9A-Za-z]{22}$/);
    assert.equal(created.object, 'webhook_endpoint');
    assert.equal(created.url, URL_OK);
    assert.deepEqual(created.events, ['supplier.created', 'certificate.expiring']);
    assert.equal(created.description, 'ERP');
    assert.equal(created.mode, 'live');
    assert.equal(created.status, 'enabled');
    assert.equal(created.disabled_reason, null);
    assert.ok(created.secret.startsWith(WEBHOOK_SECRET_PREFIX));
    assert.equal(secretKeyBytes(created.secret).length, 32);
    const listed = await t.call(org.adminKey, 'GET', '/v1/webhook-endpoints');
    assert.equal(listed.statusCode, 200);
    assert.ok(listed.json().data.some((e: { id: string }) => e.id === created.id));
  });

  test('the secret is shown once: never in list, get, PATCH, audit, nor in the clear in the database', async () => {
    const { id, secret } = await create();
    const keyPart = secret.slice(WEBHOOK_SECRET_PREFIX.length);
    const answers = [
      await t.call(org.adminKey, 'GET', '/v1/webhook-endpoints?limit=100'),
      await t.call(org.adminKey, 'GET', `/v1/webhook-endpoints/${id}`),
      await t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, { description: 'changed' }),
      await t.call(org.adminKey, 'GET', '/v1/audit-events?limit=100'),
    ];
    for (const answer of answers) {
      assert.equal(answer.statusCode, 200, answer.body);
      assert.ok(!answer.body.includes(keyPart), 'the secret is in an answer');
      assert.ok(!/"secret"/.test(answer.body), 'a secret member is in an answer');
    }
    assert.ok(!capturedLogs.some((line) => line.includes(keyPart)), 'the secret is in a log line');
    const row = await rawRow(id);
    assert.ok(!JSON.stringify(row).includes(keyPart), 'the raw row holds the secret');
    assert.match(row.secret_sealed, /^v1\./);
    // Sealed under the master key and bound to this endpoint: it opens here, and nowhere else.
    const box = webhookSecretBox(t.config.masterKey);
    assert.equal(openWebhookSecret(box, id, row.secret_sealed), secret);
    assert.throws(() => openWebhookSecret(box, 'whe_0000000000000000000000', row.secret_sealed));
  });

  test('idempotent replays of create and rotate-secret never hand the secret out again', async () => {
    for (const [url, body] of [
      ['/v1/webhook-endpoints', { url: URL_OK, events: ['*'] }],
      [`/v1/webhook-endpoints/${(await create()).id}/rotate-secret`, {}],
    ] as const) {
      const key = randomUUID();
      const send = () =>
        t.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${org.adminKey}`, 'idempotency-key': key },
          payload: body,
        });
      const first = await send();
      assert.ok(first.statusCode === 201 || first.statusCode === 200, first.body);
      const secret = first.json().secret as string;
      assert.ok(secret.startsWith(WEBHOOK_SECRET_PREFIX));
      const replay = await send();
      assert.equal(replay.statusCode, 409, replay.body);
      assert.equal(replay.json().code, 'secret_already_shown');
      assert.ok(!replay.body.includes(secret.slice(WEBHOOK_SECRET_PREFIX.length)));
    }
  });

  describe('validation', () => {
    const refused = async (body: Record<string, unknown>, field: string) =>
      assertProblem(
        await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', body),
        400,
        'validation_failed',
        field,
      );

    test('https only, and no private address literal (every spelling)', async () => {
      for (const url of [
        'http://hooks.example.com/',
        'ftp://hooks.example.com/',
        'not a url',
        'https://127.0.0.1/hook',
        'https://2130706433/hook', // 127.0.0.1 in decimal
        'https://0177.0.0.1/hook', // 127.0.0.1 in octal
        'https://10.0.0.8/',
        'https://169.254.169.254/latest/meta-data',
        'https://[::1]/',
        'https://[::ffff:127.0.0.1]/',
        'https://[fd00::1]/',
        'https://localhost/',
        'https://user:pass@hooks.example.com/',
      ]) {
        await refused({ url, events: ['*'] }, 'body/url');
      }
    });

    test('events: catalogue types or `*`, at least one, no unknown member', async () => {
      await refused({ url: URL_OK, events: ['supplier.exploded'] }, 'body/events/0');
      await refused({ url: URL_OK, events: [] }, 'body/events');
      await refused({ url: URL_OK }, 'body/events');
      await refused({ url: URL_OK, events: ['*'], secret: 'whsec_mine' }, 'body/secret');
      const star = await create({ url: URL_OK, events: ['supplier.created', '*'] });
      assert.deepEqual(star.events, ['*'], '`*` stands alone');
    });

    test('PATCH applies the same rules, and refuses an empty change', async () => {
      const { id } = await create();
      const patch = (body: Record<string, unknown>) =>
        t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, body);
      assertProblem(await patch({ url: 'http://hooks.example.com/' }), 400, 'validation_failed', 'body/url');
      assertProblem(await patch({ url: 'https://192.168.1.1/' }), 400, 'validation_failed', 'body/url');
      assertProblem(await patch({ events: ['nope'] }), 400, 'validation_failed', 'body/events/0');
      assertProblem(await patch({ status: 'paused' }), 400, 'validation_failed');
      assertProblem(await patch({}), 400, 'validation_failed');
      const ok = await patch({ url: 'https://other.example.com/x', events: ['product.deleted'] });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().url, 'https://other.example.com/x');
      assert.deepEqual(ok.json().events, ['product.deleted']);
    });
  });

  test('PATCH status: disabling by hand says why; enabling clears it and the failure streak', async () => {
    const { id } = await create();
    const disabled = await t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, {
      status: 'disabled',
    });
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal(disabled.json().status, 'disabled');
    assert.equal(disabled.json().disabled_reason, 'manual');
    await t.app.deps.db
      .updateTable('webhook_endpoints')
      .set({ failing_since: isoAt(Date.now()) })
      .where('id', '=', id)
      .execute();
    const enabled = await t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, { status: 'enabled' });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().status, 'enabled');
    assert.equal(enabled.json().disabled_reason, null);
    assert.equal((await rawRow(id)).failing_since, null);
  });

  test('DELETE removes the endpoint: 204, then 404', async () => {
    const { id } = await create();
    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/webhook-endpoints/${id}`);
    assert.equal(deleted.statusCode, 204, deleted.body);
    assertProblem(await t.call(org.adminKey, 'GET', `/v1/webhook-endpoints/${id}`), 404, 'not_found');
    assertProblem(await t.call(org.adminKey, 'DELETE', `/v1/webhook-endpoints/${id}`), 404, 'not_found');
  });

  test('every change is audited, with the endpoint as the target', async () => {
    const { id } = await create();
    await t.call(org.adminKey, 'PATCH', `/v1/webhook-endpoints/${id}`, { description: 'x' });
    await t.call(org.adminKey, 'POST', `/v1/webhook-endpoints/${id}/rotate-secret`, {
      grace_period_seconds: 0,
    });
    await t.call(org.adminKey, 'DELETE', `/v1/webhook-endpoints/${id}`);
    const events = await t.app.deps.db
      .selectFrom('audit_events')
      .select(['action', 'metadata'])
      .where('target_id', '=', id)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      events.map((e) => e.action),
      [
        'webhook_endpoint.created',
        'webhook_endpoint.updated',
        'webhook_endpoint.secret_rotated',
        'webhook_endpoint.deleted',
      ],
    );
  });

  describe('rotate-secret', () => {
    test('a new secret once; the old one also signs for the grace period (default a day)', async () => {
      const { id, secret: old } = await create();
      const rotated = await t.inject({
        method: 'POST',
        url: `/v1/webhook-endpoints/${id}/rotate-secret`,
        headers: { authorization: `Bearer ${org.adminKey}` },
      });
      assert.equal(rotated.statusCode, 200, rotated.body);
      assert.deepEqual(Object.keys(rotated.json()), ['secret']);
      const secret = rotated.json().secret as string;
      assert.notEqual(secret, old);
      const row = await rawRow(id);
      const now = t.app.deps.clock.now();
      const expires = Date.parse(String(row.previous_secret_expires_at));
      assert.ok(Math.abs(expires - (now + 86_400_000)) < 60_000, String(row.previous_secret_expires_at));
      const box = webhookSecretBox(t.config.masterKey);
      assert.deepEqual(signingSecrets(box, row, now), [secretKeyBytes(secret), secretKeyBytes(old)]);
      assert.deepEqual(signingSecrets(box, row, expires), [secretKeyBytes(secret)], 'the grace ends');
    });

    test('grace 0 ends the old secret at once; more than 7 days is refused', async () => {
      const { id } = await create();
      const url = `/v1/webhook-endpoints/${id}/rotate-secret`;
      assertProblem(
        await t.call(org.adminKey, 'POST', url, { grace_period_seconds: 604_801 }),
        400,
        'validation_failed',
        'body/grace_period_seconds',
      );
      const rotated = await t.call(org.adminKey, 'POST', url, { grace_period_seconds: 0 });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const row = await rawRow(id);
      assert.equal(row.previous_secret_sealed, null);
      const box = webhookSecretBox(t.config.masterKey);
      assert.deepEqual(signingSecrets(box, row, t.app.deps.clock.now()), [
        secretKeyBytes(rotated.json().secret),
      ]);
    });

    test('two rotations from one read: the second loses and keeps nothing of its own', async () => {
      const { id, secret: original } = await create();
      const tenant = { orgId: org.orgId, mode: 'live' as const };
      const box = webhookSecretBox(t.config.masterKey);
      const read = await getEndpoint(t.app.deps.db, tenant, id);
      assert.ok(read);
      const now = t.app.deps.clock.now();
      const first = await rotateEndpointSecret(t.app.deps.db, tenant, box, read, 3600, now);
      assert.ok(first);
      assert.equal(await rotateEndpointSecret(t.app.deps.db, tenant, box, read, 3600, now), null);
      const row = await rawRow(id);
      assert.deepEqual(signingSecrets(box, row, now), [
        secretKeyBytes(first.secret),
        secretKeyBytes(original),
      ]);
    });
  });

  describe('tenancy and access', () => {
    test('another org and the other mode get 404 for every route; lists do not show it', async () => {
      const { id } = await create();
      const testModeAdmin = await createKey(t.app, org, ['admin'], 'test');
      for (const key of [other.adminKey, testModeAdmin]) {
        for (const [method, url, body] of [
          ['GET', `/v1/webhook-endpoints/${id}`, undefined],
          ['PATCH', `/v1/webhook-endpoints/${id}`, { description: 'mine now' }],
          ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`, {}],
          ['DELETE', `/v1/webhook-endpoints/${id}`, undefined],
        ] as const) {
          assertProblem(await t.call(key, method, url, body), 404, 'not_found');
        }
        const listed = await t.call(key, 'GET', '/v1/webhook-endpoints?limit=100');
        assert.equal(listed.statusCode, 200);
        assert.ok(!listed.body.includes(id));
      }
      const row = await rawRow(id);
      assert.equal(row.description, '', 'nothing changed');
      // The test mode has endpoints of its own, created in the caller's mode.
      const testEndpoint = await t.call(testModeAdmin, 'POST', '/v1/webhook-endpoints', {
        url: URL_OK,
        events: ['*'],
      });
      assert.equal(testEndpoint.statusCode, 201, testEndpoint.body);
      assert.equal(testEndpoint.json().mode, 'test');
      assertProblem(
        await t.call(org.adminKey, 'GET', `/v1/webhook-endpoints/${testEndpoint.json().id}`),
        404,
        'not_found',
      );
    });

    test('a key without `admin` is refused with 403 on every route', async () => {
      const { id } = await create();
      const reader = await createKey(t.app, org, ['read:*', 'write:*']);
      for (const [method, url, body] of [
        ['POST', '/v1/webhook-endpoints', { url: URL_OK, events: ['*'] }],
        ['GET', '/v1/webhook-endpoints', undefined],
        ['GET', `/v1/webhook-endpoints/${id}`, undefined],
        ['PATCH', `/v1/webhook-endpoints/${id}`, { description: 'x' }],
        ['DELETE', `/v1/webhook-endpoints/${id}`, undefined],
        ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`, {}],
        ['GET', '/v1/events', undefined],
      ] as const) {
        const problem = assertProblem(await t.call(reader, method, url, body), 403, 'insufficient_scope');
        assert.equal(problem.required_scope, 'admin');
      }
    });
  });
});

forEachEngine('webhook endpoints with COHERA_WEBHOOKS_ALLOW_PRIVATE=true', (_engine, handle) => {
  let t: TestApp;
  let org: TestOrg;
  before(async () => {
    t = await startTestApp(handle(), { env: { COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    org = await createOrg(t.app);
  });
  after(() => t.close());

  test('http:// and private addresses are accepted (development and tests)', async () => {
    for (const url of ['http://127.0.0.1:3000/hook', 'https://10.1.2.3/', 'http://localhost/x']) {
      const response = await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', { url, events: ['*'] });
      assert.equal(response.statusCode, 201, `${url}: ${response.body}`);
    }
    assertProblem(
      await t.call(org.adminKey, 'POST', '/v1/webhook-endpoints', { url: 'ftp://127.0.0.1/', events: ['*'] }),
      400,
      'validation_failed',
      'body/url',
    );
  });
});
