/**
 * Group commit for the fleet limiter (issue 20): the rate-limit decisions of every request that reaches
 * this node in one turn of the event loop go to Redis as ONE script call, which decides them one after the
 * other, each atomically, exactly as separate calls would have. Still one round trip per request (it shares
 * the trip), and still exact: two nodes can never both take a window's last unit, and a request refused by
 * one window counts nothing in the others.
 *
 * Why: with one script call per request, the client side of Redis (ioredis's command object, argument
 * encoding, reply parsing, the promise and the per-command timeout timer) cost a request more CPU than all
 * of the rest of the rate-limit step. A batch pays that once per turn. Under load a turn carries tens of
 * requests; an idle server's batch is a single request, sent one `setImmediate` later than before.
 *
 * Keys of one batch share their hash tag (the org, `{org_…}`): a script may only touch keys of one slot
 * on a Redis Cluster, so requests of different orgs go in different batches.
 */

/**
 * KEYS: every counter the batch touches, once each (a turn's requests mostly share their org's counters).
 * ARGV: first the expire-at time (epoch seconds) of each key, in KEYS order; then, per request, its window
 * count n, "1" to count or "0" to peek, and n pairs (the key's position in KEYS, the window's limit).
 * Returns each request's counts before it, request after request, window after window. A counter read or
 * incremented by an earlier request of the batch is not read again (`seen`).
 */
export const BATCH_SCRIPT = `
local seen = {}
local out = {}
local o = 0
local a = #KEYS + 1
local last = #ARGV
while a <= last do
  local n = tonumber(ARGV[a])
  local count = ARGV[a + 1] == '1'
  local allowed = true
  for i = 1, n do
    local k = tonumber(ARGV[a + 2 * i])
    local c = seen[k]
    if c == nil then
      c = tonumber(redis.call('GET', KEYS[k]) or '0')
      seen[k] = c
    end
    out[o + i] = c
    if c >= tonumber(ARGV[a + 2 * i + 1]) then allowed = false end
  end
  if allowed and count then
    for i = 1, n do
      local k = tonumber(ARGV[a + 2 * i])
      local c = redis.call('INCR', KEYS[k])
      seen[k] = c
      if c == 1 then redis.call('EXPIREAT', KEYS[k], ARGV[k]) end
    end
  end
  o = o + n
  a = a + 2 + 2 * n
end
return out
`;

/** Most requests in one script call: bounds how long Redis runs one script (each is a few microseconds). */
export const MAX_BATCH = 256;

/** One request's counters, as the script takes them. */
export interface BatchEntry {
  keys: readonly string[];
  limits: readonly number[];
  expireAts: readonly number[];
  consume: boolean;
  /** Called once with the counts before this request (in the order of `keys`), or with the call's error. */
  settle(countsBefore: number[] | null, error?: unknown): void;
}

/** Runs the script: the number of keys, the keys, then ARGV (ioredis `defineCommand` calling form). */
export type RunBatch = (args: Array<string | number>) => Promise<number[]>;

interface Pending {
  entries: BatchEntry[];
}

export class ConsumeBatcher {
  readonly #run: RunBatch;
  readonly #max: number;
  /** Batches being filled, per hash tag. */
  #pending = new Map<string, Pending>();
  #scheduled = false;
  readonly #flushAll = () => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const batch of pending.values()) this.#send(batch);
  };

  constructor(run: RunBatch, max = MAX_BATCH) {
    this.#run = run;
    this.#max = max;
  }

  /** Adds a request to the batch of its hash tag; sent at the end of this turn, or at once when full. */
  add(tag: string, entry: BatchEntry): void {
    let batch = this.#pending.get(tag);
    if (batch === undefined) {
      batch = { entries: [] };
      this.#pending.set(tag, batch);
    }
    batch.entries.push(entry);
    if (batch.entries.length >= this.#max) {
      this.#pending.delete(tag);
      this.#send(batch);
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After the poll phase: every request whose bytes arrived in this turn is in the batch by then.
      setImmediate(this.#flushAll);
    }
  }

  #send(batch: Pending): void {
    const { entries } = batch;
    // Each counter once: its position in KEYS (1-based, as Lua counts) and its expiry, then per request
    // positions and limits only.
    const positions = new Map<string, number>();
    const keys: string[] = [];
    const expireAts: number[] = [];
    const requests: Array<string | number> = [];
    for (const entry of entries) {
      const n = entry.keys.length;
      requests.push(n, entry.consume ? '1' : '0');
      for (let i = 0; i < n; i++) {
        const key = entry.keys[i] as string;
        let position = positions.get(key);
        if (position === undefined) {
          keys.push(key);
          expireAts.push(entry.expireAts[i] as number);
          position = keys.length;
          positions.set(key, position);
        }
        requests.push(position, entry.limits[i] as number);
      }
    }
    const args: Array<string | number> = [keys.length, ...keys, ...expireAts, ...requests];
    this.#run(args).then(
      (counts) => {
        let offset = 0;
        for (const entry of entries) {
          const n = entry.keys.length;
          const before: number[] = new Array(n);
          for (let i = 0; i < n; i++) before[i] = Number(counts[offset + i]);
          offset += n;
          entry.settle(before);
        }
      },
      (error: unknown) => {
        for (const entry of entries) entry.settle(null, error);
      },
    );
  }
}

/** The hash tag of a window key (`{org_…}:live:m` → `org_…`), or the whole key when it has none. */
export function hashTag(windowKey: string): string {
  const open = windowKey.indexOf('{');
  if (open === -1) return windowKey;
  const close = windowKey.indexOf('}', open + 1);
  return close > open + 1 ? windowKey.slice(open + 1, close) : windowKey;
}
