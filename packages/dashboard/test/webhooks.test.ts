/** The Webhooks page's pure logic: the catalogue grouped for the picker, selections, URL rules, words. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WEBHOOK_EVENT_TYPES } from '../../shared/src/webhook-events.ts';
import {
  checkDraft,
  checkWebhookUrl,
  deliveryStatusText,
  describeEvents,
  EMPTY_DRAFT,
  endpointStatusText,
  groupEventTypes,
  hasPending,
  isPrivateHostLiteral,
  nextAttemptText,
  responseExcerpt,
  subscribes,
  toggleAllEvents,
  toggleEvents,
} from '../src/lib/webhooks.ts';

describe('the event catalogue in the picker', () => {
  const groups = groupEventTypes();
  const offered = groups.flatMap((g) => g.events.map((e) => e.type));

  test('every type of the server’s catalogue is offered exactly once, except webhook.test', () => {
    const expected = Object.keys(WEBHOOK_EVENT_TYPES).filter((t) => t !== 'webhook.test');
    assert.deepEqual([...offered].sort(), expected.sort());
    assert.equal(new Set(offered).size, offered.length);
  });

  test('types are grouped by resource, in a fixed order, with the catalogue’s words', () => {
    assert.deepEqual(
      groups.map((g) => g.label),
      [
        'Certificates',
        'Suppliers',
        'Products',
        'API keys',
        'Service accounts',
        'OAuth apps',
        'Rate limits',
        'Webhook endpoints',
      ],
    );
    const oauth = groups.find((g) => g.label === 'OAuth apps');
    assert.ok(oauth?.events.some((e) => e.type === 'oauth.authorization_revoked'));
    assert.ok(oauth?.events.some((e) => e.type === 'oauth_client.secret_rotated'));
    const cert = groups[0]?.events.find((e) => e.type === 'certificate.expiring');
    assert.equal(cert?.description, WEBHOOK_EVENT_TYPES['certificate.expiring']);
  });

  test('a resource the table does not know yet still gets a group of its own', () => {
    const future = groupEventTypes({ 'invoice.paid': 'An invoice was paid', 'supplier.created': 'x' });
    assert.deepEqual(
      future.map((g) => [g.label, g.events.map((e) => e.type)]),
      [
        ['Suppliers', ['supplier.created']],
        ['Invoice', ['invoice.paid']],
      ],
    );
  });
});

describe('choosing events', () => {
  test('types are added and removed, and kept in the picker’s order', () => {
    let value = toggleEvents([], ['supplier.created'], true);
    value = toggleEvents(value, ['certificate.expiring'], true);
    assert.deepEqual(value, ['certificate.expiring', 'supplier.created']);
    value = toggleEvents(value, ['certificate.expiring'], false);
    assert.deepEqual(value, ['supplier.created']);
  });

  test('a whole group at once', () => {
    const certificates = groupEventTypes()[0]?.events.map((e) => e.type) ?? [];
    const value = toggleEvents(['supplier.deleted'], certificates, true);
    assert.deepEqual(value, [...certificates, 'supplier.deleted']);
    assert.deepEqual(toggleEvents(value, certificates, false), ['supplier.deleted']);
  });

  test('All events is ["*"], stands alone and covers every type', () => {
    assert.deepEqual(toggleAllEvents(true), ['*']);
    assert.deepEqual(toggleAllEvents(false), []);
    assert.deepEqual(toggleEvents(['*'], ['supplier.created'], false), ['*']);
    assert.equal(subscribes(['*'], 'api_key.leaked'), true);
    assert.equal(subscribes(['api_key.revoked'], 'api_key.leaked'), false);
    assert.equal(describeEvents(['*']), 'All events');
    assert.equal(describeEvents(['a.b', 'c.d']), 'a.b, c.d');
  });
});

describe('the endpoint URL', () => {
  test('https to a public host is accepted as typed (trimmed)', () => {
    assert.deepEqual(checkWebhookUrl('  https://erp.example.com/hooks  '), {
      problem: null,
      needsPrivate: null,
      url: 'https://erp.example.com/hooks',
    });
  });

  test('what the server never accepts is named before sending', () => {
    assert.match(checkWebhookUrl('').problem ?? '', /Enter the URL/);
    assert.match(checkWebhookUrl('erp.example.com/hooks').problem ?? '', /not a complete URL/);
    assert.match(checkWebhookUrl('ftp://erp.example.com/').problem ?? '', /https:\/\//);
    assert.match(checkWebhookUrl('https://user:pw@erp.example.com/').problem ?? '', /password/);
    assert.match(checkWebhookUrl('https://erp.example.com/#x').problem ?? '', /fragment/);
  });

  test('http and private addresses are flagged as needing COHERA_WEBHOOKS_ALLOW_PRIVATE', () => {
    assert.match(checkWebhookUrl('http://erp.example.com/').needsPrivate ?? '', /http:\/\//);
    for (const url of [
      'https://127.0.0.1/',
      'https://localhost:8443/',
      'https://10.1.2.3/',
      'https://172.20.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:127.0.0.1]/',
      // Other spellings of 127.0.0.1: the browser's URL parser makes them dotted first.
      'https://2130706433/',
      'https://0177.0.0.1/',
      'https://0x7f.1/',
    ]) {
      const check = checkWebhookUrl(url);
      assert.equal(check.problem, null, url);
      assert.match(check.needsPrivate ?? '', /private or loopback/, url);
    }
    for (const host of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '[2001:db8::1]', 'example.com']) {
      assert.equal(isPrivateHostLiteral(new URL(`https://${host}/`).hostname), false, host);
    }
  });
});

describe('status and deliveries in words', () => {
  test('why an endpoint is disabled', () => {
    assert.match(endpointStatusText({ status: 'enabled', disabled_reason: null }), /^Enabled/);
    assert.match(endpointStatusText({ status: 'disabled', disabled_reason: 'gone' }), /410 Gone/);
    assert.match(endpointStatusText({ status: 'disabled', disabled_reason: 'failing' }), /failed for 5 days/);
    assert.match(endpointStatusText({ status: 'disabled', disabled_reason: 'manual' }), /by a person/);
  });

  test('a delivery’s state', () => {
    assert.equal(deliveryStatusText({ status: 'succeeded', attempts: 1 }), 'Delivered');
    assert.equal(deliveryStatusText({ status: 'failed', attempts: 9 }), 'Failed after 9 attempts');
    assert.equal(deliveryStatusText({ status: 'pending', attempts: 0 }), 'Waiting');
    assert.equal(deliveryStatusText({ status: 'pending', attempts: 2 }), 'Retrying');
    assert.equal(hasPending([{ status: 'succeeded' }, { status: 'pending' }]), true);
    assert.equal(hasPending([{ status: 'succeeded' }, { status: 'failed' }]), false);
  });

  test('when the next attempt is', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const at = (ms: number) => new Date(now + ms).toISOString();
    assert.equal(nextAttemptText({ status: 'pending', next_attempt_at: at(-1000) }, now), 'now');
    assert.equal(nextAttemptText({ status: 'pending', next_attempt_at: at(4_200) }, now), 'in 5 s');
    assert.equal(
      nextAttemptText({ status: 'pending', next_attempt_at: at(2 * 3_600_000) }, now),
      'in 2 hours',
    );
    assert.equal(nextAttemptText({ status: 'failed', next_attempt_at: null }, now), '—');
  });

  test('the first bytes of a response, on one line', () => {
    assert.equal(responseExcerpt('{\n  "ok": true\n}'), '{ "ok": true }');
    assert.equal(responseExcerpt(null), '');
    const long = responseExcerpt('x'.repeat(500), 20);
    assert.equal(long.length, 20);
    assert.ok(long.endsWith('…'));
  });
});

describe('a draft endpoint', () => {
  test('is sent only without problems, trimmed', () => {
    assert.deepEqual(
      checkDraft({ url: ' https://erp.example.com/h ', events: ['*'], description: '  ERP  ' }).body,
      { url: 'https://erp.example.com/h', events: ['*'], description: 'ERP' },
    );
    const empty = checkDraft(EMPTY_DRAFT);
    assert.equal(empty.body, null);
    assert.match(empty.url.problem ?? '', /Enter the URL/);
    assert.match(empty.events ?? '', /at least one event/);
    assert.equal(checkDraft({ url: 'https://erp.example.com/', events: [], description: '' }).body, null);
  });
});
