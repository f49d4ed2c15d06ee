/** What every resource shares: the transport, paths with safely encoded ids, and list plumbing. */
import { type ListResponse, PagePromise } from '../pagination.ts';
import type { QueryValue, RequestOptions, Transport } from '../transport.ts';

/**
 * An id as one path segment. An empty id would turn `GET /v1/x/:id` into the list route, and a `/` or
 * `..` would reach another route, so both are refused before anything is sent.
 */
export function segment(id: string, what = 'id'): string {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${what} must be a non-empty string`);
  return encodeURIComponent(id);
}

export abstract class Resource {
  protected readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  protected paginate<T>(
    path: string,
    params: object | undefined,
    options: RequestOptions | undefined,
  ): PagePromise<T> {
    const { cursor, ...query } = (params ?? {}) as Record<string, QueryValue>;
    return new PagePromise<T>(
      (next) =>
        this.transport.request<ListResponse<T>>({
          method: 'GET',
          path,
          query: { ...query, cursor: next ?? (cursor as string | undefined) },
          options,
        }),
      typeof cursor === 'string' ? cursor : undefined,
    );
  }
}

/** The five operations of a domain resource (`/v1/suppliers`, `/v1/products`, `/v1/certificates`). */
export abstract class CrudResource<
  T,
  CreateParams,
  UpdateParams,
  ListParams extends object,
> extends Resource {
  protected abstract readonly path: string;

  async create(params: CreateParams, options?: RequestOptions): Promise<T> {
    return this.transport.request<T>({ method: 'POST', path: this.path, body: params, options });
  }

  async get(id: string, options?: RequestOptions): Promise<T> {
    return this.transport.request<T>({ method: 'GET', path: `${this.path}/${segment(id)}`, options });
  }

  async update(id: string, params: UpdateParams, options?: RequestOptions): Promise<T> {
    return this.transport.request<T>({
      method: 'PATCH',
      path: `${this.path}/${segment(id)}`,
      body: params,
      options,
    });
  }

  /** Resolves when deleted; a second delete is a `NotFoundError`. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request<void>({ method: 'DELETE', path: `${this.path}/${segment(id)}`, options });
  }

  /** One page when awaited; every item when iterated with `for await`. */
  list(params?: ListParams, options?: RequestOptions): PagePromise<T> {
    return this.paginate<T>(this.path, params, options);
  }
}
