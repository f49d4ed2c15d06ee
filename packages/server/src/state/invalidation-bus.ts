/**
 * The invalidation bus: how a change on one node (a key revoked, rolled or deleted; an org's tier changed;
 * a member's role changed or the member removed) reaches the credential caches of every node within a
 * second (DESIGN §5.1, §5.3). Three transports behind one
 * port: in-process (one node), Redis pub/sub (a fleet with Redis), PostgreSQL LISTEN/NOTIFY (a fleet on
 * PostgreSQL without Redis). A node that loses its subscription clears its caches when it reconnects,
 * because it may have missed messages meanwhile.
 */
export type Invalidation =
  | { kind: 'api_key'; keyHash: string }
  | { kind: 'org'; orgId: string }
  | { kind: 'credential'; credentialId: string }
  /** A user's role in an org changed, or they left it: every context derived from that membership goes. */
  | { kind: 'member'; orgId: string; userId: string }
  | { kind: 'resource'; id: string }
  /** The OAuth signing keys changed (an emergency revocation): reload them, drop cached tokens and keys. */
  | { kind: 'signing_keys' }
  | { kind: 'all' };

export interface InvalidationBus {
  /** Which transport (the first, when a fleet has two); for logs and metrics. */
  readonly transport: 'memory' | 'redis' | 'postgres';
  /**
   * Delivers to every node, this one included. Applied on this node before it resolves; queued for the
   * others and sent in the background (publish-queue.ts), so it never waits for the transport: a change is
   * committed before it is announced, and a frozen Redis must not hold the response.
   */
  publish(message: Invalidation): Promise<void>;
  /**
   * Whether messages from other nodes are reaching this one. While false, caches trust what they hold for
   * a short TTL only (credential-freshness.ts), since an eviction may be lost.
   */
  readonly healthy: boolean;
  /** Called with the new state whenever `healthy` changes. */
  onHealthChange(handler: (healthy: boolean) => void): void;
  /** Handlers run for every message, and with `{kind: 'all'}` after a reconnect. */
  subscribe(handler: (message: Invalidation) => void): void;
  /** Resolves once the subscription is live (so a test can publish right after start-up). */
  ready(): Promise<void>;
  /**
   * Waits up to `timeoutMs` for what was published so far to leave this node; true when it did (a
   * one-shot command that must say whether running nodes were told: `rotate-signing-key --revoke-old`).
   */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function encodeInvalidation(message: Invalidation): string {
  return JSON.stringify(message);
}

/** Parses a message from the wire; anything malformed becomes `all` (safe: it only empties caches). */
export function decodeInvalidation(raw: string): Invalidation {
  try {
    const value = JSON.parse(raw) as Partial<Record<string, unknown>>;
    if (value.kind === 'api_key' && typeof value.keyHash === 'string')
      return { kind: 'api_key', keyHash: value.keyHash };
    if (value.kind === 'org' && typeof value.orgId === 'string') return { kind: 'org', orgId: value.orgId };
    if (value.kind === 'resource' && typeof value.id === 'string') return { kind: 'resource', id: value.id };
    if (value.kind === 'credential' && typeof value.credentialId === 'string') {
      return { kind: 'credential', credentialId: value.credentialId };
    }
    if (value.kind === 'member' && typeof value.orgId === 'string' && typeof value.userId === 'string') {
      return { kind: 'member', orgId: value.orgId, userId: value.userId };
    }
    if (value.kind === 'signing_keys') return { kind: 'signing_keys' };
  } catch {
    // fall through
  }
  return { kind: 'all' };
}

/** Fans a message out to handlers; a throwing handler must not stop the others. */
export class HandlerSet {
  readonly #handlers: Array<(message: Invalidation) => void> = [];
  add(handler: (message: Invalidation) => void): void {
    this.#handlers.push(handler);
  }
  emit(message: Invalidation, onError: (error: unknown) => void): void {
    for (const handler of this.#handlers) {
      try {
        handler(message);
      } catch (error) {
        onError(error);
      }
    }
  }
}

/**
 * A transport's health as a value plus change notifications, so a cache reads a field (no call, no promise
 * per request) and the bus tells it when the value flips.
 */
export class BusHealth {
  #healthy = true;
  readonly #handlers: Array<(healthy: boolean) => void> = [];
  get healthy(): boolean {
    return this.#healthy;
  }
  set(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    for (const handler of this.#handlers) handler(healthy);
  }
  onChange(handler: (healthy: boolean) => void): void {
    this.#handlers.push(handler);
  }
}

/** One node, no transport: messages go straight to local handlers. */
export class MemoryInvalidationBus implements InvalidationBus {
  readonly transport = 'memory' as const;
  /** Nothing between nodes to lose: always healthy. */
  readonly healthy = true;
  readonly #handlers = new HandlerSet();
  readonly #onError: (error: unknown) => void;
  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }
  async publish(message: Invalidation): Promise<void> {
    this.#handlers.emit(message, this.#onError);
  }
  subscribe(handler: (message: Invalidation) => void): void {
    this.#handlers.add(handler);
  }
  onHealthChange(): void {}
  async ready(): Promise<void> {}
  /** Nothing leaves this node: every handler has run already. */
  async flush(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
}
