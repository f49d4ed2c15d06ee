/**
 * Lists: `await client.certificates.list()` is one page; `for await (const c of client.certificates.list())`
 * walks every item, fetching pages (cursor pagination) as it goes. Nothing is requested until the list is
 * awaited or iterated, and awaiting it twice sends one request.
 */

export interface ListResponse<T> {
  data: T[];
  next_cursor: string | null;
}

export type FetchPage<T> = (cursor: string | undefined) => Promise<ListResponse<T>>;

/** One page of a list, with the way to the next. */
export class Page<T> implements ListResponse<T>, AsyncIterable<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
  readonly #fetchPage: FetchPage<T>;

  constructor(response: ListResponse<T>, fetchPage: FetchPage<T>) {
    this.data = response.data;
    this.next_cursor = response.next_cursor;
    this.#fetchPage = fetchPage;
  }

  hasNextPage(): boolean {
    return this.next_cursor !== null;
  }

  /** The next page, or null after the last. */
  async getNextPage(): Promise<Page<T> | null> {
    if (this.next_cursor === null) return null;
    return new Page(await this.#fetchPage(this.next_cursor), this.#fetchPage);
  }

  /** Every item from this page on. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> | null = this;
    while (page) {
      yield* page.data;
      page = await page.getNextPage();
    }
  }
}

/**
 * What `list()` returns: a promise of the first page that is also an async iterable of every item. It is
 * a full `Promise` in type and behaviour (then, catch, finally) but lazy: the request goes out when it is
 * first awaited or iterated, not when `list()` is called.
 */
export class PagePromise<T> implements Promise<Page<T>>, AsyncIterable<T> {
  readonly [Symbol.toStringTag] = 'PagePromise';
  readonly #fetchPage: FetchPage<T>;
  readonly #cursor: string | undefined;
  #first: Promise<Page<T>> | null = null;

  constructor(fetchPage: FetchPage<T>, cursor?: string) {
    this.#fetchPage = fetchPage;
    this.#cursor = cursor;
  }

  #page(): Promise<Page<T>> {
    this.#first ??= this.#fetchPage(this.#cursor).then((response) => new Page(response, this.#fetchPage));
    return this.#first;
  }

  // biome-ignore lint/suspicious/noThenProperty: a PromiseLike is exactly what this is meant to be.
  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#page().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.#page().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Page<T>> {
    return this.#page().finally(onFinally);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this.#page();
  }

  /** Collects every item into an array (at most `limit` items, to keep memory bounded). */
  async toArray(options: { limit?: number } = {}): Promise<T[]> {
    const limit = options.limit ?? 10_000;
    const items: T[] = [];
    for await (const item of this) {
      if (items.length >= limit) break;
      items.push(item);
    }
    return items;
  }
}
