/**
 * What tells a rolled key from its successor (they share a name): the lineage (`rolled_from` →
 * "replaces …", `replaced_by` → "replaced by …", named by the other key's prefix…last4), the exact moment
 * a key stops, and how long that is from now ("stops in 59 minutes").
 */
import type { ApiKey } from '../../api/types.ts';
import { formatDate, formatSecond, keyLabel, relativeTime } from '../../lib/format.ts';

/** Within this much of its end a key's expiry is shown to the second, with a countdown. */
const SOON_MS = 7 * 86_400_000;

function labelOf(id: string, keys: readonly ApiKey[]): string {
  const other = keys.find((k) => k.id === id);
  // A predecessor may be outside the list (another mode never, but a page the server did not send): its id.
  return other ? keyLabel(other.prefix, other.last4) : id;
}

export function Lineage({ apiKey, keys }: { apiKey: ApiKey; keys: readonly ApiKey[] }) {
  if (!apiKey.rolled_from && !apiKey.replaced_by) return null;
  return (
    <span className="key-lineage muted small">
      {apiKey.rolled_from ? (
        <span>
          replaces <code>{labelOf(apiKey.rolled_from, keys)}</code>
        </span>
      ) : null}
      {apiKey.replaced_by ? (
        <span>
          replaced by <code>{labelOf(apiKey.replaced_by, keys)}</code>
        </span>
      ) : null}
    </span>
  );
}

function ending(apiKey: ApiKey, now: number): boolean {
  if (apiKey.status !== 'active' || !apiKey.expires_at) return false;
  return apiKey.replaced_by !== null || Date.parse(apiKey.expires_at) - now < SOON_MS;
}

/** "stops in 59 minutes" for a rolled key in its grace period, "expires in 3 days" for one near its end. */
export function KeyCountdown({ apiKey, now = Date.now() }: { apiKey: ApiKey; now?: number }) {
  if (!ending(apiKey, now) || !apiKey.expires_at) return null;
  const verb = apiKey.replaced_by ? 'stops' : 'expires';
  return <span className="key-countdown small"> {`${verb} ${relativeTime(apiKey.expires_at, now)}`}</span>;
}

/** The day, or the exact moment (to the second, UTC) when the end is near or the key was rolled. */
export function KeyExpiry({ apiKey, now = Date.now() }: { apiKey: ApiKey; now?: number }) {
  if (!apiKey.expires_at) return <span className="badge badge-warn">never</span>;
  // A rolled key's end is the moment the roll chose: to the second, also after it has passed.
  if (apiKey.replaced_by !== null || ending(apiKey, now)) {
    // Day and time each kept whole: a narrow column breaks between them, never inside a date.
    const [day, time] = formatSecond(apiKey.expires_at).split(' ', 2);
    return (
      <time dateTime={apiKey.expires_at}>
        <span className="nowrap">{day}</span> <span className="nowrap">{time} UTC</span>
      </time>
    );
  }
  return (
    <time className="nowrap" dateTime={apiKey.expires_at}>
      {formatDate(apiKey.expires_at)}
    </time>
  );
}
