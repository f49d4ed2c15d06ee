/**
 * Our side of the engine's interactions (DESIGN §5.3): `GET /oauth/interaction/:uid` signs the user in (the
 * same sign-in form and session as the dashboard) or shows the consent page; `POST …/decision` records the
 * user's answer. The engine binds each interaction to a cookie of the browser that started it, so a uid
 * alone, leaked or guessed, is useless elsewhere.
 */
import { hasScope, isScope, type Scope } from '@cohera/shared';
import { fastifyCookie } from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionResults } from 'oidc-provider';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { requestOf } from '../../audit/log.ts';
import { pageHeaders, sendHtml } from '../../http/html-page.ts';
import { findOrg } from '../../orgs/repository.ts';
import { loginPage } from '../sessions/login-page.ts';
import { findSession, SESSION_COOKIE, type SessionRecord, scopesForRole } from '../sessions/store.ts';
import { artifactBox, findArtifact } from './artifact-adapter.ts';
import { upsertAuthorization } from './authorizations-repository.ts';
import { findClientById, redirectOrigins } from './clients-repository.ts';
import { pinEngineView } from './endpoints.ts';
import { consentPage, errorPage } from './pages.ts';
import { INTERACTION_PATH, type OAuthServer } from './provider.ts';

const UidParams = Type.Object(
  {
    uid: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9_-]+$',
      'x-message': 'must be the sign-in step id from the authorization link (letters, digits, "-" and "_")',
    }),
  },
  { additionalProperties: false },
);

const DecisionBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    csrf_token: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

/**
 * The origins a sign-in page may need in its `form-action` when it signs a user into an OAuth flow (its
 * `return_to` is an interaction): the client's redirect origins, where the post's redirects may end.
 */
export async function interactionFormActions(deps: Pick<AppDeps, 'db' | 'config'>, returnTo: string) {
  const match = /^\/oauth\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(returnTo);
  if (!match) return [];
  const interaction = await findArtifact(
    deps.db,
    artifactBox(deps.config.masterKey),
    'Interaction',
    match[1] as string,
  ).catch(() => null);
  const clientId = (interaction?.params as { client_id?: unknown } | undefined)?.client_id;
  const client = typeof clientId === 'string' ? await findClientById(deps.db, clientId) : null;
  return client ? redirectOrigins(client) : [];
}

type Details = Awaited<ReturnType<OAuthServer['provider']['interactionDetails']>>;

/** What the user may grant: requested ∩ the client's registered scopes ∩ what the user holds in the org. */
export function splitRequestedScopes(
  requested: readonly string[],
  clientScopes: readonly string[],
  userScopes: readonly string[],
): { grantable: Scope[]; notGrantable: string[] } {
  const grantable: Scope[] = [];
  const notGrantable: string[] = [];
  for (const scope of new Set(requested)) {
    if (isScope(scope) && hasScope(clientScopes, scope) && hasScope(userScopes, scope)) grantable.push(scope);
    else notGrantable.push(scope);
  }
  return { grantable, notGrantable };
}

