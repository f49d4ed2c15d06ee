/**
 * `POST /v1/leaks/github`: GitHub's secret-scanning partner endpoint (DESIGN §5.6). When GitHub finds a
 * string matching our key pattern in a public repository, gist, issue or npm package, it posts
 * `[{token, type, url, source}, …]` here, signed: `Github-Public-Key-Identifier` names one of its published
 * keys (github-keys.ts) and `Github-Public-Key-Signature` is the base64 DER ECDSA P-256 SHA-256 signature of
 * the raw body. We answer with GitHub's feedback format, `[{token_hash, token_type, label}]`, where
 * `token_hash` is the SHA-256 hex of the token (the token itself is never echoed) and `label` is
 * `true_positive` for a key this server issued (revoked or not) and `false_positive` for anything else.
 *
 * The signature is checked over the bytes as received, before any JSON parsing: this route's plugin
 * replaces the app's JSON parser with one that verifies first (re-serialising a parsed body would not
 * give back the signed bytes). Leaks are handled synchronously (handle.ts), since GitHub wants the label,
 * in one transaction per report (a batch commits whole, or GitHub sends it again).
 *
 * Extra members in GitHub's objects are accepted (GitHub may add fields to its own protocol; refusing
 * them would drop real leaks on the floor), but every member we read is checked.
 */
import { hash, verify } from 'node:crypto';
import { parseApiKey } from '@cohera/shared';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppDeps } from '../app-deps.ts';
import { requestOf } from '../audit/log.ts';
import { ApiError } from '../http/errors.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http/json-body.ts';
import { GitHubScanningKeys } from './github-keys.ts';
import { handleLeaks, type LeakSource } from './handle.ts';

export const MAX_GITHUB_TOKENS = 1000;

const Report = Type.Array(
  Type.Object({
    token: Type.String({ maxLength: 4096 }),
    type: Type.String({ maxLength: 200 }),
    url: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    source: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  }),
  { maxItems: MAX_GITHUB_TOKENS },
);

const Feedback = Type.Array(
  Type.Object({
    token_hash: Type.String({ description: 'SHA-256 (hex) of the reported token' }),
    token_type: Type.String(),
    label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')]),
  }),
);

function badSignature(message: string): ApiError {
  return new ApiError('invalid_signature', message);
}

function headerOf(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 1024 ? value : null;
}

/**
 * Where a leak was found, as we keep it: an http(s) URL of at most 2,048 characters that does not contain the
 * token. GitHub's URLs point at the file or commit; the check makes sure no audit entry or webhook can
 * ever carry the key, whatever a report says.
 */
export function foundAt(url: string | null | undefined, token: string): string | null {
  if (typeof url !== 'string' || url.length > 2048 || url.includes(token)) return null;
  return /^https?:\/\//i.test(url) ? url : null;
}

export const githubLeakRoutes = (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async function githubLeaks(app) {
    const keys = new GitHubScanningKeys({
      url: deps.config.githubScanningKeysUrl,
      clock: deps.clock,
      log: app.log,
    });

    /** Verifies the signature over the raw bytes; throws 401 (or 503 without GitHub's keys). */
    async function verifySignature(request: FastifyRequest, raw: Buffer): Promise<void> {
      const identifier = headerOf(request, 'github-public-key-identifier');
      const signature = headerOf(request, 'github-public-key-signature');
      if (!identifier || !signature) {
        throw badSignature('Github-Public-Key-Identifier and Github-Public-Key-Signature are required');
      }
      const key = await keys.keyFor(identifier);
      if (!key) throw badSignature('Github-Public-Key-Identifier names no key GitHub publishes');
      let valid = false;
      try {
        valid = verify('sha256', raw, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
      } catch {
        valid = false;
      }
      if (!valid) throw badSignature('Github-Public-Key-Signature does not verify over the request body');
    }

    // Only this plugin's routes: the raw bytes are verified, then parsed as the app's parser would.
    app.removeContentTypeParser('application/json');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const raw = body as Buffer;
      verifySignature(request, raw).then(
        () => {
          const text = raw.toString('utf8');
          if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
            const message = `the body nests deeper than ${MAX_JSON_DEPTH} levels`;
            return done(
              new ApiError('validation_failed', `body: ${message}`, { errors: [{ field: 'body', message }] }),
              undefined,
            );
          }
          void parseJson(request, text, done);
        },
        (error: unknown) => done(error as Error, undefined),
      );
    });

    app.post(
      '/v1/leaks/github',
      {
        config: { access: { public: true } },
        // A report without the headers is refused before its body is read.
        onRequest: async (request) => {
          if (
            !headerOf(request, 'github-public-key-identifier') ||
            !headerOf(request, 'github-public-key-signature')
          ) {
            throw badSignature('Github-Public-Key-Identifier and Github-Public-Key-Signature are required');
          }
        },
        schema: {
          tags: ['Leaked credentials'],
          summary: 'GitHub secret scanning: receive reports of leaked keys, answer with a label for each',
          description:
            'Signed by GitHub (ECDSA P-256 over the raw body; keys from COHERA_GITHUB_SCANNING_KEYS_URL). ' +
            'Each reported key this server issued is handled as leaked.',
          body: Report,
          response: { 200: Feedback },
        },
      },
      async (request) => {
        const now = deps.clock.now();
        const reports: { keyHash: string; source: LeakSource }[] = [];
        const feedback = request.body.map((item) => {
          const tokenHash = hash('sha256', item.token, 'hex');
          // Only checksum-valid strings can be keys; the rest are labelled without a look-up.
          if (parseApiKey(item.token)) {
            reports.push({
              keyHash: tokenHash,
              source: {
                source: 'github',
                url: foundAt(item.url, item.token),
                githubSource: typeof item.source === 'string' ? item.source.slice(0, 100) : null,
                request: requestOf(request),
              },
            });
          }
          return { token_hash: tokenHash, token_type: item.type };
        });
        const outcomes = await handleLeaks(deps, reports, now);
        const found = new Set(outcomes.flatMap((o, i) => (o.found ? [reports[i]?.keyHash] : [])));
        return feedback.map((item) => ({
          ...item,
          label: found.has(item.token_hash) ? ('true_positive' as const) : ('false_positive' as const),
        }));
      },
    );
  };
