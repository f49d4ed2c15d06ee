/** Each error class from a real server response, with status, code, request id and the problem document. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  APIError,
  AuthenticationError,
  Cohera,
  CoheraError,
  ConflictError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ValidationError,
} from '../src/index.ts';
import { createKey, createOrg, type SdkTestServer, startServer } from './support/server.ts';

async function failure(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => assert.fail('expected the request to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof APIError, `expected an APIError, got ${String(error)}`);
  assert.ok(error instanceof CoheraError);
  // Every API error carries the request id the server logged, inside the problem document too.
  assert.match(error.requestId ?? '', /\S/);
  assert.equal(error.problem?.request_id, error.requestId);
  assert.equal(error.headers.get('x-request-id'), error.requestId);
  assert.equal(error.problem?.status, error.status);
  assert.equal(error.problem?.code, error.code);
  assert.ok(error.message.includes(error.code));
  return error;
}

describe('typed errors from real responses', () => {
  let s: SdkTestServer;
  let admin: Cohera;
  before(async () => {
    s = await startServer();
    admin = new Cohera({ apiKey: s.org.adminKey, baseUrl: s.baseUrl });
  });
  after(() => s.close());

  test('400 ValidationError names the field', async () => {
    // @ts-expect-error: country is required (the server is the judge, not only the types)
    const error = await failure(admin.suppliers.create({ name: 'No country' }));
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'validation_failed');
    assert.deepEqual(
      error.errors.map((e) => e.field),
      ['body/country'],
    );
  });

  test('401 AuthenticationError: unknown, expired and revoked keys, each with its code', async () => {
    const unknown = new Cohera({ apiKey: `ck_live_${'Q'.repeat(32)}000000`, baseUrl: s.baseUrl });
    const invalid = await failure(unknown.suppliers.list());
    assert.ok(invalid instanceof AuthenticationError);
    assert.equal(invalid.status, 401);
    assert.equal(invalid.code, 'invalid_credential');
    assert.match(invalid.headers.get('www-authenticate') ?? '', /invalid_token/);

    const expiredKey = await createKey(s.server.app, s.org, ['read:suppliers'], 'live', {
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const expired = await failure(new Cohera({ apiKey: expiredKey, baseUrl: s.baseUrl }).suppliers.list());
    assert.ok(expired instanceof AuthenticationError);
    assert.equal(expired.code, 'expired_credential');

    const made = await admin.apiKeys.create({ name: 'short-lived', scopes: ['read:suppliers'] });
    await admin.apiKeys.revoke(made.id);
    const revoked = await failure(new Cohera({ apiKey: made.key, baseUrl: s.baseUrl }).suppliers.list());
    assert.ok(revoked instanceof AuthenticationError);
    assert.equal(revoked.code, 'revoked_credential');
  });

  test('403 PermissionError names the scope it needed', async () => {
    const readOnly = await admin.apiKeys.create({ name: 'reader', scopes: ['read:suppliers'] });
    const reader = new Cohera({ apiKey: readOnly.key, baseUrl: s.baseUrl });
    const error = await failure(reader.suppliers.create({ name: 'X', country: 'DE' }));
    assert.ok(error instanceof PermissionError);
    assert.equal(error.status, 403);
    assert.equal(error.code, 'insufficient_scope');
    assert.equal(error.requiredScope, 'write:suppliers');
  });

  test('404 NotFoundError, also for another organization’s object', async () => {
    const missing = await failure(admin.certificates.get('cert_0000000000000000000000'));
    assert.ok(missing instanceof NotFoundError);
    assert.equal(missing.code, 'not_found');

    const supplier = await admin.suppliers.create({ name: 'Mine', country: 'NL' });
    const other = await createOrg(s.server.app);
    const stranger = new Cohera({ apiKey: other.adminKey, baseUrl: s.baseUrl });
    const foreign = await failure(stranger.suppliers.get(supplier.id));
    assert.ok(foreign instanceof NotFoundError);
  });

  test('409 ConflictError when a supplier still has products', async () => {
    const supplier = await admin.suppliers.create({ name: 'Busy', country: 'IT' });
    await admin.products.create({ name: 'P', sku: 'P-1', supplier_id: supplier.id });
    const error = await failure(admin.suppliers.delete(supplier.id));
    assert.ok(error instanceof ConflictError);
    assert.equal(error.code, 'resource_in_use');
  });

  test('429 RateLimitError with retryAfter in seconds (no retries asked for)', async () => {
    const key = await createKey(s.server.app, s.org, ['read:suppliers'], 'live', { rateLimitPerMinute: 1 });
    const client = new Cohera({ apiKey: key, baseUrl: s.baseUrl, maxRetries: 0 });
    await client.suppliers.list();
    const error = await failure(client.suppliers.list());
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryAfter, Number(error.headers.get('retry-after')));
    assert.ok((error.retryAfter ?? 0) >= 1 && (error.retryAfter ?? 0) <= 60);
    assert.equal(client.lastRateLimit?.remaining, 0);
  });
});
