/**
 * The dashboard's static serving: `/` and `/dashboard` redirect, the build's files are served with their
 * cache policy, client-side routes get index.html, nothing outside the build is reachable, and every page
 * carries the CSP that forbids inline script and framing. A build that is missing says so (503).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../support/app.ts';
import { type EngineHandle, prepareEngine } from '../support/engines.ts';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/dashboard/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

describe('dashboard serving', () => {
  let handle: EngineHandle;
  let t: TestApp;
  let missing: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'cohera-dashboard-'));
  before(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("app")');
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(tmpdir(), 'cohera-outside.txt'), 'outside the build');
    handle = await prepareEngine('sqlite');
    t = await startTestApp(handle, { dashboardDir: dir });
    missing = await startTestApp(handle, { dashboardDir: join(dir, 'nope') });
  });
  after(async () => {
    await t.close();
    await missing.close();
    await handle.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ and /dashboard redirect to /dashboard/', async () => {
    const root = await t.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/dashboard/');
    const bare = await t.inject({ method: 'GET', url: '/dashboard' });
    assert.equal(bare.statusCode, 301);
    assert.equal(bare.headers.location, '/dashboard/');
  });

  test('index.html for the app and its client-side routes, never cached, with the CSP', async () => {
    for (const url of ['/dashboard/', '/dashboard/settings/api-keys', '/dashboard/usage?key_id=key_1']) {
      const response = await t.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, INDEX);
      assert.match(String(response.headers['content-type']), /text\/html/);
      assert.equal(response.headers['cache-control'], 'no-cache');
      const csp = String(response.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(response.headers['x-frame-options'], 'DENY');
    }
  });

  test('hashed assets are cached for a year; other files are revalidated', async () => {
    const asset = await t.inject({ method: 'GET', url: '/dashboard/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.body, 'console.log("app")');
    assert.match(String(asset.headers['content-type']), /javascript/);
    assert.match(String(asset.headers['cache-control']), /max-age=31536000/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const icon = await t.inject({ method: 'GET', url: '/dashboard/favicon.svg' });
    assert.equal(icon.statusCode, 200);
    assert.doesNotMatch(String(icon.headers['cache-control']), /immutable/);
  });

  test('nothing outside the build is reachable', async () => {
    for (const url of [
      '/dashboard/../cohera-outside.txt',
      '/dashboard/%2e%2e/cohera-outside.txt',
      '/dashboard/assets/..%2f..%2fcohera-outside.txt',
      '/dashboard//etc/passwd',
    ]) {
      const response = await t.inject({ method: 'GET', url });
      assert.ok(!response.body.includes('outside the build'), url);
      assert.ok(!response.body.includes('root:'), url);
    }
  });

  test('the dashboard is public HTML; the API beside it still needs a credential', async () => {
    const api = await t.inject({ method: 'GET', url: '/v1/api-keys' });
    assert.equal(api.statusCode, 401);
  });

  test('a missing build answers 503 with what to run', async () => {
    const response = await missing.inject({ method: 'GET', url: '/dashboard/' });
    assert.equal(response.statusCode, 503);
    assert.match(response.body, /npm install/);
  });
});
