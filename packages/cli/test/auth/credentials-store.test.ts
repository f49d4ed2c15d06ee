/** The saved logins: one entry per base URL, 0600 in a 0700 directory, XDG_CONFIG_HOME honoured. */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  credentialsPath,
  deleteLogin,
  loadLogin,
  normalizeBaseUrl,
  type SavedLogin,
  saveLogin,
} from '../../src/credentials-store.ts';
import { tempDir } from '../conventions/support.ts';

const login = (baseUrl: string, token: string): SavedLogin => ({
  access_token: token,
  refresh_token: `r-${token}`,
  expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  scopes: ['read:certificates'],
  base_url: baseUrl,
  client_id: 'cohera-cli',
  saved_at: new Date().toISOString(),
});

describe('credentials store', () => {
  const config = tempDir();
  const env = { XDG_CONFIG_HOME: config.path };
  after(() => config.remove());

  test('the same server however its URL is written', () => {
    assert.equal(normalizeBaseUrl('http://Example.com:8080/'), 'http://example.com:8080');
    assert.equal(normalizeBaseUrl('https://example.com/cohera//'), 'https://example.com/cohera');
  });

  test('one entry per base URL, 0600 in a 0700 directory, no temporary file left', async () => {
    await saveLogin(login('http://127.0.0.1:1', 'one'), env);
    await saveLogin(login('http://127.0.0.1:2/', 'two'), env);
    assert.equal(credentialsPath(env), join(config.path, 'cohera', 'credentials.json'));
    assert.equal(statSync(credentialsPath(env)).mode & 0o777, 0o600);
    assert.equal(statSync(join(config.path, 'cohera')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(config.path, 'cohera')), ['credentials.json']);
    assert.equal((await loadLogin('http://127.0.0.1:1', env))?.access_token, 'one');
    assert.equal((await loadLogin('http://127.0.0.1:2', env))?.access_token, 'two');
    assert.equal(await loadLogin('http://127.0.0.1:3', env), null);
  });

  test('delete removes only that server', async () => {
    assert.equal(await deleteLogin('http://127.0.0.1:1', env), true);
    assert.equal(await deleteLogin('http://127.0.0.1:1', env), false);
    assert.equal(await loadLogin('http://127.0.0.1:1', env), null);
    assert.equal((await loadLogin('http://127.0.0.1:2', env))?.access_token, 'two');
  });
});