export const interactionRoutes = (deps: AppDeps, oauth: OAuthServer): FastifyPluginAsyncTypebox =>
  async function interactions(app) {
    const { db, clock, csrf, config } = deps;
    const publicUrl = new URL(config.publicUrl);
    const publicOrigin = publicUrl.origin;
    const tags = ['OAuth'];
    await app.register(formbody, { bodyLimit: 16 * 1024 });

    async function sessionOf(request: FastifyRequest): Promise<SessionRecord | null> {
      const header = request.headers.cookie;
      const token = header ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined;
      return token ? findSession(db, token, clock.now()) : null;
    }

    async function detailsOf(request: FastifyRequest, reply: FastifyReply): Promise<Details | null> {
      pinEngineView(request, publicUrl);
      try {
        return await oauth.provider.interactionDetails(request.raw, reply.raw);
      } catch {
        return null;
      }
    }

    const expired = (reply: FastifyReply) =>
      sendHtml(
        reply,
        400,
        errorPage(
          'invalid_request',
          'This authorization has expired or was started in another browser. Start again from the app.',
        ),
      );

    /** Hands the result to the engine, which redirects the browser back into the authorization flow. */
    async function finish(request: FastifyRequest, reply: FastifyReply, result: InteractionResults) {
      reply.hijack();
      reply.raw.setHeader('x-request-id', request.id);
      reply.raw.setHeader('cache-control', 'no-store');
      reply.raw.setHeader('x-frame-options', 'DENY');
      try {
        await oauth.provider.interactionFinished(request.raw, reply.raw, result, {
          mergeWithLastSubmission: 'consent' in result,
        });
      } catch (error) {
        // The interaction ended meanwhile (expired, or finished in another tab). The reply is ours to send:
        // Fastify no longer answers a hijacked request.
        request.log.info({ err: (error as Error).message }, 'OAuth interaction could not be finished');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(400, pageHeaders());
          reply.raw.end(
            errorPage('invalid_request', 'This authorization has expired. Start again from the app.'),
          );
        }
      }
    }

    /**
     * Whether the session may sign this authorization in. Any live session may, unless the app asked for a
     * new sign-in (prompt=login, max_age): then only one made after we first showed the sign-in page for it,
     * which we note on the interaction (timestamps in the engine are whole seconds, too coarse to tell).
     */
    async function signedInFreshly(
      request: FastifyRequest,
      reply: FastifyReply,
      details: Details,
      session: SessionRecord,
    ): Promise<boolean> {
      const reasons = details.prompt.reasons;
      if (!reasons.includes('login_prompt') && !reasons.includes('max_age')) return true;
      const shownAt = (details.result as { cohera_login_shown_at?: unknown } | undefined)
        ?.cohera_login_shown_at;
      if (typeof shownAt === 'number') return Date.parse(session.createdAt) > shownAt;
      // If the interaction vanished meanwhile, the sign-in page leads to the "expired" page: nothing to do.
      await oauth.provider
        .interactionResult(
          request.raw,
          reply.raw,
          { cohera_login_shown_at: clock.now() },
          { mergeWithLastSubmission: false },
        )
        .catch(() => undefined);
      return false;
    }

    /** The user code of a device flow's interaction, as the device shows it (`XXXX-XXXX`). */
    async function deviceUserCode(details: Details): Promise<string | null> {
      const deviceCodeId = (details as { deviceCode?: unknown }).deviceCode;
      if (typeof deviceCodeId !== 'string') return null;
      const code = await oauth.provider.DeviceCode.find(deviceCodeId, { ignoreExpiration: true });
      const normalized = code?.userCode;
      return normalized ? `${normalized.slice(0, 4)}-${normalized.slice(4)}` : null;
    }

    const csrfFor = (session: SessionRecord, uid: string) => `${session.tokenHash}:oauth:${uid}`;

    app.get(
      `${INTERACTION_PATH}/:uid`,
      {
        config: { access: { public: true } },
        schema: { tags, summary: 'Sign-in or consent step of an OAuth authorization', params: UidParams },
      },
      async (request, reply) => {
        const details = await detailsOf(request, reply);
        if (!details || details.uid !== request.params.uid) return expired(reply);
        const client = await findClientById(db, String(details.params.client_id));
        if (!client) return expired(reply);
        const formActions = redirectOrigins(client);
        const session = await sessionOf(request);
        const returnTo = `${INTERACTION_PATH}/${details.uid}`;

        if (details.prompt.name === 'login') {
          if (session && (await signedInFreshly(request, reply, details, session))) {
            return finish(request, reply, { login: { accountId: session.userId } });
          }
          return sendHtml(reply, 200, loginPage({ returnTo }), formActions);
        }
        if (details.prompt.name !== 'consent') return expired(reply);
        if (!session || session.userId !== details.session?.accountId) {
          return sendHtml(reply, 200, loginPage({ returnTo }), formActions);
        }

        const requested = String(details.params.scope ?? '')
          .split(' ')
          .filter(Boolean);
        const { grantable, notGrantable } = splitRequestedScopes(
          requested,
          JSON.parse(client.scopes) as string[],
          scopesForRole(session.role),
        );
        if (grantable.length === 0) {
          return finish(request, reply, {
            error: 'invalid_scope',
            error_description: 'none of the requested scopes can be granted by this user to this client',
          });
        }
        const [org, developer, userCode] = await Promise.all([
          findOrg(db, session.orgId),
          findOrg(db, client.org_id),
          deviceUserCode(details),
        ]);
        const redirectUri = details.params.redirect_uri;
        return sendHtml(
          reply,
          200,
          consentPage({
            uid: details.uid,
            clientName: client.name,
            developerOrgName: developer?.name ?? 'an unknown organization',
            orgName: org?.name ?? session.orgId,
            userEmail: session.email,
            redirectHost: typeof redirectUri === 'string' ? new URL(redirectUri).host : null,
            ...(userCode ? { userCode } : {}),
            grantable,
            notGrantable,
            mode: client.mode,
            csrfToken: csrf.tokenFor(csrfFor(session, details.uid)),
          }),
          formActions,
        );
      },
    );

    app.post(
      `${INTERACTION_PATH}/:uid/decision`,
      {
        config: { access: { public: true } },
        schema: {
          tags,
          summary: 'Allow or deny an OAuth authorization (the consent form)',
          params: UidParams,
          body: DecisionBody,
        },
      },
      async (request, reply) => {
        const session = await sessionOf(request);
        const origin = request.headers.origin;
        const details = await detailsOf(request, reply);
        if (
          !details ||
          details.uid !== request.params.uid ||
          details.prompt.name !== 'consent' ||
          !session ||
          session.userId !== details.session?.accountId
        ) {
          return expired(reply);
        }
        // The consent form is ours: refuse a post from another origin or without this session's token.
        if (
          (origin !== undefined && origin !== publicOrigin) ||
          !csrf.verify(csrfFor(session, details.uid), request.body.csrf_token)
        ) {
          return sendHtml(
            reply,
            403,
            errorPage('access_denied', 'The consent form was not submitted from Cohera.'),
          );
        }
        const client = await findClientById(db, String(details.params.client_id));
        if (!client) return expired(reply);

        if (request.body.decision === 'deny') {
          await deps.audit.record(db, {
            orgId: session.orgId,
            actor: { kind: 'user', id: session.userId },
            action: 'oauth.consent_denied',
            target: { kind: 'oauth_client', id: client.id },
            request: requestOf(request),
          });
          return finish(request, reply, {
            error: 'access_denied',
            error_description: 'the user denied the authorization request',
          });
        }

        const { grantable, notGrantable } = splitRequestedScopes(
          String(details.params.scope ?? '')
            .split(' ')
            .filter(Boolean),
          JSON.parse(client.scopes) as string[],
          scopesForRole(session.role),
        );
        const { Grant } = oauth.provider;
        const existing = details.grantId ? await Grant.find(details.grantId) : undefined;
        const grant = existing ?? new Grant({ accountId: session.userId, clientId: client.id });
        const audience = config.audience;
        if (grantable.length) grant.addResourceScope(audience, grantable.join(' '));
        // Recorded as refused, so the engine does not ask again for what this user cannot grant.
        if (notGrantable.length) grant.rejectResourceScope(audience, notGrantable.join(' '));
        const grantId = await grant.save();
        const held = (grant.getResourceScope(audience) ?? '').split(' ').filter(isScope);
        await db.transaction().execute(async (trx) => {
          const authorization = await upsertAuthorization(
            trx,
            {
              orgId: session.orgId,
              userId: session.userId,
              clientId: client.id,
              mode: client.mode,
              grantId,
              scopes: held,
            },
            clock.now(),
          );
          await deps.audit.record(trx, {
            orgId: session.orgId,
            actor: { kind: 'user', id: session.userId },
            action: 'oauth.consent_granted',
            target: { kind: 'oauth_authorization', id: authorization.id },
            metadata: { client_id: client.id, scopes: held, not_granted: notGrantable },
            request: requestOf(request),
          });
        });
        return finish(request, reply, { consent: { grantId } });
      },
    );
  };
