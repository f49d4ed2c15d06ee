/**
 * The SDK's types against the server's contract: the server's own OpenAPI document is turned into
 * TypeScript by openapi-typescript, and `tsc` must agree that every SDK model equals what the server
 * describes for its response, and every parameter type is what it accepts (with `Date` allowed where
 * a timestamp goes). A field added, removed, renamed or retyped on either side fails here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { startTestApp } from '../../server/test/support/app.ts';
import { prepareEngine } from '../../server/test/support/engines.ts';

const SDK = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(SDK, '../..');

const CHECKS = `
import type * as SDK from '${join(SDK, 'src/types.ts')}';
import type { paths } from './openapi.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
/** One object type out of an intersection (\`allOf\` becomes \`A & B\`), so Equal compares members, not shapes of types. */
type Flat<T> = { [K in keyof T]: T[K] };
/** For types the SDK deliberately keeps wider than one response (it also reads files users bring). */
type Accepts<Wide, Narrow> = [Narrow] extends [Wide] ? true : false;
/** What goes on the wire for a parameter type: a Date becomes an ISO string. */
type Wire<T> = { [K in keyof T]: Exclude<T[K], Date> };
type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer J } } };
}
  ? J
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;
type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;
type Item<L> = L extends { data: (infer I)[] } ? I : never;
/** \`T\` with the members \`K\` retyped as the server's schema declares them (where the SDK narrows them). */
type As<T, K extends keyof T, W extends { [P in K]: unknown }> = Flat<Omit<T, K> & W>;

