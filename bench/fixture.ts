/**
 * The data every row uses, made once per `npm run bench` against the embedded server: an org bootstrapped
 * through the operator CLI, a supplier, product and certificate, a service account and an OAuth app with
 * its authorization-code flows (bench/oauth.ts).
 */
import { importPKCS8, SignJWT } from 'jose';
import { authorizationCodeFlows, REDIRECT_URI } from './oauth.ts';
import { call, cli, type Fixture, startCohera, type Target } from './runner.ts';
import { settings } from './settings.ts';
import { stop } from './support.ts';

/**
 * Bootstraps an org through the operator CLI (enterprise, with limits no benchmark reaches, so a rate
 * limiter runs on every request but never answers 429), then creates a supplier, a product and a
 * certificate over HTTP with the admin key, a service account and its key, and an OAuth app that the org's
 * owner authorizes `BENCH_TOKEN_CHAINS` times (one refresh token per chain of the token-endpoint row).
 */
export async function setUp(
  dataDir: string,
  options: { oauthFlows: boolean },
): Promise<{ fixture: Fixture; embedded: Target }> {
  const boot = (await cli(dataDir, [
    'admin',
    'bootstrap',
    '--org',
    'Bench Org',
    '--email',
    'bench@example.com',
    '--tier',
    'enterprise',
    // A new database on purpose, whatever may be serving COHERA_PORT (a developer's own server).
    '--yes',
    '--json',
  ])) as { org_id: string; api_key: string; email: string; password: string };
  await cli(dataDir, [
    'admin',
    'set-tier',
    '--org',
    boot.org_id,
    '--tier',
    'enterprise',
    '--per-minute',
    '999999999',
    '--per-day',
    '999999999',
    '--json',
  ]);
  const embedded = await startCohera(dataDir, {});
  try {
    return await fillIn(dataDir, boot, embedded, options);
  } catch (error) {
    // The caller stops only the servers it was given: this one must not outlive a failed set-up.
    await stop(embedded.server);
    throw error;
  }
}

/** Everything after the embedded server started: created over HTTP with the bootstrap admin key. */
async function fillIn(
  dataDir: string,
  boot: { org_id: string; api_key: string; email: string; password: string },
  embedded: Target,
  options: { oauthFlows: boolean },
): Promise<{ fixture: Fixture; embedded: Target }> {
  const key = boot.api_key;
  const supplier = await call(embedded.url, key, 'POST', '/v1/suppliers', {
    name: 'Bench Components GmbH',
    country: 'DE',
    contact_email: 'quality@bench.example',
  });
  const product = await call(embedded.url, key, 'POST', '/v1/products', {
    name: 'Hydraulic pump HP-200',
    sku: 'HP-200',
    supplier_id: supplier.json.id,
  });
  const certificate = await call(embedded.url, key, 'POST', '/v1/certificates', {
    standard: 'ISO 9001',
    number: 'QMS-2026-000123',
    issuer: 'Bench Certification AG',
    supplier_id: supplier.json.id,
    product_ids: [product.json.id],
    issued_at: '2026-01-15',
    expires_at: '2099-12-31',
  });
  const certificateId = String(certificate.json.id);
  const read = await call(embedded.url, key, 'GET', `/v1/certificates/${certificateId}`);
  const account = await call(embedded.url, key, 'POST', '/v1/service-accounts', {
    name: 'bench reader',
    scopes: ['read:certificates'],
  });
  const file = (await call(embedded.url, key, 'POST', `/v1/service-accounts/${account.json.id}/keys`, {}))
    .json;
  const now = Math.floor(Date.now() / 1000);
  const serviceAccountToken = await new SignJWT({ scopes: ['read:certificates'], org_id: file.org_id })
    .setProtectedHeader({ alg: 'ES256', kid: String(file.private_key_id) })
    .setIssuer(String(file.issuer))
    .setAudience(String(file.audience))
    .setSubject(String(file.service_account_id))
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importPKCS8(String(file.private_key), 'ES256'));
  const app = (
    await call(embedded.url, key, 'POST', '/v1/oauth/clients', {
      name: 'Bench portal',
      redirect_uris: [REDIRECT_URI],
      client_type: 'confidential',
      scopes: ['read:certificates'],
    })
  ).json;
  const oauthApp = { clientId: String(app.client_id), clientSecret: String(app.client_secret) };
  // Only the OAuth rows use them: the other rows do not depend on the authorization endpoint working.
  const flows = options.oauthFlows
    ? await authorizationCodeFlows(
        embedded.url,
        { email: boot.email, password: boot.password },
        oauthApp,
        ['read:certificates'],
        settings.tokenChains,
      )
    : [];
  return {
    fixture: {
      dataDir,
      issuer: embedded.url,
      orgId: boot.org_id,
      apiKey: key,
      certificateId,
      certificateJson: read.text,
      serviceAccountToken,
      oauth: {
        ...oauthApp,
        accessToken: flows[0]?.accessToken ?? '',
        refreshTokens: flows.map((flow) => flow.refreshToken),
      },
    },
    embedded,
  };
}
