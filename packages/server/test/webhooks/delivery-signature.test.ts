/**
 * Signing and retry timing, without a server: the `webhook-signature` header matches Standard Webhooks'
 * published test vector and verifies with the `standardwebhooks` and `svix` libraries (one signature per
 * secret during a rotation); the retry delay keeps to ±10 % of the schedule; Retry-After is read as seconds
 * or an HTTP date and bounded by the schedule's longest step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { retryAfterMs, retryDelayMs } from '../../src/webhooks/delivery/retry-schedule.ts';
import { generateWebhookSecret, secretKeyBytes } from '../../src/webhooks/secrets.ts';
import { signatureHeader } from '../../src/webhooks/signature.ts';

describe('signatureHeader', () => {
  test('matches the Standard Webhooks test vector', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    assert.equal(
      signatureHeader([key], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  test('verifies with standardwebhooks and svix; two secrets give two signatures, each verifying', () => {
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const body = JSON.stringify({
      id: 'msg_x',
      type: 'webhook.test',
      timestamp: '2026-12-03T10:00:00Z',
      data: {},
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signatureHeader(
      [secretKeyBytes(current), secretKeyBytes(previous)],
      'msg_x',
      timestamp,
      body,
    );
    assert.equal(signature.split(' ').length, 2);
    const headers = {
      'webhook-id': 'msg_x',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    for (const secret of [current, previous]) {
      assert.ok(new StandardWebhook(secret).verify(body, headers));
      assert.ok(new SvixWebhook(secret).verify(body, headers));
    }
    assert.throws(() => new StandardWebhook(generateWebhookSecret()).verify(body, headers));
    assert.throws(() => signatureHeader([], 'msg_x', timestamp, body));
  });
});

describe('retry timing', () => {
  test('the schedule with ±10 % jitter, then exhausted', () => {
    const schedule = [5, 300];
    assert.equal(retryDelayMs(schedule, 1, 0), 4500);
    assert.equal(retryDelayMs(schedule, 1, 0.999999), 5500);
    assert.equal(retryDelayMs(schedule, 2, 0.5), 300_000);
    assert.equal(retryDelayMs(schedule, 3, 0.5), null);
  });

  test('Retry-After: seconds or an HTTP date, bounded to [0, longest step]', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    const schedule = [5, 300];
    assert.equal(retryAfterMs('120', now, schedule), 120_000);
    assert.equal(retryAfterMs('86400', now, schedule), 300_000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 10:01:00 GMT', now, schedule), 60_000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 09:00:00 GMT', now, schedule), 0);
    assert.equal(retryAfterMs('soon', now, schedule), null);
    assert.equal(retryAfterMs('-5', now, schedule), null);
    assert.equal(retryAfterMs(null, now, schedule), null);
  });
});
