/** Webhooks (`admin` scope): the endpoints Cohera sends events to, their deliveries, and the event log. */
import type { PagePromise } from '../pagination.ts';
import type { RequestOptions } from '../transport.ts';
import type {
  CoheraEvent,
  CoheraEventListParams,
  ListParams,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointCreateParams,
  WebhookEndpointRotateSecretParams,
  WebhookEndpointSecret,
  WebhookEndpointUpdateParams,
  WebhookEndpointWithSecret,
  WebhookMessageQueued,
  WebhookRecoverParams,
  WebhookRecoverResult,
} from '../types.ts';
import { Resource, segment } from './resource.ts';

const PATH = '/v1/webhook-endpoints';

/**
 * `/v1/webhook-endpoints`. An endpoint receives the events of its own mode (the credential's). Its signing
 * secret is in the response of `create` and `rotateSecret` only: give it to `new Webhooks(secret)` on the
 * receiving side. As with every call that returns a secret, a retry that finds the call already carried
 * out throws a `ConflictError` (`secret_already_shown`) instead of showing it again.
 */
export class WebhookEndpoints extends Resource {
  async create(
    params: WebhookEndpointCreateParams,
    options?: RequestOptions,
  ): Promise<WebhookEndpointWithSecret> {
    return this.transport.request({ method: 'POST', path: PATH, body: params, options });
  }

  list(params?: ListParams, options?: RequestOptions): PagePromise<WebhookEndpoint> {
    return this.paginate(PATH, params, options);
  }

  async get(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.transport.request({ method: 'GET', path: `${PATH}/${segment(id)}`, options });
  }

  /** `status: 'enabled'` on a disabled endpoint also replays its failed deliveries, oldest first. */
  async update(
    id: string,
    params: WebhookEndpointUpdateParams,
    options?: RequestOptions,
  ): Promise<WebhookEndpoint> {
    return this.transport.request({ method: 'PATCH', path: `${PATH}/${segment(id)}`, body: params, options });
  }

  /** Stops every delivery to it; a second delete is a `NotFoundError`. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({ method: 'DELETE', path: `${PATH}/${segment(id)}`, options });
  }

  /**
   * A new signing secret, shown this once. The previous one keeps signing too (both signatures are sent)
   * for `grace_period_seconds` (default a day), so receivers can switch without dropping a delivery.
   */
  async rotateSecret(
    id: string,
    params: WebhookEndpointRotateSecretParams = {},
    options?: RequestOptions,
  ): Promise<WebhookEndpointSecret> {
    return this.transport.request({
      method: 'POST',
      path: `${PATH}/${segment(id)}/rotate-secret`,
      body: params,
      options,
    });
  }

  /** Sends a `webhook.test` event to this endpoint only (whatever it subscribes to). */
  async test(id: string, options?: RequestOptions): Promise<WebhookMessageQueued> {
    return this.transport.request({ method: 'POST', path: `${PATH}/${segment(id)}/test`, options });
  }

  /** The endpoint's delivery log: one entry per message, with its last attempt. */
  deliveries(id: string, params?: ListParams, options?: RequestOptions): PagePromise<WebhookDelivery> {
    return this.paginate(`${PATH}/${segment(id)}/deliveries`, params, options);
  }

  /** Sends one message again now (a failed one too), whatever its state. */
  async retry(id: string, messageId: string, options?: RequestOptions): Promise<void> {
    await this.transport.request({
      method: 'POST',
      path: `${PATH}/${segment(id)}/deliveries/${segment(messageId, 'messageId')}/retry`,
      options,
    });
  }

  /** Replays the endpoint's failed deliveries since a moment, oldest first (after an outage on your side). */
  async recover(
    id: string,
    params: WebhookRecoverParams,
    options?: RequestOptions,
  ): Promise<WebhookRecoverResult> {
    return this.transport.request({
      method: 'POST',
      path: `${PATH}/${segment(id)}/recover`,
      body: params,
      options,
    });
  }
}

/** `/v1/events`: the organization's events of the last 30 days in this client's mode, newest first. */
export class Events extends Resource {
  list(params?: CoheraEventListParams, options?: RequestOptions): PagePromise<CoheraEvent> {
    return this.paginate('/v1/events', params, options);
  }
}
