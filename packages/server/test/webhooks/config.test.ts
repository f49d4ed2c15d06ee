/**
 * The webhook settings (DESIGN §5.5 operator knobs): defaults, accepted values, and refusals that stop
 * start-up with a line naming the setting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError, DEFAULT_WEBHOOK_RETRY_SCHEDULE, loadConfig } from '../../src/config.ts';
import { tempDir } from '../support/config.ts';

const load = (env: Record<string, string> = {}) =>
  loadConfig({
    COHERA_DATA_DIR: tempDir().path,
    COHERA_MASTER_KEY: randomBytes(32).toString('base64'),
    ...env,
  });

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

test('defaults: https and public addresses only, 15 s, the 3-day schedule, 120 hours', () => {
  const config = load();
  assert.equal(config.webhooksAllowPrivate, false);
  assert.equal(config.webhookTimeoutSeconds, 15);
  assert.deepEqual(config.webhookRetrySchedule, [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
  assert.deepEqual(config.webhookRetrySchedule, DEFAULT_WEBHOOK_RETRY_SCHEDULE);
  assert.equal(config.webhookDisableAfterHours, 120);
});

test('accepted values', () => {
  const config = load({
    COHERA_WEBHOOKS_ALLOW_PRIVATE: 'true',
    COHERA_WEBHOOK_TIMEOUT_SECONDS: '5',
    COHERA_WEBHOOK_RETRY_SCHEDULE: '1, 1,1',
    COHERA_WEBHOOK_DISABLE_AFTER_HOURS: '1',
  });
  assert.equal(config.webhooksAllowPrivate, true);
  assert.equal(config.webhookTimeoutSeconds, 5);
  assert.deepEqual(config.webhookRetrySchedule, [1, 1, 1]);
  assert.equal(config.webhookDisableAfterHours, 1);
  assert.ok(Object.isFrozen(config.webhookRetrySchedule));
});

test('refused values name their setting', () => {
  for (const [name, value] of [
    ['COHERA_WEBHOOKS_ALLOW_PRIVATE', 'yes'],
    ['COHERA_WEBHOOK_TIMEOUT_SECONDS', '0'],
    ['COHERA_WEBHOOK_TIMEOUT_SECONDS', '61'],
    ['COHERA_WEBHOOK_TIMEOUT_SECONDS', '1.5'],
    ['COHERA_WEBHOOK_RETRY_SCHEDULE', '5,,10'],
    ['COHERA_WEBHOOK_RETRY_SCHEDULE', '5,-1'],
    ['COHERA_WEBHOOK_RETRY_SCHEDULE', '604801'],
    ['COHERA_WEBHOOK_RETRY_SCHEDULE', Array(21).fill('1').join(',')],
    ['COHERA_WEBHOOK_DISABLE_AFTER_HOURS', '0'],
    ['COHERA_WEBHOOK_DISABLE_AFTER_HOURS', '8761'],
  ] as const) {
    const problems = problemsOf({ [name]: value });
    assert.equal(problems.length, 1, `${name}=${value}: ${problems.join('; ')}`);
    assert.ok(problems[0]?.startsWith(name), problems[0]);
  }
});
