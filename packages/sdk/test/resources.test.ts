/** Every resource through the SDK against a real server: CRUD, pagination, filters, management. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ServiceAccount } from '../src/auth/index.ts';
import {
  AuthenticationError,
  Cohera,
  ConflictError,
  NotFoundError,
  Page,
  type Supplier,
  ValidationError,
} from '../src/index.ts';
import { type SdkTestServer, startServer } from './support/server.ts';

describe('resources', () => {
  let s: SdkTestServer;
  let client: Cohera;
  before(async () => {
    s = await startServer();
    client = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
  });
  after(() => s.close());

  test('suppliers, products and certificates: create, get, update, list, delete', async () => {
    const supplier = await client.suppliers.create({ name: 'Acme GmbH', country: 'DE' });
    assert.equal(supplier.object, 'supplier');
    assert.match(supplier.id, /^sup_/);
    assert.equal(supplier.contact_email, null);
    assert.deepEqual(await client.suppliers.get(supplier.id), supplier);

    const updated = await client.suppliers.update(supplier.id, { contact_email: 'qa@acme.example' });
    assert.equal(updated.contact_email, 'qa@acme.example');

    const product = await client.products.create({ name: 'Widget', sku: 'W-1', supplier_id: supplier.id });
    assert.equal(product.supplier_id, supplier.id);
    const certificate = await client.certificates.create({
      standard: 'ISO 9001',
      number: 'Q-123',
      issuer: 'TÜV',
      supplier_id: supplier.id,
      product_ids: [product.id],
      issued_at: new Date('2026-01-15T08:30:00.123Z'),
      expires_at: '2027-01-31',
    });
    // A Date goes out as an API timestamp; a plain expiry date means the end of that day.
    assert.equal(certificate.issued_at, '2026-01-15T08:30:00Z');
    assert.equal(certificate.expires_at, '2027-01-31T23:59:59Z');
    assert.equal(certificate.status, 'valid');

    const revoked = await client.certificates.update(certificate.id, { status: 'revoked' });
    assert.equal(revoked.status, 'revoked');
    const page = await client.certificates.list({ supplier_id: supplier.id, status: 'revoked' });
    assert.deepEqual(
      page.data.map((c) => c.id),
      [certificate.id],
    );
    assert.equal(
      (await client.certificates.list({ status: 'valid', supplier_id: supplier.id })).data.length,
      0,
    );
    const expiringSoon = await client.certificates.list({ expires_before: new Date('2027-02-01T00:00:00Z') });
    assert.ok(expiringSoon.data.some((c) => c.id === certificate.id));

    await client.certificates.delete(certificate.id);
    await assert.rejects(client.certificates.get(certificate.id), NotFoundError);
    await assert.rejects(client.certificates.delete(certificate.id), NotFoundError);
    await client.products.delete(product.id);
    await client.suppliers.delete(supplier.id);
  });

  test('list() is one page when awaited and every item when iterated', async () => {
    const created: Supplier[] = [];
    for (let i = 0; i < 23; i++) {
      created.push(await client.suppliers.create({ name: `Paged ${i}`, country: 'FR', status: 'suspended' }));
    }
    const first = await client.suppliers.list({ limit: 10, status: 'suspended' });
    assert.ok(first instanceof Page);
    assert.equal(first.data.length, 10);
    assert.ok(first.hasNextPage());
    const second = await first.getNextPage();
    assert.equal(second?.data.length, 10);
    const third = await second?.getNextPage();
    assert.equal(third?.data.length, 3);
    assert.equal(third?.hasNextPage(), false);
    assert.equal(await third?.getNextPage(), null);

    const seen: string[] = [];
    for await (const supplier of client.suppliers.list({ limit: 7, status: 'suspended' }))
      seen.push(supplier.id);
    assert.equal(seen.length, 23);
    assert.deepEqual(new Set(seen), new Set(created.map((c) => c.id)));

    // Iterating a page goes from that page on; toArray collects with a bound.
    const fromSecond: string[] = [];
    for await (const supplier of second as Page<Supplier>) fromSecond.push(supplier.id);
    assert.equal(fromSecond.length, 13);
    assert.equal(
      (await client.suppliers.list({ limit: 5, status: 'suspended' }).toArray({ limit: 12 })).length,
      12,
    );

    // A list is lazy, and awaiting it twice sends one request.
    const list = client.suppliers.list({ limit: 1, status: 'suspended' });
    const [a, b] = await Promise.all([list, list]);
    assert.equal(a, b);
  });

  test('an empty id is refused before anything is sent (it would reach the list route)', async () => {
    await assert.rejects(() => client.suppliers.get(''), TypeError);
    await assert.rejects(() => client.suppliers.delete(''), TypeError);
    await assert.rejects(client.suppliers.get('../api-keys'), NotFoundError);
  });

  test('api keys: create, whoami, list, usage, roll, revoke', async () => {
    const created = await client.apiKeys.create({
      name: 'ci reader',
      scopes: ['read:certificates'],
      expires_in_days: 30,
    });
    assert.match(created.key, /^ck_live_/);
    assert.equal(created.prefix, created.key.slice(0, created.prefix.length));
    const reader = new Cohera({ apiKey: created.key, baseUrl: s.baseUrl });
    const who = await reader.whoami();
    assert.equal(who.id, created.id);
    assert.deepEqual(who.scopes, ['read:certificates']);
    await reader.certificates.list();

    const fetched = await client.apiKeys.get(created.id);
    assert.equal('key' in fetched, false, 'the key is never returned again');
    const listed = await client.apiKeys.list().toArray();
    assert.ok(listed.some((k) => k.id === created.id));

    const usage = await client.apiKeys.usage(created.id, { days: 7 });
    assert.equal(usage.data.length, 7);

    const rolled = await client.apiKeys.roll(created.id, { grace_period_seconds: 0 });
    assert.notEqual(rolled.key, created.key);
    assert.equal(rolled.rolled_from, created.id);
    await assert.rejects(reader.certificates.list(), AuthenticationError);
    const rolledClient = new Cohera({ apiKey: rolled.key, baseUrl: s.baseUrl });
    await rolledClient.certificates.list();

    const revoked = await client.apiKeys.revoke(rolled.id);
    assert.equal(revoked.status, 'revoked');
    assert.ok(revoked.revoked_at);
    const refused = await rolledClient.certificates.list().catch((e: unknown) => e);
    assert.ok(refused instanceof AuthenticationError);
    assert.equal(refused.code, 'revoked_credential');
  });

  test('a create whose answer is lost: the retry throws secret_already_shown, never a key-less object', async () => {
    // The first attempt reaches the server and is carried out; its answer is lost on the way back.
    let lost = 0;
    const losing: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'POST' && lost++ === 0) {
        await response.body?.cancel();
        throw new TypeError('fetch failed: the connection was reset');
      }
      return response;
    };
    const flaky = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl, fetch: losing, maxRetries: 1 });
    const error = await flaky.apiKeys
      .create({ name: 'lost answer', scopes: ['read:certificates'] })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.code, 'secret_already_shown');
    const made = error.problem?.result as { id: string; key?: string };
    assert.match(made.id, /^key_/);
    assert.equal('key' in made, false);
    // The key the first attempt made is the one that exists; rolling it gives a usable secret.
    const named = (await client.apiKeys.list().toArray()).filter((k) => k.name === 'lost answer');
    assert.deepEqual(
      named.map((k) => k.id),
      [made.id],
    );
    const rolled = await client.apiKeys.roll(made.id, { grace_period_seconds: 0 });
    assert.equal((await new Cohera({ apiKey: rolled.key, baseUrl: s.baseUrl }).whoami()).id, rolled.id);
  });

  test('service accounts: create, generate a key, use it, list and delete keys', async () => {
    const account = await client.serviceAccounts.create({ name: 'billing', scopes: ['read:certificates'] });
    assert.match(account.id, /^sa_/);
    const file = await client.serviceAccounts.createKey(account.id);
    assert.equal(file.type, 'service_account');
    assert.equal(file.api_base_url, s.baseUrl);
    const sa = await ServiceAccount.fromJSON(file);
    const saClient = new Cohera({ serviceAccount: sa, scopes: ['read:certificates'] });
    assert.equal(saClient.baseUrl, s.baseUrl, 'the base URL comes from service-account.json');
    assert.equal((await saClient.whoami()).id, account.id);

    const keys = await client.serviceAccounts.listKeys(account.id);
    assert.deepEqual(
      keys.data.map((k) => k.id),
      [file.private_key_id],
    );
    await client.serviceAccounts.deleteKey(account.id, file.private_key_id);
    await assert.rejects(
      new Cohera({ serviceAccount: sa, scopes: ['read:certificates'] }).certificates.list(),
      AuthenticationError,
    );
    assert.ok((await client.serviceAccounts.list().toArray()).some((a) => a.id === account.id));
    await client.serviceAccounts.delete(account.id);
    await assert.rejects(client.serviceAccounts.get(account.id), NotFoundError);
  });

  test('service accounts: upload your own public key', async () => {
    const account = await client.serviceAccounts.create({ name: 'uploaded', scopes: ['read:suppliers'] });
    const { publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64');
    const pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----\n`;
    const key = await client.serviceAccounts.createKey(account.id, { public_key: pem, algorithm: 'ES256' });
    assert.equal(key.object, 'service_account_key');
    assert.equal(key.origin, 'uploaded');
  });

  test('oauth clients: create, get, update, rotate the secret, delete', async () => {
    const app = await client.oauthClients.create({
      name: 'Portal',
      redirect_uris: ['https://portal.example/callback'],
      client_type: 'confidential',
      scopes: ['read:certificates'],
    });
    assert.match(app.client_secret ?? '', /^cs_/);
    const fetched = await client.oauthClients.get(app.id);
    assert.equal('client_secret' in fetched, false);
    const updated = await client.oauthClients.update(app.id, {
      name: 'Portal v2',
      scopes: ['read:certificates', 'read:suppliers'],
    });
    assert.equal(updated.name, 'Portal v2');
    assert.deepEqual(updated.scopes, ['read:certificates', 'read:suppliers']);
    assert.equal('client_secret' in updated, false);
    const rotated = await client.oauthClients.rotateSecret(app.id, { grace_period_seconds: 0 });
    assert.notEqual(rotated.client_secret, app.client_secret);
    assert.ok((await client.oauthClients.list().toArray()).some((c) => c.id === app.id));
    await client.oauthClients.delete(app.id);
    await assert.rejects(client.oauthClients.get(app.id), NotFoundError);
  });

  test('organization, security report, audit events (list, export, verify)', async () => {
    const org = await client.organization.retrieve();
    assert.equal(org.id, s.org.orgId);
    assert.equal(org.tier, 'pro');
    const updated = await client.organization.update({ policy: { key_rotation_days: 45 } });
    assert.equal(updated.policy.key_rotation_days, 45);

    const report = await client.security.report();
    assert.ok(report.checks.some((c) => c.id === 'admin_keys'));

    const events = await client.auditEvents.list({ action: 'api_key.created', limit: 100 });
    assert.ok(events.data.length >= 1);
    assert.ok(events.data.every((e) => e.action === 'api_key.created'));
    const exported = [];
    for await (const event of client.auditEvents.export({ action: 'api_key.created' })) exported.push(event);
    assert.deepEqual(new Set(exported.map((e) => e.id)), new Set(events.data.map((e) => e.id)));
    // Breaking out of the export stops it cleanly.
    for await (const _event of client.auditEvents.export()) break;
    const verification = await client.auditEvents.verify();
    assert.equal(verification.ok, true);
    assert.ok(verification.checked > 0);
    // Against a signed digest of the chain as it stands (the server's own signer, as its digest lines use).
    const { deps } = s.server.app;
    const head = await deps.db
      .selectFrom('audit_chain_heads')
      .select(['seq', 'hash'])
      .where('org_id', '=', s.org.orgId)
      .executeTakeFirstOrThrow();
    const digest = deps.audit.digestSigner.sign({
      org_id: s.org.orgId,
      seq: Number(head.seq),
      hash: head.hash,
      iat: 1,
    });
    const checked = await client.auditEvents.verify({ digest });
    assert.equal(checked.ok, true);
    assert.deepEqual(checked.digest, { seq: Number(head.seq), issued_at: '1970-01-01T00:00:01Z' });
    const forged = await client.auditEvents.verify({ digest: `${digest}x` }).catch((error: unknown) => error);
    assert.ok(forged instanceof ValidationError);
    assert.equal(forged.code, 'invalid_audit_digest');
  });

  test('lastRateLimit follows the X-RateLimit headers', async () => {
    await client.suppliers.list({ limit: 1 });
    const first = client.lastRateLimit;
    assert.ok(first);
    assert.equal(first.limit, 600);
    await client.suppliers.list({ limit: 1 });
    assert.ok((client.lastRateLimit?.remaining ?? Infinity) < first.remaining);
    assert.ok(first.reset.getTime() > Date.now() - 1000);
  });
});
