/**
 * Webhooks as the Settings › Webhooks page shows them: the event catalogue grouped by resource (the
 * server's own `WEBHOOK_EVENT_TYPES`, so a new event type appears here without a dashboard change), the
 * subscription as checkboxes with "All events", the endpoint URL checked against the server's rules before
 * anything is sent, and an endpoint's status and deliveries in words. The server checks everything again;
 * the address a delivery actually connects to is checked there, after DNS (DESIGN §5.5).
 */
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../../shared/src/webhook-events.ts';
import type {
  WebhookDelivery as SdkWebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from '../api/types.ts';
import { relativeTime } from './format.ts';

export type { WebhookEndpoint, WebhookEndpointWithSecret };

/**
 * `GET /v1/webhook-endpoints/:id/deliveries`: one message to this endpoint and where its delivery stands,
 * with the first bytes of the last response's body when the server includes them (it keeps 1 KB).
 */
export type WebhookDelivery = SdkWebhookDelivery & { last_response_body?: string | null };

/** The subscription to every event type, including those added later. */
export const ALL_EVENTS = '*';

/**
 * `webhook.test` is not offered: a test event reaches the endpoint it is sent to whatever the endpoint
 * subscribes to, so subscribing to it changes nothing.
 */
const NOT_OFFERED: ReadonlySet<string> = new Set<WebhookEventType>(['webhook.test']);

/** Resource (the part of the type before the dot) → the group it is listed under, in this order. */
const GROUP_LABELS: [prefix: string, group: string][] = [
  ['certificate', 'Certificates'],
  ['supplier', 'Suppliers'],
  ['product', 'Products'],
  ['api_key', 'API keys'],
  ['service_account', 'Service accounts'],
  ['oauth_client', 'OAuth apps'],
  ['oauth', 'OAuth apps'],
  ['rate_limit', 'Rate limits'],
  ['webhook_endpoint', 'Webhook endpoints'],
];

export interface EventGroup {
  label: string;
  events: { type: string; description: string }[];
}

function groupLabel(prefix: string): string {
  const known = GROUP_LABELS.find(([p]) => p === prefix)?.[1];
  if (known) return known;
  // A resource this table does not know yet is still listed, under its own name.
  const words = prefix.replace(/_/g, ' ');
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
}

/** The catalogue's types (those worth subscribing to) grouped by resource, in the catalogue's order. */
export function groupEventTypes(
  catalogue: Readonly<Record<string, string>> = WEBHOOK_EVENT_TYPES,
): EventGroup[] {
  const groups = new Map<string, EventGroup>();
  for (const [type, description] of Object.entries(catalogue)) {
    if (NOT_OFFERED.has(type)) continue;
    const label = groupLabel(type.slice(0, type.indexOf('.')));
    const group = groups.get(label) ?? { label, events: [] };
    group.events.push({ type, description });
    groups.set(label, group);
  }
  const order = GROUP_LABELS.map(([, label]) => label);
  const rank = (label: string) => {
    const at = order.indexOf(label);
    return at === -1 ? order.length : at;
  };
  return [...groups.values()].sort((a, b) => rank(a.label) - rank(b.label));
}

/** Every type offered, in the order the picker shows them: a selection is sent in this order. */
function offeredOrder(): string[] {
  return groupEventTypes().flatMap((group) => group.events.map((event) => event.type));
}

function inOrder(types: Iterable<string>): string[] {
  const chosen = new Set(types);
  return offeredOrder().filter((type) => chosen.has(type));
}

/** Checks or unchecks event types; `*` ("All events") stands alone and covers everything. */
export function toggleEvents(value: readonly string[], types: readonly string[], checked: boolean): string[] {
  if (value.includes(ALL_EVENTS)) return [...value];
  const next = new Set(value);
  for (const type of types) {
    if (checked) next.add(type);
    else next.delete(type);
  }
  return inOrder(next);
}

/** "All events" on is `["*"]` (future types included); off goes back to choosing types one by one. */
export function toggleAllEvents(checked: boolean): string[] {
  return checked ? [ALL_EVENTS] : [];
}

/** Whether the subscription receives `type`. */
export function subscribes(value: readonly string[], type: string): boolean {
  return value.includes(ALL_EVENTS) || value.includes(type);
}

/** How the list shows a subscription. */
export function describeEvents(events: readonly string[]): string {
  if (events.includes(ALL_EVENTS)) return 'All events';
  if (events.length === 0) return 'No events';
  return events.join(', ');
}

/** An endpoint's status in words: why it was disabled, and what brings it back. */
export function endpointStatusText(endpoint: Pick<WebhookEndpoint, 'status' | 'disabled_reason'>): string {
  if (endpoint.status === 'enabled') return 'Enabled: receives new events.';
  switch (endpoint.disabled_reason) {
    case 'gone':
      return 'Disabled because the endpoint answered 410 Gone, which means “stop sending”. Enable it again when it is back.';
    case 'failing':
      return 'Disabled because every delivery to it failed for 5 days. Fix the receiver, then enable it: failed deliveries are sent again.';
    case 'manual':
      return 'Disabled by a person in your organization. Events are not sent to it until it is enabled.';
    default:
      return 'Disabled: events are not sent to it.';
  }
}

/** A delivery's state in a few words, for the log's Status column. */
export function deliveryStatusText(delivery: Pick<WebhookDelivery, 'status' | 'attempts'>): string {
  const attempts = `${delivery.attempts} attempt${delivery.attempts === 1 ? '' : 's'}`;
  switch (delivery.status) {
    case 'succeeded':
      return 'Delivered';
    case 'failed':
      return `Failed after ${attempts}`;
    default:
      return delivery.attempts === 0 ? 'Waiting' : 'Retrying';
  }
}

/** Whether the log should look again soon: something is still on its way. */
export function hasPending(deliveries: readonly Pick<WebhookDelivery, 'status'>[]): boolean {
  return deliveries.some((delivery) => delivery.status === 'pending');
}

/** The first characters of a response body on one line (the server keeps at most 1 KB of it). */
export function responseExcerpt(body: string | null | undefined, max = 120): string {
  if (!body) return '';
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

// --- The endpoint URL -----------------------------------------------------------------------------------

export interface UrlCheck {
  /** What stops the server from accepting it, in words; null when the form may send it. */
  problem: string | null;
  /**
   * What the server accepts only when its operator allows private addresses (COHERA_WEBHOOKS_ALLOW_PRIVATE,
   * for development and tests): http://, or a private or loopback address written in the URL.
   */
  needsPrivate: string | null;
  /** The URL as it will be sent (trimmed), when it has no problem. */
  url: string | null;
}

function ipv4Private(host: string): boolean {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const [a = 0, b = 0] = parts;
  return (
    a === 0 || // "this network", 0.0.0.0
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224 // multicast and reserved
  );
}

function ipv6Private(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  // IPv4-mapped (::ffff:a.b.c.d; the browser writes the last 32 bits in hex: ::ffff:7f00:1).
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = Number.parseInt(mapped[1] ?? '0', 16);
    const lo = Number.parseInt(mapped[2] ?? '0', 16);
    return ipv4Private([hi >> 8, hi & 255, lo >> 8, lo & 255].join('.'));
  }
  const first = Number.parseInt(h.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique-local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 // multicast ff00::/8
  );
}

/** A host written as a private or loopback address (or `localhost`): what the server refuses by default. */
export function isPrivateHostLiteral(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host.startsWith('[') && host.endsWith(']')) return ipv6Private(host.slice(1, -1));
  return ipv4Private(host);
}

