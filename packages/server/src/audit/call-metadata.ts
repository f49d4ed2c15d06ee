/**
 * The metadata of an API-call audit event (`api.request`): the method, the route's pattern, the status, the
 * mode, and which app (OAuth) or key (service account) acted beside the principal.
 *
 * Every field follows from the request's credential context, its route and its status, so under
 * COHERA_AUDIT_API_CALLS=all the same few objects would be built and serialized on every call. A context is
 * one object per verified credential (the verifiers cache it) and a route's config one object per route, so
 * the metadata is made once per (context, route, method, status) and frozen; the audit segment serializes a
 * frozen metadata object once (segments.ts). A dashboard session's context is made per request, and its
 * memo goes with it (a WeakMap).
 */
import type { AuthContext } from '../auth/context.ts';

export type CallMetadata = Readonly<Record<string, unknown>>;

/** Which app (OAuth) or key (service account) acted, beside the principal, for API-call events. */
export function credentialOf(auth: AuthContext): Record<string, string> {
  if (auth.clientId) return { client_id: auth.clientId };
  if (auth.principal.kind === 'service_account' && auth.credentialId) return { key_id: auth.credentialId };
  return {};
}

export class CallMetadataMemo {
  readonly #byContext = new WeakMap<AuthContext, Map<object, Map<number, CallMetadata>>>();

  /** The last call's inputs and metadata: a busy client's next call is usually the same (no lookups then). */
  #lastAuth: AuthContext | null = null;
  #lastConfig: object | null = null;
  #lastStatus = 0;
  #last: CallMetadata | null = null;

  /** The metadata of a call; `route` is the route config's pattern, `config` the config object itself. */
  of(auth: AuthContext, config: object, route: string | null, method: string, status: number): CallMetadata {
    const last = this.#last;
    if (
      auth === this.#lastAuth &&
      config === this.#lastConfig &&
      status === this.#lastStatus &&
      last !== null &&
      last.method === method
    ) {
      return last;
    }
    const metadata = this.#lookUp(auth, config, route, method, status);
    this.#lastAuth = auth;
    this.#lastConfig = config;
    this.#lastStatus = status;
    this.#last = metadata;
    return metadata;
  }

  #lookUp(
    auth: AuthContext,
    config: object,
    route: string | null,
    method: string,
    status: number,
  ): CallMetadata {
    let byRoute = this.#byContext.get(auth);
    if (byRoute === undefined) {
      byRoute = new Map();
      this.#byContext.set(auth, byRoute);
    }
    let byStatus = byRoute.get(config);
    if (byStatus === undefined) {
      byStatus = new Map();
      byRoute.set(config, byStatus);
    }
    const known = byStatus.get(status);
    // A route's config serves its HEAD twin too: the method is checked, not assumed.
    if (known !== undefined && known.method === method) return known;
    const metadata = Object.freeze({ method, route, status, mode: auth.mode, ...credentialOf(auth) });
    byStatus.set(status, metadata);
    return metadata;
  }
}
