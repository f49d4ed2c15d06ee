/**
 * Group commit for the fleet limiter (issue 20): the rate-limit decisions of every request that reaches
 * this node in one turn of the event loop go to Redis as ONE script call. Still one round trip per request
 * (it shares the trip), and still exact: two nodes can never both take a window's last unit, and a request
 * refused by one window counts nothing in the others.
 *
 * Within a call, requests with the same windows (one credential's, at the same window indices) form a
 * group, and the script decides a group at once: with counts c before it and room r = limit − c in each
 * window, the first min(m, r) of its m requests pass and the rest are refused, which is what deciding them
 * one after the other gives (a refused request counts nothing, so every later one of the group is refused
 * too). Groups are decided in the order of their first request. The requests of one turn are concurrent
 * (none has been answered), so deciding them group by group is as valid an order as their arrival.
 *
 * Why: with one script call per request, the client side of Redis (ioredis's command object, argument
 * encoding, reply parsing, the promise and the per-command timeout timer) cost a request more CPU than all
 * of the rest of the rate-limit step. A batch pays that once per turn; a group makes the call's arguments,
 * its reply and the script's work grow with the credentials in the turn, not with its requests (under load
 * a turn carries tens of requests of a handful of credentials). An idle server's batch is a single request,
 * sent one `setImmediate` later than a call of its own would be.
 *
 * Keys of one batch share their hash tag (the org, `{org_…}`): a script may only touch keys of one slot on
 * a Redis Cluster, so requests of different orgs go in different batches.
 */
import { type WindowSpec, windowIndex } from './limiter.ts';

/**
 * KEYS: every counter the batch touches, once each (a turn's groups mostly share their org's counters).
 * ARGV: first the expire-at time (epoch seconds) of each key, in KEYS order; then per group its window count
 * n, "1" to count or "0" to peek, its request count m, and n pairs (the key's position in KEYS, the window's
 * limit). Returns, group after group, the n counts before the group and how many of its requests pass:
 * min(m, room in every window), at least 0; a peek group passes all m or none, and counts nothing. A counter
 * read or counted by an earlier group of the batch is not read again (`seen`).
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
  local m = tonumber(ARGV[a + 2])
  local pass = m
  for i = 1, n do
    local k = tonumber(ARGV[a + 1 + 2 * i])
    local c = seen[k]
    if c == nil then
      c = tonumber(redis.call('GET', KEYS[k]) or '0')
      seen[k] = c
    end
    out[o + i] = c
    local room = tonumber(ARGV[a + 2 + 2 * i]) - c
    if room < pass then pass = room end
  end
  if pass < 0 then pass = 0 end
  if pass > 0 then
    if count then
      for i = 1, n do
        local k = tonumber(ARGV[a + 1 + 2 * i])
        local before = seen[k]
        seen[k] = redis.call('INCRBY', KEYS[k], pass)
        if before == 0 then redis.call('EXPIREAT', KEYS[k], ARGV[k]) end
      end
    else
      pass = m
    end
  end
  out[o + n + 1] = pass
  o = o + n + 1
  a = a + 3 + 2 * n
end
return out
`;

/** Most requests in one script call: bounds how many requests one Redis reply settles at once. */
export const MAX_BATCH = 256;

/** The requests of one turn with the same windows at the same window indices, decided together. */
export interface BatchGroup<W> {
  /** The windows, by identity: the rate-limit step keeps one array per credential and limits. */
  readonly windows: readonly WindowSpec[];
  readonly consume: boolean;
  /** The first request's clock reading. */
  readonly nowMs: number;
  /** Each window's index at `nowMs`: a request joins the group only at the same indices. */
  readonly indexes: readonly number[];
  /** Each window's Redis counter (its key at its index), limit, and expiry time (epoch seconds). */
  readonly keys: readonly string[];
  readonly limits: readonly number[];
  readonly expireAts: readonly number[];
  /** The hash tag of the keys (the batch the group goes in). */
  readonly tag: string;
  /** The group's requests, in arrival order. */
  readonly waiters: W[];
}

/**
 * Called once per group: with the counts before its first request (in the order of `keys`) and how many of
 * its requests pass (the first ones), or with null and the call's error.
 */
