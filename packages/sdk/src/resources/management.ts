/** Access management (`admin` scope): keys, service accounts, OAuth apps, audit, organization, security. */
import type { PagePromise } from '../pagination.ts';
import type { RequestOptions } from '../transport.ts';
import type {
  ApiKey,
  ApiKeyCreateParams,
  ApiKeyListParams,
  ApiKeyRollParams,
  ApiKeyUsage,
  ApiKeyWithSecret,
  AuditEvent,
  AuditEventFilters,
  AuditEventListParams,
  AuditVerification,
  AuditVerifyParams,
  ListParams,
  OAuthClient,
  OAuthClientCreateParams,
  OAuthClientRotateSecretParams,
  OAuthClientUpdateParams,
  OAuthClientWithSecret,
  Organization,
  OrganizationUpdateParams,
  OrganizationUsage,
  SecurityReport,
  ServiceAccountCreateParams,
  ServiceAccountFile,
  ServiceAccountKey,
  ServiceAccountKeyExpiry,
  ServiceAccountKeyUploadParams,
  ServiceAccountObject,
} from '../types.ts';
import { Resource, segment } from './resource.ts';

/**
 * `/v1/api-keys`. The key itself is in the response of `create` and `roll` only. When that response is
 * lost and the call's retry finds the request already carried out, the server does not hand the secret
 * out again: the call throws a `ConflictError` with code `secret_already_shown`, whose `problem.result` is
 * the key without its secret (roll or revoke it). The same holds for every call that returns a secret.
 */
export class ApiKeys extends Resource {
  async create(params: ApiKeyCreateParams, options?: RequestOptions): Promise<ApiKeyWithSecret> {
    return this.transport.request({ method: 'POST', path: '/v1/api-keys', body: params, options });
  }

  list(params?: ApiKeyListParams, options?: RequestOptions): PagePromise<ApiKey> {
    return this.paginate('/v1/api-keys', params, options);
  }

  async get(id: string, options?: RequestOptions): Promise<ApiKey> {
    return this.transport.request({ method: 'GET', path: `/v1/api-keys/${segment(id)}`, options });
  }

  /** Effective on every server node within a second. */
  async revoke(id: string, options?: RequestOptions): Promise<ApiKey> {
    return this.transport.request({ method: 'POST', path: `/v1/api-keys/${segment(id)}/revoke`, options });
  }

  /**
   * A new key with the same scopes; the old one keeps working for the grace period (default 24 h). A key
   * is rolled once: rolling a revoked, expired or already rolled key is a `ConflictError` (`key_revoked`,
   * `key_expired`, `key_already_rolled`).
   */
  async roll(id: string, params: ApiKeyRollParams = {}, options?: RequestOptions): Promise<ApiKeyWithSecret> {
    return this.transport.request({
      method: 'POST',
      path: `/v1/api-keys/${segment(id)}/roll`,
      body: params,
      options,
    });
  }

  /** Daily requests, errors and rate-limited requests, oldest first. */
  async usage(id: string, params: { days?: number } = {}, options?: RequestOptions): Promise<ApiKeyUsage> {
    return this.transport.request({
      method: 'GET',
      path: `/v1/api-keys/${segment(id)}/usage`,
      query: params,
      options,
    });
  }
}

/** `/v1/service-accounts` and their keys. */
export class ServiceAccounts extends Resource {
  async create(params: ServiceAccountCreateParams, options?: RequestOptions): Promise<ServiceAccountObject> {
    return this.transport.request({ method: 'POST', path: '/v1/service-accounts', body: params, options });
  }

  list(params?: ListParams, options?: RequestOptions): PagePromise<ServiceAccountObject> {
    return this.paginate('/v1/service-accounts', params, options);
  }

  async get(id: string, options?: RequestOptions): Promise<ServiceAccountObject> {
    return this.transport.request({ method: 'GET', path: `/v1/service-accounts/${segment(id)}`, options });
  }

  /** Deletes the account and its keys: its tokens stop working. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({ method: 'DELETE', path: `/v1/service-accounts/${segment(id)}`, options });
  }

  /**
   * Without `public_key`: the server generates a key pair and returns `service-account.json` (the only
   * time the private key exists outside your hands: pass it to `ServiceAccount.fromJSON` or save it).
   * With `public_key`: registers your own key and returns the key object.
   */
  createKey(
    id: string,
    params?: ServiceAccountKeyExpiry,
    options?: RequestOptions,
  ): Promise<ServiceAccountFile>;
  createKey(
    id: string,
    params: ServiceAccountKeyUploadParams,
    options?: RequestOptions,
  ): Promise<ServiceAccountKey>;
  async createKey(
    id: string,
    params: ServiceAccountKeyExpiry | ServiceAccountKeyUploadParams = {},
    options?: RequestOptions,
  ): Promise<ServiceAccountFile | ServiceAccountKey> {
    return this.transport.request({
      method: 'POST',
      path: `/v1/service-accounts/${segment(id)}/keys`,
      body: params,
      options,
    });
  }

