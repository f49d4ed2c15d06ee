/**
 * The OAuth 2.0 authorization server: oidc-provider (OpenID Certified) configured as a plain OAuth 2.0
 * server for our API, and nothing more (DESIGN §5.3, RFC 9700):
 * - authorization code (PKCE S256 required for public clients and accepted from all) and the device
 *   authorization grant (RFC 8628, device-flow.ts, for the first-party `cohera-cli`); no implicit, no
 *   password; no PAR, DPoP, userinfo or logout endpoints we would have to secure too;
 * - access tokens are JWTs (`typ: at+jwt`, 1 h) for one audience, `COHERA_AUDIENCE`, with our claim shape
 *   (`scopes` array, `org_id` and `authorization_id` beside the engine's `sub`, `client_id`, `jti`), signed
 *   ES256 by our keys. Being self-contained, they are not stored: the engine cannot introspect or revoke
 *   them, so access-token-endpoints.ts answers for them at its endpoints (a revoked one's `jti` is kept
 *   until it expires), and the API checks their authorization and that list;
 * - refresh tokens for every code grant (no `offline_access` needed), rotated on every use; a reused one
 *   revokes the grant, as does a replayed code;
 * - confidential clients authenticate with `client_secret_basic` or `client_secret_post`, public ones with
 *   `none` + PKCE; introspection is for confidential clients, about their own tokens; revocation for any
 *   client, of its own tokens.
 *
 * The engine runs as its own Koa app. Fastify hands it the raw request before parsing the body (see
 * endpoints.ts), so the two never fight over the body stream.
 */
import { hkdfSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasScope, isScope, type Scope } from '@cohera/shared';
import { fastifyCookie } from '@fastify/cookie';
import type { Kysely } from 'kysely';
import Provider, {
  type Configuration,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import { type Clock, isoAt } from '../../clock.ts';
import type { Config } from '../../config.ts';
import { type PeriodicPurge, startPeriodicPurge } from '../../jobs/periodic-purge.ts';
import type { InvalidationBus } from '../../state/invalidation-bus.ts';
import type { DatabaseAvailability } from '../../storage/availability.ts';
import type { DB } from '../../storage/schema.ts';
import { logTaskFailure } from '../../storage/unavailable.ts';
import { primaryMembership } from '../../users/repository.ts';
import { findSession, SESSION_COOKIE } from '../sessions/store.ts';
import { installAccessTokenEndpoints } from './access-token-endpoints.ts';
import {
  type ArtifactEvents,
  artifactBox,
  type CoheraClientFields,
  createArtifactAdapter,
  EXTRA_CLIENT_METADATA,
  purgeExpiredArtifacts,
  revokeGrant,
} from './artifact-adapter.ts';
import {
  findActiveAuthorization,
  findAuthorizationByGrant,
  markGrantRevoked,
} from './authorizations-repository.ts';
import { clientSecretMatches } from './clients-repository.ts';
import {
  DEVICE_CODE_TTL_SECONDS,
  DEVICE_ROUTES,
  deviceFlowFeature,
  installDeviceSteps,
} from './device-flow.ts';
import { correctDiscoveryMetadata } from './discovery.ts';
import { issuedUnder, observe } from './engine-events.ts';
import { guardEngineResponses } from './engine-headers.ts';
import { answerEngineOutages } from './engine-outages.ts';
import { EngineSigningKey, EXTERNAL_SIGNING_ACK } from './engine-signing-key.ts';
import { renderEngineError } from './error-page.ts';
import { purgeRevokedTokens } from './revoked-tokens.ts';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  announceSigningKeyChange,
  loadSigningKey,
  RETIRED_KEY_OVERLAP_MS,
  signingKeysVersion,
} from './signing-keys.ts';
import { OAuthTokenVerifier } from './token-verifier.ts';

export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  jwks: '/.well-known/jwks.json',
  ...DEVICE_ROUTES,
} as const;

export const INTERACTION_PATH = '/oauth/interaction';

const DAY_SECONDS = 86_400;