export type SettleGroup<W> = (
  group: BatchGroup<W>,
  countsBefore: number[] | null,
  passed: number,
  error?: unknown,
) => void;

/** Runs the script: the number of keys, the keys, then ARGV (ioredis `defineCommand` calling form). */
export type RunBatch = (args: Array<string | number>) => Promise<number[]>;

interface Batch<W> {
  groups: BatchGroup<W>[];
  requests: number;
}

export class ConsumeBatcher<W> {
  readonly #run: RunBatch;
  readonly #settle: SettleGroup<W>;
  readonly #max: number;
  /** Batches being filled, per hash tag. */
  #pending = new Map<string, Batch<W>>();
  /** This turn's open groups by their windows (counting and peeking apart). */
  #counting = new Map<readonly WindowSpec[], BatchGroup<W>>();
  #peeking = new Map<readonly WindowSpec[], BatchGroup<W>>();
  #scheduled = false;
  readonly #flushAll = () => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    this.#counting = new Map();
    this.#peeking = new Map();
    for (const batch of pending.values()) this.#send(batch);
  };

  constructor(run: RunBatch, settle: SettleGroup<W>, max = MAX_BATCH) {
    this.#run = run;
    this.#settle = settle;
    this.#max = max;
  }

  /** This turn's open group for these windows (the same array) at `nowMs`'s window indices, if any. */
  find(windows: readonly WindowSpec[], consume: boolean, nowMs: number): BatchGroup<W> | undefined {
    const group = (consume ? this.#counting : this.#peeking).get(windows);
    if (group === undefined) return undefined;
    const { indexes } = group;
    for (let i = 0; i < windows.length; i++) {
      if (windowIndex(nowMs, (windows[i] as WindowSpec).windowSeconds) !== indexes[i]) return undefined;
    }
    return group;
  }

  /** Opens a group (made by the caller, with no waiters yet) in the batch of its hash tag. */
  open(group: BatchGroup<W>): BatchGroup<W> {
    let batch = this.#pending.get(group.tag);
    if (batch === undefined) {
      batch = { groups: [], requests: 0 };
      this.#pending.set(group.tag, batch);
    }
    batch.groups.push(group);
    (group.consume ? this.#counting : this.#peeking).set(group.windows, group);
    return group;
  }

  /** Adds a request to its group; the batch goes at the end of this turn, or at once when it is full. */
  add(group: BatchGroup<W>, waiter: W): void {
    group.waiters.push(waiter);
    const batch = this.#pending.get(group.tag) as Batch<W>;
    if (++batch.requests >= this.#max) {
      this.#pending.delete(group.tag);
      for (const g of batch.groups) {
        const open = g.consume ? this.#counting : this.#peeking;
        if (open.get(g.windows) === g) open.delete(g.windows);
      }
      this.#send(batch);
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After the poll phase: every request whose bytes arrived in this turn is in the batch by then.
      setImmediate(this.#flushAll);
    }
  }

  #send(batch: Batch<W>): void {
    const { groups } = batch;
    // Each counter once: its position in KEYS (1-based, as Lua counts) and its expiry, then per group
    // positions and limits only.
    const positions = new Map<string, number>();
    const keys: string[] = [];
    const expireAts: number[] = [];
    const spec: Array<string | number> = [];
    for (const group of groups) {
      const n = group.keys.length;
      spec.push(n, group.consume ? '1' : '0', group.waiters.length);
      for (let i = 0; i < n; i++) {
        const key = group.keys[i] as string;
        let position = positions.get(key);
        if (position === undefined) {
          keys.push(key);
          expireAts.push(group.expireAts[i] as number);
          position = keys.length;
          positions.set(key, position);
        }
        spec.push(position, group.limits[i] as number);
      }
    }
    const args: Array<string | number> = [keys.length, ...keys, ...expireAts, ...spec];
    this.#run(args).then(
      (reply) => {
        let offset = 0;
        for (const group of groups) {
          const n = group.keys.length;
          const before: number[] = new Array(n);
          for (let i = 0; i < n; i++) before[i] = Number(reply[offset + i]);
          this.#settle(group, before, Number(reply[offset + n]));
          offset += n + 1;
        }
      },
      (error: unknown) => {
        for (const group of groups) this.#settle(group, null, 0, error);
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
