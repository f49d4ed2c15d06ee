import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LatencyHistogram } from '../../src/metrics/latency-histogram.ts';
import { createOrg, startTestApp, type TestApp, type TestOrg } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

test('LatencyHistogram renders cumulative buckets, +Inf, sum and count per series', () => {
  const histogram = new LatencyHistogram({ name: 'h', help: 'help', buckets: [0.1, 1] });
  const labels = () => ({ route: '/x' });
  for (const seconds of [0.05, 0.1, 0.5, 2]) histogram.observe('x', labels, seconds);
  const { values, type } = histogram.get();
  assert.equal(type, 'histogram');
  const buckets = values.filter((v) => v.metricName === 'h_bucket').map((v) => [v.labels.le, v.value]);
  // 0.05 and 0.1 are ≤ 0.1 (Prometheus buckets are upper-inclusive); 0.5 is ≤ 1; 2 only in +Inf.
  assert.deepEqual(buckets, [
    [0.1, 2],
    [1, 3],
    ['+Inf', 4],
  ]);
  assert.equal(values.find((v) => v.metricName === 'h_sum')?.value, 2.65);
  assert.equal(values.find((v) => v.metricName === 'h_count')?.value, 4);
});

let handle: EngineHandle;
let t: TestApp;
let org: TestOrg;
before(async () => {
  handle = await prepareEngine('sqlite');
  t = await startTestApp(handle, { env: { COHERA_METRICS_TOKEN: TOKEN } });
  org = await createOrg(t.app);
});
after(async () => {
  await t.close();
  await handle.cleanup();
});

async function scrape(): Promise<string> {
  const response = await t.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /^text\/plain/);
  return response.body;
}

function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

test('/metrics counts requests by route pattern and status, and auth failures by code', async () => {
  const count =
    'cohera_http_request_duration_seconds_count{method="GET",route="/v1/suppliers/:id",status="404"}';
  const failures = 'cohera_auth_failures_total{code="invalid_credential"}';
  const before = await scrape();
  for (let i = 0; i < 3; i++) await t.call(org.adminKey, 'GET', `/v1/suppliers/sup_${'0'.repeat(22)}`);
  await t.call('ck_live_notakey', 'GET', '/v1/suppliers');
  const text = await scrape();
  assert.equal(sample(text, count) - sample(before, count), 3);
  assert.equal(sample(text, failures) - sample(before, failures), 1);
  // Raw URLs (with ids) never become label values: cardinality stays bounded.
  assert.doesNotMatch(text, /route="\/v1\/suppliers\/sup_/);
});

test('/metrics without the token is a 404, as if it did not exist', async () => {
  const response = await t.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: 'Bearer wrong' },
  });
  assert.equal(response.statusCode, 404);
  assert.equal(response.json().code, 'route_not_found');
});