export type Checks = [
  Assert<Equal<SDK.Supplier, Json<'/v1/suppliers/{id}', 'get', 200>>>,
  Assert<Equal<SDK.Supplier, Item<Json<'/v1/suppliers', 'get', 200>>>>,
  Assert<Equal<Wire<SDK.SupplierCreateParams>, Body<'/v1/suppliers', 'post'>>>,
  Assert<Equal<Wire<SDK.SupplierUpdateParams>, Body<'/v1/suppliers/{id}', 'patch'>>>,
  Assert<Equal<Wire<SDK.SupplierListParams>, Query<'/v1/suppliers', 'get'>>>,
  Assert<Equal<SDK.Product, Json<'/v1/products/{id}', 'get', 200>>>,
  Assert<Equal<Wire<SDK.ProductCreateParams>, Body<'/v1/products', 'post'>>>,
  Assert<Equal<Wire<SDK.ProductUpdateParams>, Body<'/v1/products/{id}', 'patch'>>>,
  Assert<Equal<Wire<SDK.ProductListParams>, Query<'/v1/products', 'get'>>>,
  Assert<Equal<SDK.Certificate, Json<'/v1/certificates/{id}', 'get', 200>>>,
  Assert<Equal<SDK.Certificate, Json<'/v1/certificates', 'post', 201>>>,
  Assert<Equal<Wire<SDK.CertificateCreateParams>, Body<'/v1/certificates', 'post'>>>,
  Assert<Equal<Wire<SDK.CertificateUpdateParams>, Body<'/v1/certificates/{id}', 'patch'>>>,
  Assert<Equal<Wire<SDK.CertificateListParams>, Query<'/v1/certificates', 'get'>>>,
  Assert<Equal<SDK.ApiKey, Json<'/v1/api-keys/{id}', 'get', 200>>>,
  Assert<Equal<SDK.ApiKey, Item<Json<'/v1/api-keys', 'get', 200>>>>,
  Assert<Equal<SDK.ApiKey, Json<'/v1/api-keys/{id}/revoke', 'post', 200>>>,
  Assert<Equal<Flat<SDK.ApiKeyWithSecret>, Flat<Json<'/v1/api-keys', 'post', 201>>>>,
  Assert<Equal<Flat<SDK.ApiKeyWithSecret>, Flat<Json<'/v1/api-keys/{id}/roll', 'post', 201>>>>,
  Assert<Equal<Wire<SDK.ApiKeyCreateParams>, Body<'/v1/api-keys', 'post'>>>,
  Assert<Equal<Wire<SDK.ApiKeyRollParams>, Body<'/v1/api-keys/{id}/roll', 'post'>>>,
  Assert<Equal<SDK.OrganizationUsage, Json<'/v1/usage', 'get', 200>>>,
  Assert<Equal<Wire<SDK.ApiKeyListParams>, Query<'/v1/api-keys', 'get'>>>,
  Assert<Equal<SDK.ApiKeyUsage, Json<'/v1/api-keys/{id}/usage', 'get', 200>>>,
  Assert<Equal<SDK.ServiceAccountObject, Json<'/v1/service-accounts/{id}', 'get', 200>>>,
  Assert<Equal<SDK.ServiceAccountObject, Json<'/v1/service-accounts', 'post', 201>>>,
  Assert<Equal<SDK.ServiceAccountCreateParams, Body<'/v1/service-accounts', 'post'>>>,
  Assert<Equal<SDK.ServiceAccountKey, Item<Json<'/v1/service-accounts/{id}/keys', 'get', 200>>>>,
  // A generated key pair is ES256 on the server; ServiceAccount.fromJSON also reads RS256/EdDSA files.
  Assert<Accepts<SDK.ServiceAccountFile | SDK.ServiceAccountKey, Json<'/v1/service-accounts/{id}/keys', 'post', 201>>>,
  Assert<Equal<Flat<Wire<SDK.ServiceAccountKeyExpiry & Partial<SDK.ServiceAccountKeyUploadParams>>>, Body<'/v1/service-accounts/{id}/keys', 'post'>>>,
  Assert<Equal<SDK.OAuthClient, Json<'/v1/oauth/clients/{id}', 'get', 200>>>,
  Assert<Equal<SDK.OAuthClientWithSecret, Json<'/v1/oauth/clients', 'post', 201>>>,
  Assert<Equal<SDK.OAuthClientWithSecret, Json<'/v1/oauth/clients/{id}/rotate-secret', 'post', 200>>>,
  Assert<Equal<SDK.OAuthClientCreateParams, Body<'/v1/oauth/clients', 'post'>>>,
  Assert<Equal<SDK.OAuthClientRotateSecretParams, Body<'/v1/oauth/clients/{id}/rotate-secret', 'post'>>>,
  Assert<Equal<SDK.AuditEvent, Item<Json<'/v1/audit-events', 'get', 200>>>>,
  Assert<Equal<Wire<SDK.AuditEventListParams>, Query<'/v1/audit-events', 'get'>>>,
  Assert<Equal<Wire<SDK.AuditEventFilters>, Query<'/v1/audit-events/export', 'get'>>>,
  Assert<Equal<SDK.AuditVerification, Json<'/v1/audit-events/verify', 'get', 200>>>,
  Assert<Equal<SDK.AuditVerifyParams, Query<'/v1/audit-events/verify', 'get'>>>,
  Assert<Equal<SDK.Organization, Json<'/v1/organization', 'get', 200>>>,
  Assert<Equal<SDK.OrganizationUpdateParams, Body<'/v1/organization', 'patch'>>>,
  Assert<Equal<SDK.Member, Item<Json<'/v1/organization/members', 'get', 200>>>>,
  Assert<Equal<SDK.Member, Json<'/v1/organization/members/{user_id}', 'patch', 200>>>,
  Assert<Equal<SDK.MemberUpdateParams, Body<'/v1/organization/members/{user_id}', 'patch'>>>,
  Assert<Equal<SDK.Invitation, Item<Json<'/v1/organization/invitations', 'get', 200>>>>,
  Assert<Equal<Flat<SDK.InvitationWithLink>, Flat<Json<'/v1/organization/invitations', 'post', 201>>>>,
  Assert<Equal<SDK.InvitationCreateParams, Body<'/v1/organization/invitations', 'post'>>>,
  Assert<Equal<SDK.SecurityReport, Json<'/v1/security/report', 'get', 200>>>,
  Assert<Equal<SDK.CredentialInfo, NonNullable<Json<'/health', 'get', 200>['auth']>>>,
  // Webhooks. The response schemas type \`events\`, \`type\` and \`data\` loosely; the SDK narrows them to the
  // catalogue, which must equal the server's (the \`type\` filter of /v1/events is the catalogue).
  Assert<Equal<SDK.WebhookEventType, NonNullable<Query<'/v1/events', 'get'>['type']>>>,
  Assert<Equal<keyof SDK.WebhookEventDataMap, SDK.WebhookEventType>>,
  Assert<Equal<SDK.WebhookEventFilter[], Body<'/v1/webhook-endpoints', 'post'>['events']>>,
  Assert<Equal<As<SDK.WebhookEndpoint, 'events', { events: string[] }>, Json<'/v1/webhook-endpoints/{id}', 'get', 200>>>,
  Assert<Equal<As<SDK.WebhookEndpoint, 'events', { events: string[] }>, Item<Json<'/v1/webhook-endpoints', 'get', 200>>>>,
  Assert<Equal<As<SDK.WebhookEndpoint, 'events', { events: string[] }>, Json<'/v1/webhook-endpoints/{id}', 'patch', 200>>>,
  Assert<Equal<As<SDK.WebhookEndpointWithSecret, 'events', { events: string[] }>, Json<'/v1/webhook-endpoints', 'post', 201>>>,
  Assert<Equal<SDK.WebhookEndpointCreateParams, Body<'/v1/webhook-endpoints', 'post'>>>,
  Assert<Equal<SDK.WebhookEndpointUpdateParams, Body<'/v1/webhook-endpoints/{id}', 'patch'>>>,
  Assert<Equal<SDK.WebhookEndpointRotateSecretParams, Body<'/v1/webhook-endpoints/{id}/rotate-secret', 'post'>>>,
  Assert<Equal<SDK.WebhookEndpointSecret, Json<'/v1/webhook-endpoints/{id}/rotate-secret', 'post', 200>>>,
  Assert<Equal<SDK.ListParams, Query<'/v1/webhook-endpoints', 'get'>>>,
  Assert<Equal<As<SDK.CoheraEvent, 'type' | 'data', { type: string; data: unknown }>, Item<Json<'/v1/events', 'get', 200>>>>,
  Assert<Equal<SDK.CoheraEventListParams, Query<'/v1/events', 'get'>>>,
  Assert<Equal<SDK.WebhookMessageQueued, Json<'/v1/webhook-endpoints/{id}/test', 'post', 202>>>,
  Assert<Equal<As<SDK.WebhookDelivery, 'event_type', { event_type: string }>, Item<Json<'/v1/webhook-endpoints/{id}/deliveries', 'get', 200>>>>,
  Assert<Equal<SDK.ListParams, Query<'/v1/webhook-endpoints/{id}/deliveries', 'get'>>>,
  Assert<Equal<Wire<SDK.WebhookRecoverParams>, Body<'/v1/webhook-endpoints/{id}/recover', 'post'>>>,
  Assert<Equal<SDK.WebhookRecoverResult, Json<'/v1/webhook-endpoints/{id}/recover', 'post', 202>>>,
  // retry answers 202 with an empty object, which the SDK resolves to nothing.
  Assert<Equal<Json<'/v1/webhook-endpoints/{id}/deliveries/{message_id}/retry', 'post', 202>, Record<string, never>>>,
];
`;

test('every SDK type equals the server’s OpenAPI description', { timeout: 120_000 }, async () => {
  const handle = await prepareEngine('sqlite');
  const app = await startTestApp(handle);
  const dir = mkdtempSync(join(tmpdir(), 'cohera-sdk-contract-'));
  try {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    const source = astToString(await openapiTS(response.json(), { silent: true }));
    writeFileSync(join(dir, 'openapi.ts'), source);
    writeFileSync(join(dir, 'checks.ts'), CHECKS);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          types: [],
          lib: ['es2022', 'DOM'],
        },
        files: ['checks.ts'],
      }),
    );
    const result = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      { cwd: dir },
    ).catch((error: { stdout: string }) => error);
    assert.equal(
      'code' in result ? result.stdout : '',
      '',
      'the SDK types and the OpenAPI document disagree',
    );
  } finally {
    await app.close();
    await handle.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
