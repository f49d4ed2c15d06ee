/**
 * `cohera apps …` and `cohera webhooks …` against a real server: client and signing secrets are printed
 * once (create, rotate-secret) and never by list; `webhooks test` reaches a real receiver on loopback and
 * `webhooks deliveries` shows it delivered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Receiver, startReceiver } from '../../../server/test/support/webhook-receiver.ts';
import {
  type ListResponse,
  type OAuthClient,
  type OAuthClientWithSecret,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointWithSecret,
  Webhooks,
} from '../../src/sdk.ts';
import {
  assertNoEscapes,
  comparable,
  json,
  occurrences,
  ok,
  plain,
  type Server,
  startServer,
} from './support.ts';

const WHSEC = /whsec_[A-Za-z0-9+/=]+/g;

describe('cohera apps', () => {
  let s: Server;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  test('create → list → update → rotate-secret → delete', async () => {
    const createRun = await s.cohera([
      'apps',
      'create',
      '--name',
      'Portal',
      '--redirect-uri',
      'https://portal.example.com/callback',
      '--redirect-uri',
      'http://127.0.0.1:5000/cb',
      '--scopes',
      'read:certificates',
    ]);
    ok(createRun);
    assertNoEscapes(createRun);
    const [app] = (await s.sdk.oauthClients.list()).data;
    assert.ok(app);
    assert.deepEqual(app.redirect_uris, ['https://portal.example.com/callback', 'http://127.0.0.1:5000/cb']);
    assert.ok(createRun.stderr.includes(app.client_id));
    const secretLine = createRun.stdout.trim();
    assert.equal(createRun.stdout, `${secretLine}\n`, 'the secret alone on stdout');
    assert.ok(secretLine.endsWith(app.secret_last4 ?? 'none'));
    assert.equal(createRun.stderr.includes(secretLine), false);

    const listRun = await s.cohera(['apps', 'list', '--json']);
    const listed = json<ListResponse<OAuthClient>>(listRun);
    assert.deepEqual(listed.data, plain(await s.sdk.oauthClients.list().toArray()));
    assert.equal(occurrences(listRun.stdout, secretLine), 0);

    const updated = json<OAuthClient>(
      await s.cohera([
        'apps',
        'update',
        app.id,
        '--name',
        'Portal 2',
        '--scopes',
        'read:certificates',
        '--json',
      ]),
    );
    assert.equal(updated.name, 'Portal 2');
    assert.deepEqual(updated, plain(await s.sdk.oauthClients.get(app.id)));
    assert.equal((await s.cohera(['apps', 'update', app.id])).code, 2, 'nothing to change');

    const rotated = json<OAuthClientWithSecret>(
      await s.cohera(['apps', 'rotate-secret', app.id, '--grace-period', '0', '--json']),
    );
    assert.ok(rotated.client_secret);
    assert.notEqual(rotated.client_secret, secretLine);

    const pub = json<OAuthClientWithSecret>(
      await s.cohera([
        'apps',
        'create',
        '--name',
        'SPA',
        '--type',
        'public',
        '--redirect-uri',
        'https://spa.example.com/cb',
        '--scopes',
        'read:products',
        '--json',
      ]),
    );
    assert.equal(pub.client_secret, null);

    assert.equal((await s.cohera(['apps', 'delete', app.id])).code, 2);
    ok(await s.cohera(['apps', 'delete', app.id, '--yes']));
    const gone = await s.cohera(['apps', 'delete', app.id, '--yes']);
    assert.equal(gone.code, 1);
  });
});

describe('cohera webhooks', () => {
  let s: Server;
  let receiver: Receiver;
  before(async () => {
    s = await startServer();
    receiver = await startReceiver();
  });
  after(async () => {
    await s.close();
    await receiver.close();
  });

  test('create (secret once) → list → test → deliveries → rotate-secret → delete', async () => {
    const createRun = await s.cohera([
      'webhooks',
      'create',
      '--url',
      receiver.url,
      '--events',
      'webhook.test,api_key.created',
      '--description',
      'tests',
    ]);
    const secrets = ok(createRun).match(WHSEC) ?? [];
    assert.equal(secrets.length, 1, 'the signing secret printed once');
    const secret = secrets[0] as string;
    assertNoEscapes(createRun);

    const listRun = await s.cohera(['webhooks', 'list', '--json']);
    const listed = json<ListResponse<WebhookEndpoint>>(listRun);
    assert.equal(listRun.stdout.match(WHSEC), null);
    assert.deepEqual(listed.data, plain(await s.sdk.webhookEndpoints.list().toArray()));
    const endpoint = listed.data[0];
    assert.ok(endpoint);
    assert.deepEqual(endpoint.events, ['webhook.test', 'api_key.created']);

    const queued = json<{ message_id: string }>(await s.cohera(['webhooks', 'test', endpoint.id, '--json']));
    assert.match(queued.message_id, /^msg_/);
    const [receipt] = await receiver.waitFor(1);
    assert.ok(receipt);
    assert.equal(receipt.headers['webhook-id'], queued.message_id);
    const event = await new Webhooks(secret).verify(receipt.body, receipt.headers as Record<string, string>);
    assert.equal(event.type, 'webhook.test');

    let deliveries: ListResponse<WebhookDelivery> = { data: [], next_cursor: null };
    for (let i = 0; i < 100; i++) {
      deliveries = json(await s.cohera(['webhooks', 'deliveries', endpoint.id, '--json']));
      if (deliveries.data[0]?.status === 'succeeded') break;
      await sleep(100);
    }
    assert.equal(deliveries.data[0]?.id, queued.message_id);
    assert.equal(deliveries.data[0]?.status, 'succeeded');
    assert.deepEqual(deliveries.data, plain(await s.sdk.webhookEndpoints.deliveries(endpoint.id).toArray()));
    const table = await s.cohera(['webhooks', 'deliveries', endpoint.id]);
    assert.ok(ok(table).includes(queued.message_id));
    assert.match(table.stdout, /succeeded/);

    const disabled = json<WebhookEndpoint>(
      await s.cohera(['webhooks', 'update', endpoint.id, '--status', 'disabled', '--json']),
    );
    assert.equal(disabled.status, 'disabled');
    assert.deepEqual(comparable(disabled), comparable(await s.sdk.webhookEndpoints.get(endpoint.id)));
    assert.equal((await s.cohera(['webhooks', 'update', endpoint.id])).code, 2, 'nothing to change');

    const rotated = json<{ secret: string }>(
      await s.cohera(['webhooks', 'rotate-secret', endpoint.id, '--grace-period', '0', '--json']),
    );
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, secret);

    assert.equal((await s.cohera(['webhooks', 'delete', endpoint.id])).code, 2);
    ok(await s.cohera(['webhooks', 'delete', endpoint.id, '--yes']));
    const unknown = await s.cohera(['webhooks', 'test', endpoint.id]);
    assert.equal(unknown.code, 1);
  });

  test("create --json carries the secret; a private URL on a strict server is the API's message", async () => {
    const created = json<WebhookEndpointWithSecret>(
      await s.cohera(['webhooks', 'create', '--url', receiver.url, '--json']),
    );
    assert.match(created.secret, /^whsec_/);
    assert.deepEqual(created.events, ['*']);
    const bad = await s.cohera(['webhooks', 'create', '--url', 'not a url']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /url/i);
  });
});