export interface OAuthServerDeps {
  db: Kysely<DB>;
  clock: Clock;
  config: Readonly<Config>;
  bus: InvalidationBus;
  log: Logger;
  audit: AuditLog;
  /** Where an outage met by the engine is reported (engine-outages.ts); tests that build an engine alone omit it. */
  availability?: DatabaseAvailability;
}

/** Every scope within a client's registered ceiling (wildcards expanded), from the engine's Client. */
function registeredScopes(client: unknown): readonly Scope[] {
  return (client as CoheraClientFields).cohera_scopes ?? [];
}

/** Our own sign-in session must belong to the engine's signed-in account: signing out ends OAuth SSO too. */
function signedInCheck(deps: OAuthServerDeps) {
  return new interactionPolicy.Check(
    'cohera_session',
    'The user must be signed in to Cohera',
    'login_required',
    async (ctx: KoaContextWithOIDC) => {
      const token = fastifyCookie.parse(ctx.get('cookie'))[SESSION_COOKIE];
      const session = token ? await findSession(deps.db, token, deps.clock.now()) : null;
      const ok = session !== null && session.userId === ctx.oidc.session?.accountId;
      return ok ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
}

/** What the API must learn when grants or tokens end: the authorization row, and every node's cache. */
function artifactEvents({ clock, bus }: OAuthServerDeps): ArtifactEvents {
  return {
    async grantEnded(trx, grantId) {
      await markGrantRevoked(trx, grantId, clock.now());
    },
    async grantRevoked(grantId) {
      await bus.publish({ kind: 'credential', credentialId: grantId });
    },
    async tokensRevoked(id) {
      await bus.publish({ kind: 'credential', credentialId: id });
    },
  };
}

/**
 * The engine would issue a token with no scope at all when nothing requested can be granted: scopes outside
 * the resource server's (the client's registered ones) are dropped silently, and scopes refused before are
 * not asked about again. This check sends such a request to our consent step, which answers `invalid_scope`.
 */
function grantableScopeCheck(deps: OAuthServerDeps) {
  return new interactionPolicy.Check(
    'cohera_no_grantable_scope',
    'None of the requested scopes can be granted to this client',
    'invalid_scope',
    async (ctx: KoaContextWithOIDC) => {
      const { client, grant } = ctx.oidc;
      if (!client) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const audience = deps.config.audience;
      const registered = registeredScopes(client);
      const granted = new Set((grant?.getResourceScope(audience) ?? '').split(' '));
      const encountered = new Set((grant?.getResourceScopeEncountered(audience) ?? '').split(' '));
      const requested = String(ctx.oidc.params?.scope ?? '')
        .split(' ')
        .filter(isScope);
      const willHaveOne = requested.some((scope) => granted.has(scope));
      const asksAgain = requested.some((scope) => hasScope(registered, scope) && !encountered.has(scope));
      return willHaveOne || asksAgain
        ? interactionPolicy.Check.NO_NEED_TO_PROMPT
        : interactionPolicy.Check.REQUEST_PROMPT;
    },
  );
}

function configuration(
  deps: OAuthServerDeps,
  jwks: { keys: object[] },
  wrongUserCodes: WeakSet<IncomingMessage>,
): Configuration {
  const { db, clock, config } = deps;
  const audience = config.audience;
  const cookieKey = Buffer.from(
    hkdfSync('sha256', config.masterKey, Buffer.alloc(0), 'cohera/oauth-cookies/v1', 32),
  ).toString('base64url');
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.push(signedInCheck(deps));
  policy.get('consent')?.checks.push(grantableScopeCheck(deps));

  const adapter = createArtifactAdapter(db, clock, artifactEvents(deps), artifactBox(config.masterKey));

  return {
    adapter,
    clients: [],
    extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA] },
    jwks: jwks as Configuration['jwks'],
    clockTolerance: 60,
    cookies: {
      keys: [cookieKey],
      names: {
        session: 'cohera_oauth_session',
        interaction: 'cohera_oauth_interaction',
        resume: 'cohera_oauth_resume',
      },
      // Lax: the interaction cookies must come back on the top-level redirects between our pages.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: OAUTH_ROUTES,
    responseTypes: ['code'],
    // Our only key type; the engine would otherwise default clients to RS256, which it cannot sign.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      // The signing key is an EngineSigningKey (engine-signing-key.ts): node:crypto signs, not WebCrypto.
      externalSigningSupport: { enabled: true, ack: EXTERNAL_SIGNING_ACK },
      deviceFlow: deviceFlowFeature(wrongUserCodes),
      // RFC 7009 §2.1: a client revokes its own tokens only; another client's is left alone, answered 200
      // as an unknown token would be (the engine's default answers invalid_request, which tells it exists).
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Only a confidential client, and only about its own tokens: one org's app learns nothing of another's.
        allowedPolicy: async (_ctx, client, token) => {
          if (client.clientAuthMethod === 'none') {
            throw new errors.InvalidClient('introspection needs client authentication');
          }
          return token.clientId === client.clientId;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: async (_ctx, indicator, client) => {
          if (indicator !== audience)
            throw new errors.InvalidTarget('only the Cohera API is a valid resource');
          // The client's registered scopes are the ceiling of anything it may be granted.
          return {
            scope: registeredScopes(client).join(' '),
            audience,
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.grantId) return undefined;
      const authorization = await findAuthorizationByGrant(db, token.grantId);
      if (!authorization) throw new errors.InvalidGrant('the authorization was revoked');
      issuedUnder.set(ctx, authorization);
      const scopes = (token.scope ?? '').split(' ').filter(isScope);
      // JWT access tokens are not stored, so the API finds what to check through the authorization's id:
      // revoking the authorization (the user, a reused refresh token, a replayed code) ends the token.
      return { scopes, org_id: authorization.org_id, authorization_id: authorization.id };
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens outlive the browser session that obtained them; revoking the authorization ends them.
    expiresWithSession: () => false,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      DeviceCode: DEVICE_CODE_TTL_SECONDS,
      RefreshToken: 30 * DAY_SECONDS,
      Grant: 365 * DAY_SECONDS,
      Interaction: 3600,
      Session: 12 * 3600,
    },
    // The remembered consent: the user's live authorization of this client in their org.
    loadExistingGrant: async (ctx) => {
      const provider = ctx.oidc.provider;
      const fromConsent = ctx.oidc.result?.consent?.grantId;
      if (fromConsent) return provider.Grant.find(fromConsent);
      // A device is signed in with the person looking at our consent page every time (RFC 8628 §5.4: they
      // confirm which app, with which code), never on a remembered consent alone: each login is its own grant.
      if (ctx.oidc.route === 'code_verification' || ctx.oidc.route === 'device_resume') return undefined;
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId || !ctx.oidc.client) return undefined;
      const membership = await primaryMembership(db, accountId);
      if (!membership) return undefined;
      const authorization = await findActiveAuthorization(
        db,
        { orgId: membership.org_id, userId: accountId },
        ctx.oidc.client.clientId,
      );
      if (!authorization) return undefined;
      const grant = await provider.Grant.find(authorization.grant_id);
      // The grant expired (a year without new consent): the authorization ends with it, consent is asked anew.
      if (!grant) await markGrantRevoked(db, authorization.grant_id, clock.now());
      return grant;
    },
    findAccount: async (_ctx, sub) => {
      const membership = await primaryMembership(db, sub);
      if (!membership) return undefined;
      return { accountId: sub, claims: () => ({ sub }) };
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`,
    },
    // SPAs (public clients) call the token endpoint from the browser: allow the origins of their own
    // redirect URIs, and no others.
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    renderError: renderEngineError(db),
  };
}

/**
 * Holds the engine and swaps it when the signing keys change (a rotation made by any node or the CLI): the
 * engine's key set is fixed when it is built, so a new key means a new engine over the same storage. It
 * notices a change on its own within `start`'s interval, and at once when the invalidation bus says the
 * keys changed (`cohera admin rotate-signing-key --revoke-old` announces it).
 */
export class OAuthServer {
  readonly #deps: OAuthServerDeps;
  #provider: Provider;
  #handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  #keysVersion: string;
  #timer: NodeJS.Timeout | null = null;
  #purgeAt = 0;
  #revokedTokensPurge: PeriodicPurge | null = null;
  /** Set by stop(): a bus shared with other apps (tests playing a fleet) may still deliver messages. */
  #stopped = false;
  /**
   * Requests to `/oauth/device` where the engine found no such user code: the guesses the user-code
   * throttle counts (endpoints.ts). Kept here, beside the engine that reports them, across its rebuilds.
   */
  readonly wrongUserCodes: WeakSet<IncomingMessage>;

  private constructor(
    deps: OAuthServerDeps,
    provider: Provider,
    keysVersion: string,
    wrongUserCodes: WeakSet<IncomingMessage>,
  ) {
    this.wrongUserCodes = wrongUserCodes;
    this.#deps = deps;
    this.#provider = provider;
    this.#handler = provider.callback();
    this.#keysVersion = keysVersion;
  }

  static async create(deps: OAuthServerDeps): Promise<OAuthServer> {
    const wrongUserCodes = new WeakSet<IncomingMessage>();
    const { provider, version } = await OAuthServer.#build(deps, wrongUserCodes);
    const server = new OAuthServer(deps, provider, version, wrongUserCodes);
    // After a reconnect (`all`) a revocation may have been missed: look at the keys again too.
    deps.bus.subscribe((message) => {
      if (server.#stopped || (message.kind !== 'signing_keys' && message.kind !== 'all')) return;
      server
        .#reload(false)
        .catch((error: unknown) => deps.log.error({ err: error }, 'reloading the OAuth signing keys failed'));
    });
    return server;
  }

  static async #build(deps: OAuthServerDeps, wrongUserCodes: WeakSet<IncomingMessage>) {
    const { key, passedOver } = await loadSigningKey(deps.db, deps.config.masterKey, deps.clock.now());
    if (passedOver) {
      deps.log.warn(
        { event: 'oauth.signing_key_unreadable', kid: passedOver, signing_kid: key.kid },
        'An OAuth signing key is sealed under another COHERA_MASTER_KEY: do all nodes share one master key?',
      );
    }
    const version = await signingKeysVersion(deps.db);
    // Only the signing key: the engine signs, and /.well-known/jwks.json (ours) publishes every public key.
    const provider = new Provider(
      deps.config.publicUrl,
      configuration(deps, { keys: [new EngineSigningKey(key.privateJwk)] }, wrongUserCodes),
    );
    // The engine builds its URLs and cookie flags from the request; endpoints.ts pins the forwarded headers
    // it reads to COHERA_PUBLIC_URL, so it always describes the configured address, whatever Host says.
    provider.proxy = true;
    // The engine compares a presented secret with the client's `client_secret` metadata, which for us is
    // the stored hash: compare hashes instead (constant time, and the previous secret during its grace).
    const { clock } = deps;
    provider.Client.prototype.compareClientSecret = async function compareClientSecret(
      this: CoheraClientFields,
      actual: string,
    ) {
      const stored = {
        secret_hash: this.clientSecret ?? null,
        previous_secret_hash: this.cohera_previous_secret_hash ?? null,
        previous_secret_expires_at: this.cohera_previous_secret_expires_at ?? null,
      };
      return clientSecretMatches(stored, actual, clock.now());
    };
    guardEngineResponses(provider);
    if (deps.availability) answerEngineOutages(provider, deps.availability);
    correctDiscoveryMetadata(provider);
    installAccessTokenEndpoints(provider, {
      ...deps,
      // Never cached: introspection and revocation answer from storage as it is now.
      verifier: new OAuthTokenVerifier(deps.db, deps.clock, {
        issuer: deps.config.publicUrl,
        audience: deps.config.audience,
        maxTokens: 1,
        recheckMs: 0,
      }),
    });
    installDeviceSteps(provider, deps);
    observe(provider, deps);
    return { provider, version };
  }

  get provider(): Provider {
    return this.#provider;
  }

  /** Hands a raw request to the engine. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.#handler(req, res);
  }

  /**
   * Rebuilds the engine if the key set changed since it was built. When keys were withdrawn (revoked, or
   * deleted after their overlap), says so on the invalidation bus, so that every node's verifier drops the
   * tokens and keys it cached: that is how a revocation reaches a node the CLI could not tell (a single
   * node on SQLite, or a lost message), within one interval.
   */
  reloadKeys(): Promise<boolean> {
    return this.#reload(true);
  }

  #reloading: Promise<boolean> | null = null;

  #reload(announce: boolean): Promise<boolean> {
    this.#reloading ??= this.#rebuildIfChanged(announce).finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #rebuildIfChanged(announce: boolean): Promise<boolean> {
    const version = await signingKeysVersion(this.#deps.db);
    if (version === this.#keysVersion) return false;
    const { provider, version: built } = await OAuthServer.#build(this.#deps, this.wrongUserCodes);
    const withdrawn = withdrawnKids(this.#keysVersion, built, this.#deps.clock.now());
    this.#provider = provider;
    this.#handler = provider.callback();
    this.#keysVersion = built;
    if (withdrawn.length > 0) {
      this.#deps.log.warn(
        { event: 'oauth.signing_keys_withdrawn', kids: withdrawn },
        'OAuth signing keys were withdrawn: access tokens they signed are refused from now on',
      );
      if (announce) await announceSigningKeyChange(this.#deps.bus);
    }
    return true;
  }

  /** Checks for rotated keys every `intervalMs` and purges expired artefacts every ten minutes. */
  start(intervalMs = 30_000): void {
    this.#timer = setInterval(() => {
      // An outage at debug: storage/availability.ts logs it once; the next tick retries.
      this.#tick().catch((error: unknown) =>
        logTaskFailure(this.#deps.log, error, 'OAuth maintenance failed'),
      );
    }, intervalMs);
    this.#timer.unref();
    const { db, clock, log } = this.#deps;
    this.#revokedTokensPurge = startPeriodicPurge(
      'revoked OAuth access tokens',
      () => purgeRevokedTokens(db, clock.now()),
      log,
      600_000,
    );
  }

  async #tick(): Promise<void> {
    await this.reloadKeys();
    const now = this.#deps.clock.now();
    if (now >= this.#purgeAt) {
      this.#purgeAt = now + 600_000;
      await purgeExpiredArtifacts(this.#deps.db, now);
    }
  }

  /**
   * Revokes a grant and every code and token of it (a user revoking an app, a deleted client); the
   * caller's audit event goes in the same transaction.
   */
  revokeGrant(grantId: string, alsoInTransaction?: (trx: Kysely<DB>) => Promise<void>): Promise<void> {
    return revokeGrant(this.#deps.db, grantId, artifactEvents(this.#deps), alsoInTransaction);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    void this.#revokedTokensPurge?.stop();
    this.#revokedTokensPurge = null;
  }
}

/**
 * The keys in `before` (a signingKeysVersion fingerprint, `kid:retired_at,…`) that are gone from `after`
 * while tokens they signed were still accepted: revoked, not merely deleted once past their overlap.
 */
function withdrawnKids(before: string, after: string, now: number): string[] {
  const entries = (version: string) =>
    version
      .split(',')
      .filter(Boolean)
      .map((entry) => {
        const separator = entry.indexOf(':');
        return { kid: entry.slice(0, separator), retiredAt: entry.slice(separator + 1) };
      });
  const remaining = new Set(entries(after).map((entry) => entry.kid));
  const acceptedSince = isoAt(now - RETIRED_KEY_OVERLAP_MS);
  return entries(before)
    .filter(({ kid, retiredAt }) => !remaining.has(kid) && (retiredAt === '' || retiredAt > acceptedSince))
    .map(({ kid }) => kid);
}
