/**
 * Type tests of the published API: compiled by `tsc --strict` against the packed tarball's `.d.ts` (see
 * package.test.ts), so the types users get cannot drift from what this file expects. Nothing here runs.
 */
import {
  APIError,
  type ApiKeyWithSecret,
  AuthenticationError,
  type Certificate,
  Cohera,
  type CoheraError,
  ConnectionError,
  NotFoundError,
  type Page,
  type PagePromise,
  PermissionError,
  type RateLimit,
  RateLimitError,
  type ServiceAccountFile,
  type ServiceAccountKey,
  type Supplier,
  ValidationError,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointWithSecret,
  type WebhookEvent,
  Webhooks,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from 'cohera';
import { OAuth2, OAuthError, ServiceAccount, type Tokens } from 'cohera/auth';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

declare const client: Cohera;

export async function resources() {
  const list = client.certificates.list({ status: 'valid', limit: 10 });
  expectType<Equal<typeof list, PagePromise<Certificate>>>();
  const page = await list;
  expectType<Equal<typeof page, Page<Certificate>>>();
  expectType<Equal<typeof page.next_cursor, string | null>>();
  for await (const cert of client.certificates.list()) {
    expectType<Equal<typeof cert, Certificate>>();
    expectType<Equal<typeof cert.status, 'valid' | 'expired' | 'revoked'>>();
  }
  const supplier = await client.suppliers.create({ name: 'A', country: 'DE' });
  expectType<Equal<typeof supplier, Supplier>>();
  expectType<Equal<Awaited<ReturnType<typeof client.suppliers.delete>>, void>>();
  // @ts-expect-error: country is required
  await client.suppliers.create({ name: 'A' });
  // @ts-expect-error: not a status of certificates
  client.certificates.list({ status: 'active' });
  // @ts-expect-error: not a scope
  await client.apiKeys.create({ name: 'k', scopes: ['write:everything'] });

  const key = await client.apiKeys.create({ name: 'k', scopes: ['read:certificates'], expires_in_days: 90 });
  expectType<Equal<typeof key, ApiKeyWithSecret>>();
  expectType<Equal<typeof key.key, string>>();
  const fetched = await client.apiKeys.get(key.id);
  // @ts-expect-error: a fetched key has no secret
  fetched.key;

  const file = await client.serviceAccounts.createKey('sa_1');
  expectType<Equal<typeof file, ServiceAccountFile>>();
  const uploaded = await client.serviceAccounts.createKey('sa_1', {
    public_key: '-----BEGIN PUBLIC KEY-----',
  });
  expectType<Equal<typeof uploaded, ServiceAccountKey>>();

  expectType<Equal<typeof client.lastRateLimit, RateLimit | null>>();
  await client.suppliers.get('sup_1', { timeout: 5_000, maxRetries: 0, signal: AbortSignal.timeout(1_000) });
  await client.suppliers.create({ name: 'A', country: 'DE' }, { idempotencyKey: 'order-1' });
}

export function errors(error: unknown) {
  if (error instanceof RateLimitError) expectType<Equal<typeof error.retryAfter, number | null>>();
  if (error instanceof PermissionError) expectType<Equal<typeof error.requiredScope, string | null>>();
  if (error instanceof APIError) {
    expectType<Equal<typeof error.status, number>>();
    expectType<Equal<typeof error.requestId, string | null>>();
  }
  if (error instanceof ConnectionError) expectType<Equal<typeof error.status, number | null>>();
  const all: CoheraError[] = [
    new AuthenticationError('x', { status: 401, headers: new Headers() }),
    new NotFoundError('x', { status: 404, headers: new Headers() }),
    new ValidationError('x', { status: 400, headers: new Headers() }),
  ];
  return all;
}

export async function webhooks(rawBody: string, headers: Headers) {
  const endpoint = await client.webhookEndpoints.create({
    url: 'https://hooks.example/cohera',
    events: ['*'],
  });
  expectType<Equal<typeof endpoint, WebhookEndpointWithSecret>>();
  const fetched = await client.webhookEndpoints.get(endpoint.id);
  expectType<Equal<typeof fetched, WebhookEndpoint>>();
  // @ts-expect-error: the secret is shown once, on create
  fetched.secret;
  // @ts-expect-error: not an event type
  await client.webhookEndpoints.create({ url: 'https://hooks.example/', events: ['certificate.exploded'] });
  for await (const delivery of client.webhookEndpoints.deliveries(endpoint.id)) {
    expectType<Equal<typeof delivery.status, 'pending' | 'succeeded' | 'failed'>>();
    expectType<Equal<typeof delivery, WebhookDelivery>>();
  }
  const { requeued } = await client.webhookEndpoints.recover(endpoint.id, { since: new Date() });
  expectType<Equal<typeof requeued, number>>();
  await client.events.list({ type: 'certificate.expiring' });

  const verifier = new Webhooks([endpoint.secret, 'whsec_old']);
  const event = await verifier.verify(rawBody, headers, { toleranceSeconds: 60 });
  expectType<Equal<typeof event, WebhookEvent>>();
  if (event.type === 'certificate.expiring') {
    expectType<Equal<typeof event, WebhookEvent<'certificate.expiring'>>>();
    expectType<Equal<typeof event.data, Certificate>>();
  }
  if (event.type === 'rate_limit.exceeded') expectType<Equal<typeof event.data.resets_at, string>>();
  // @ts-expect-error: a parsed body cannot be verified
  await verifier.verify({ id: 'msg_1' }, headers);
  const testHeaders: Record<string, string> = await verifier.generateTestHeaders(rawBody);
  await verifier.verify(rawBody, testHeaders);
  try {
    await verifier.verify(new Uint8Array(), { 'webhook-id': 'msg_1' });
  } catch (error) {
    if (error instanceof WebhookVerificationError)
      expectType<Equal<typeof error.code, WebhookVerificationErrorCode>>();
  }
}

export async function auth() {
  const oauth = new OAuth2({
    clientId: 'cli_1',
    clientSecret: 'cs_1',
    redirectUri: 'https://app.example/cb',
  });
  const { url, state, codeVerifier } = await oauth.getAuthorizationUrl({ scopes: ['read:certificates'] });
  expectType<Equal<typeof url | typeof state | typeof codeVerifier, string>>();
  const tokens = await oauth.exchangeCode(oauth.parseCallback(url, { state }), { codeVerifier });
  expectType<Equal<typeof tokens, Tokens>>();
  expectType<Equal<typeof tokens.isExpired, boolean>>();
  if (tokens.isExpired) await oauth.refreshToken(tokens.refreshToken);
  new Cohera({ accessToken: tokens.accessToken });
  new Cohera({ accessToken: async () => tokens.accessToken });
  // @ts-expect-error: scopes are Cohera scopes
  await oauth.getAuthorizationUrl({ scopes: ['openid'] });

  const sa = await ServiceAccount.fromFile('service-account.json');
  const jwt = await sa.generateToken({ scopes: ['read:certificates'], expiresIn: 3600 });
  expectType<Equal<typeof jwt, string>>();
  new Cohera({ serviceAccount: sa, scopes: ['read:certificates'] });
  const e = new OAuthError('x');
  expectType<Equal<typeof e.errorDescription, string | null>>();
}