/** Checks an endpoint URL as typed, by the server's rules (https only; a public address). */
export function checkWebhookUrl(raw: string): UrlCheck {
  const text = raw.trim();
  if (text === '') return { problem: 'Enter the URL Cohera sends events to.', needsPrivate: null, url: null };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return {
      problem: 'This is not a complete URL: it starts with https:// and names a host.',
      needsPrivate: null,
      url: null,
    };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return { problem: 'The URL must start with https://.', needsPrivate: null, url: null };
  }
  if (parsed.username || parsed.password) {
    return {
      problem:
        'Leave the user name and password out of the URL: it is shown in the dashboard. Check the webhook-signature header to know a request came from Cohera.',
      needsPrivate: null,
      url: null,
    };
  }
  if (parsed.hash) {
    return { problem: 'Leave out the #fragment: it is never sent.', needsPrivate: null, url: null };
  }
  let needsPrivate: string | null = null;
  if (isPrivateHostLiteral(parsed.hostname)) {
    needsPrivate = `${parsed.hostname} is a private or loopback address.`;
  } else if (parsed.protocol === 'http:') {
    needsPrivate = 'The URL uses http://, not https://.';
  }
  return { problem: null, needsPrivate, url: text };
}

/** When a pending delivery is tried next: "now" once it is due, "in 42 s", "in 2 hours". */
export function nextAttemptText(
  delivery: Pick<WebhookDelivery, 'status' | 'next_attempt_at'>,
  now = Date.now(),
): string {
  if (delivery.status !== 'pending' || !delivery.next_attempt_at) return '—';
  const ms = Date.parse(delivery.next_attempt_at) - now;
  if (Number.isNaN(ms)) return '—';
  if (ms <= 0) return 'now';
  if (ms < 60_000) return `in ${Math.ceil(ms / 1000)} s`;
  return relativeTime(delivery.next_attempt_at, now);
}

/** What the Add and Edit dialogs hold while you type. */
export interface EndpointDraft {
  url: string;
  events: string[];
  description: string;
}

export const EMPTY_DRAFT: EndpointDraft = { url: '', events: [], description: '' };

/** The draft's problems, named before anything is sent; `body` is what to send when there are none. */
export function checkDraft(draft: EndpointDraft): {
  url: UrlCheck;
  events: string | null;
  body: { url: string; events: string[]; description: string } | null;
} {
  const url = checkWebhookUrl(draft.url);
  const events = draft.events.length === 0 ? 'Choose at least one event, or All events.' : null;
  const body =
    url.url !== null && url.problem === null && events === null
      ? { url: url.url, events: draft.events, description: draft.description.trim() }
      : null;
  return { url, events, body };
}
