/**
 * What the service-account suites share: creating accounts and keys through the HTTP API, minting tokens
 * with plain `jose` (as a user without our SDK would), and checking problem responses.
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { type CryptoKey, importPKCS8, type JWTPayload, SignJWT } from 'jose';
import type { TestApp } from '../support/app.ts';
import { assertProblem as assertSharedProblem, type ProblemBody } from '../support/problem.ts';

export interface ServiceAccountJson {
  type: 'service_account';
  service_account_id: string;
  org_id: string;
  private_key_id: string;
  private_key: string;
  algorithm: string;
  issuer: string;
  audience: string;
  api_base_url: string;
}

export interface AccountObject {
  id: string;
  object: string;
  name: string;
  scopes: string[];
  mode: 'live' | 'test';
  created_at: string;
  created_by: { kind: string; id: string };
}

export interface KeyObjectJson {
  id: string;
  object: string;
  service_account_id: string;
  algorithm: string;
  origin: 'generated' | 'uploaded';
  public_key: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export type Problem = ProblemBody;

/** The exact members of `service-account.json` (DESIGN §3). */
export const FILE_KEYS = [
  'algorithm',
  'api_base_url',
  'audience',
  'issuer',
  'org_id',
  'private_key',
  'private_key_id',
  'service_account_id',
  'type',
];

/** A problem response (see support/problem.ts); a 401 must also tell the client its token did not work. */
export function assertProblem(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  field?: string,
): Problem {
  const problem = assertSharedProblem(res, status, code, field);
  if (status === 401) assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  return problem;
}

export async function createAccount(
  t: TestApp,
  adminKey: string,
  scopes: string[],
  extra: Record<string, unknown> = {},
): Promise<AccountObject> {
  const res = await t.call(adminKey, 'POST', '/v1/service-accounts', {
    name: `account with ${scopes.length} scopes`,
    scopes,
    ...extra,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<AccountObject>();
}

/** `POST /v1/service-accounts/:id/keys` with no body at all: a generated pair, as `service-account.json`. */
export async function generateKey(
  t: TestApp,
  adminKey: string,
  accountId: string,
): Promise<ServiceAccountJson> {
  const res = await t.inject({
    method: 'POST',
    url: `/v1/service-accounts/${accountId}/keys`,
    headers: { authorization: `Bearer ${adminKey}` },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<ServiceAccountJson>();
}

export async function uploadKey(
  t: TestApp,
  adminKey: string,
  accountId: string,
  body: Record<string, unknown>,
): Promise<KeyObjectJson> {
  const res = await t.call(adminKey, 'POST', `/v1/service-accounts/${accountId}/keys`, body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json<KeyObjectJson>();
}

/** What signs a token: a private key, its algorithm, and the `kid` the server knows it by. */
export interface Signer {
  kid: string;
  alg: string;
  key: KeyObject | CryptoKey | Uint8Array;
}

export async function signerOf(file: ServiceAccountJson): Promise<Signer> {
  return {
    kid: file.private_key_id,
    alg: file.algorithm,
    key: await importPKCS8(file.private_key, file.algorithm),
  };
}

export interface MintOptions {
  /** Claims to set or override; `undefined` removes a claim. */
  claims?: Record<string, unknown>;
  /** Header members to set or override; `undefined` removes one (e.g. `kid`). */
  header?: Record<string, unknown>;
  /** Seconds relative to `nowMs` (default 0). */
  iat?: number;
  /** Lifetime in seconds after `iat` (default 600). */
  lifetime?: number;
}

/**
 * A service-account token exactly as DESIGN §3 shapes it, signed by `signer`, with `iat`/`exp` taken from
 * the server's (manual) clock so tests never depend on the wall clock.
 */
export async function mint(
  signer: Signer,
  base: { sub: string; org_id: string; iss: string; aud: string; scopes: string[] },
  nowMs: number,
  options: MintOptions = {},
): Promise<string> {
  const iat = Math.floor(nowMs / 1000) + (options.iat ?? 0);
  const claims: Record<string, unknown> = {
    iss: base.iss,
    sub: base.sub,
    aud: base.aud,
    iat,
    exp: iat + (options.lifetime ?? 600),
    scopes: base.scopes,
    org_id: base.org_id,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const header: Record<string, unknown> = { alg: signer.alg, kid: signer.kid, ...options.header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  return new SignJWT(claims as JWTPayload).setProtectedHeader(header as { alg: string }).sign(signer.key);
}

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Splits a compact JWS into its three parts. */
export function partsOf(token: string): [string, string, string] {
  const parts = token.split('.');
  assert.equal(parts.length, 3);
  return [parts[0] ?? '', parts[1] ?? '', parts[2] ?? ''];
}

/** Calls `/health` with a bearer credential. */
export function whoAmI(t: TestApp, token: string): Promise<LightMyRequestResponse> {
  return t.call(token, 'GET', '/health');
}
