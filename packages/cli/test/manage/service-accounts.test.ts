/**
 * `cohera service-accounts …` against a real server: the generated `service-account.json` is written mode
 * 0600 and never overwritten without `--force` (and no key is generated when it would be refused), a
 * public key can be registered instead, and the file's key signs tokens the API accepts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../../server/test/support/config.ts';
import {
  Cohera,
  type ListResponse,
  ServiceAccount,
  type ServiceAccountFile,
  type ServiceAccountKey,
  type ServiceAccountObject,
} from '../../src/sdk.ts';
import { json, ok, plain, type Server, startServer } from './support.ts';

describe('cohera service-accounts', () => {
  let s: Server;
  const dir = tempDir('cohera-sa-');
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
    dir.remove();
  });

  test('create, list, keys create --out (0600, no overwrite without --force), keys list, delete', async () => {
    const account = json<ServiceAccountObject>(
      await s.cohera([
        'service-accounts',
        'create',
        '--name',
        'etl',
        '--scopes',
        'read:certificates',
        '--json',
      ]),
    );
    assert.match(account.id, /^sa_/);
    assert.deepEqual(account, plain(await s.sdk.serviceAccounts.get(account.id)));
    const listed = json<ListResponse<ServiceAccountObject>>(
      await s.cohera(['service-accounts', 'list', '--json']),
    );
    const page = await s.sdk.serviceAccounts.list();
    assert.deepEqual(listed, plain({ data: page.data, next_cursor: page.next_cursor }));

    const out = join(dir.path, 'service-account.json');
    const write = await s.cohera(['service-accounts', 'keys', 'create', account.id, '--out', out]);
    assert.ok(ok(write).includes(out));
    assert.equal(write.stdout.includes('PRIVATE KEY'), false, 'the key goes to the file only');
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(out, 'utf8')) as ServiceAccountFile;
    assert.equal(file.service_account_id, account.id);
    assert.match(file.private_key, /PRIVATE KEY/);

    // The file works: its key signs a token the API accepts.
    const sa = await ServiceAccount.fromFile(out);
    const client = new Cohera({ serviceAccount: sa, scopes: ['read:certificates'], baseUrl: s.baseUrl });
    await client.certificates.list();

    const keysBefore = await s.sdk.serviceAccounts.listKeys(account.id).toArray();
    const refused = await s.cohera(['service-accounts', 'keys', 'create', account.id, '--out', out]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--force/);
    assert.equal(readFileSync(out, 'utf8'), `${JSON.stringify(file, null, 2)}\n`, 'unchanged');
    assert.equal(
      (await s.sdk.serviceAccounts.listKeys(account.id).toArray()).length,
      keysBefore.length,
      'no key made',
    );

    const forced = json<{ path: string; private_key_id: string }>(
      await s.cohera(['service-accounts', 'keys', 'create', account.id, '--out', out, '--force', '--json']),
    );
    assert.equal(forced.path, out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const replaced = JSON.parse(readFileSync(out, 'utf8')) as ServiceAccountFile;
    assert.equal(replaced.private_key_id, forced.private_key_id);
    assert.notEqual(replaced.private_key_id, file.private_key_id);

    const keys = json<ListResponse<ServiceAccountKey>>(
      await s.cohera(['service-accounts', 'keys', 'list', account.id, '--json']),
    );
    assert.deepEqual(keys.data, plain(await s.sdk.serviceAccounts.listKeys(account.id).toArray()));
    assert.equal(JSON.stringify(keys).includes('PRIVATE KEY'), false);

    const table = await s.cohera(['service-accounts', 'keys', 'list', account.id]);
    assert.ok(ok(table).includes(file.private_key_id));

    const deleteKey = await s.cohera([
      'service-accounts',
      'keys',
      'delete',
      account.id,
      file.private_key_id,
      '--yes',
    ]);
    ok(deleteKey);
    const remaining = await s.sdk.serviceAccounts.listKeys(account.id).toArray();
    assert.equal(
      remaining.some((key) => key.id === file.private_key_id),
      false,
    );

    assert.equal(
      (await s.cohera(['service-accounts', 'delete', account.id])).code,
      2,
      'no --yes, no terminal',
    );
    ok(await s.cohera(['service-accounts', 'delete', account.id, '--yes']));
    const gone = await s.cohera(['service-accounts', 'get-nothing', account.id]);
    assert.equal(gone.code, 2);
    const deleted = await s.cohera(['service-accounts', 'keys', 'list', account.id]);
    assert.equal(deleted.code, 1);
  });

  test('keys create --public-key registers your key; without --out the file is printed once', async () => {
    const account = await s.sdk.serviceAccounts.create({ name: 'byok', scopes: ['read:products'] });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = join(dir.path, 'public.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    const key = json<ServiceAccountKey>(
      await s.cohera(['service-accounts', 'keys', 'create', account.id, '--public-key', pem, '--json']),
    );
    assert.equal(key.origin, 'uploaded');
    assert.equal(key.algorithm, 'ES256');

    const printed = await s.cohera(['service-accounts', 'keys', 'create', account.id]);
    const file = JSON.parse(ok(printed)) as ServiceAccountFile;
    assert.equal(file.service_account_id, account.id);
    assert.equal(printed.stderr.includes('PRIVATE KEY'), false);
  });
});