  listKeys(id: string, options?: RequestOptions): PagePromise<ServiceAccountKey> {
    return this.paginate(`/v1/service-accounts/${segment(id)}/keys`, undefined, options);
  }

  async deleteKey(id: string, keyId: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({
      method: 'DELETE',
      path: `/v1/service-accounts/${segment(id)}/keys/${segment(keyId, 'keyId')}`,
      options,
    });
  }
}

/** `/v1/oauth/clients`: the apps of the developer console. */
export class OAuthClients extends Resource {
  async create(params: OAuthClientCreateParams, options?: RequestOptions): Promise<OAuthClientWithSecret> {
    return this.transport.request({ method: 'POST', path: '/v1/oauth/clients', body: params, options });
  }

  list(params?: ListParams, options?: RequestOptions): PagePromise<OAuthClient> {
    return this.paginate('/v1/oauth/clients', params, options);
  }

  async get(id: string, options?: RequestOptions): Promise<OAuthClient> {
    return this.transport.request({ method: 'GET', path: `/v1/oauth/clients/${segment(id)}`, options });
  }

  /** Deletes the app and revokes every token issued to it. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({ method: 'DELETE', path: `/v1/oauth/clients/${segment(id)}`, options });
  }

  /**
   * Changes the app's name, redirect URIs or scopes. Narrowing the scopes ends the authorizations (and their
   * tokens) that hold more than the new ones.
   *
   * @example
   * ```ts
   * const app = await client.oauthClients.update('cli_…', {
   *   redirect_uris: ['https://portal.example.com/callback'],
   *   scopes: ['read:certificates'],
   * });
   * ```
   */
  async update(id: string, params: OAuthClientUpdateParams, options?: RequestOptions): Promise<OAuthClient> {
    return this.transport.request({
      method: 'PATCH',
      path: `/v1/oauth/clients/${segment(id)}`,
      body: params,
      options,
    });
  }

  async rotateSecret(
    id: string,
    params: OAuthClientRotateSecretParams = {},
    options?: RequestOptions,
  ): Promise<OAuthClientWithSecret> {
    return this.transport.request({
      method: 'POST',
      path: `/v1/oauth/clients/${segment(id)}/rotate-secret`,
      body: params,
      options,
    });
  }
}

/** `/v1/audit-events`: the organization's tamper-evident audit log. */
export class AuditEvents extends Resource {
  /** Newest first. */
  list(params?: AuditEventListParams, options?: RequestOptions): PagePromise<AuditEvent> {
    return this.paginate('/v1/audit-events', params, options);
  }

  /**
   * Every matching event, streamed from the NDJSON export (oldest first) without holding the whole log
   * in memory.
   */
  async *export(filters: AuditEventFilters = {}, options?: RequestOptions): AsyncGenerator<AuditEvent> {
    const response = await this.transport.send({
      method: 'GET',
      path: '/v1/audit-events/export',
      query: { ...filters },
      options: { ...options, headers: { ...options?.headers, accept: 'application/x-ndjson' } },
    });
    if (!response.body) return;
    // A reader loop rather than `for await` over the stream: not every browser iterates streams, and an
    // early `break` by the caller must cancel the download.
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) yield JSON.parse(line) as AuditEvent;
          newline = buffered.indexOf('\n');
        }
        if (done) break;
      }
      if (buffered.trim()) yield JSON.parse(buffered) as AuditEvent;
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /**
   * Recomputes the hash chain: `ok: false`, `first_bad` and `reason` if any stored event was edited, removed
   * or added, at either end of the log as in its middle. With a signed digest you kept, also proves that
   * nothing the digest covers has gone (a log emptied or rolled back behind it).
   *
   * @example
   * const { ok, reason } = await client.auditEvents.verify({ digest: keptDigest });
   */
  async verify(params: AuditVerifyParams = {}, options?: RequestOptions): Promise<AuditVerification> {
    return this.transport.request({
      method: 'GET',
      path: '/v1/audit-events/verify',
      query: { ...params },
      options,
    });
  }
}

/** `/v1/organization`: the tier, its rate limits and the key policy. */
export class OrganizationResource extends Resource {
  async retrieve(options?: RequestOptions): Promise<Organization> {
    return this.transport.request({ method: 'GET', path: '/v1/organization', options });
  }

  async update(params: OrganizationUpdateParams, options?: RequestOptions): Promise<Organization> {
    return this.transport.request({ method: 'PATCH', path: '/v1/organization', body: params, options });
  }
}

/** `/v1/usage`: the organization's traffic across every credential, for charts and capacity planning. */
export class Usage extends Resource {
  /** The last `days` days (1–90, default 30) in this client's mode, and where both windows stand now. */
  async retrieve(params: { days?: number } = {}, options?: RequestOptions): Promise<OrganizationUsage> {
    return this.transport.request({ method: 'GET', path: '/v1/usage', query: params, options });
  }
}

/** `/v1/security/report`: the reference's security checklist, answered from audit and usage data. */
export class Security extends Resource {
  async report(options?: RequestOptions): Promise<SecurityReport> {
    return this.transport.request({ method: 'GET', path: '/v1/security/report', options });
  }
}
