/**
 * One delivery attempt over HTTP (DESIGN §5.5): POST the stored body byte for byte with the Standard Webhooks
 * headers, never follow a redirect (node:http does not), read at most the first 1 KB of the answer, and give
 * up after the timeout. The connection goes through the SSRF guard unless private addresses are allowed.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { signatureHeader } from '../signature.ts';
import { assertPublicAddress, guardedLookup, literalAddress, WebhookAddressError } from './ssrf.ts';

const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
export const USER_AGENT = `Cohera-Webhooks/${SERVER_VERSION}`;

/** What the delivery log keeps of a response body. */
export const RESPONSE_BODY_LIMIT = 1024;

export interface SendInput {
  url: string;
  messageId: string;
  body: string;
  /** HMAC keys, current first (both sign during a rotation's grace). */
  secrets: readonly Buffer[];
  /** Unix seconds of this attempt (`webhook-timestamp`). */
  timestampSeconds: number;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Aborted on shutdown: the attempt is then released, not recorded. */
  signal: AbortSignal;
}

export type SendOutcome = 'succeeded' | 'http_error' | 'timeout' | 'network_error' | 'address_refused';

export interface SendResult {
  outcome: SendOutcome;
  /** True when `signal` ended the attempt. */
  aborted: boolean;
  status: number | null;
  responseBody: string | null;
  /** The raw Retry-After header of a 429/503. */
  retryAfter: string | null;
  durationMs: number;
  /** Why the attempt failed, without anything secret (no header, no signature). */
  error: string | null;
}

function readHead(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = () => {
      response.removeAllListeners('data');
      // PostgreSQL text cannot hold NUL: a receiver answering binary would otherwise make the attempt
      // unrecordable, and an unrecorded attempt is sent again each time its lease runs out.
      const text = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
      resolve(text.replaceAll('\u0000', ''));
    };
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      // A receiver may answer with an endless body: stop reading once the log has what it keeps.
      if (length >= RESPONSE_BODY_LIMIT) {
        finish();
        response.destroy();
      }
    });
    response.once('end', finish);
    response.once('error', finish);
    response.once('close', finish);
  });
}

/** Sends one attempt; never throws (every failure is a result to record). */
export async function sendWebhook(input: SendInput): Promise<SendResult> {
  const started = performance.now();
  const result = (partial: Partial<SendResult> & Pick<SendResult, 'outcome'>): SendResult => ({
    aborted: input.signal.aborted,
    status: null,
    responseBody: null,
    retryAfter: null,
    error: null,
    ...partial,
    durationMs: Math.round(performance.now() - started),
  });
  let url: URL;
  try {
    url = new URL(input.url);
    if (url.protocol !== 'https:' && !(input.allowPrivate && url.protocol === 'http:')) {
      return result({ outcome: 'address_refused', error: `scheme ${url.protocol} is not allowed` });
    }
    // An IP-literal host is connected to without a DNS lookup, so the lookup guard never sees it.
    const literal = literalAddress(url);
    if (!input.allowPrivate && literal !== null) assertPublicAddress(literal);
  } catch (error) {
    if (error instanceof WebhookAddressError)
      return result({ outcome: 'address_refused', error: error.message });
    return result({ outcome: 'network_error', error: 'invalid URL' });
  }

  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = AbortSignal.any([input.signal, timeout]);
  return new Promise<SendResult>((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        signal,
        // A fresh connection per attempt: a pooled socket would skip the lookup guard's check of the address.
        agent: false,
        ...(input.allowPrivate ? {} : { lookup: guardedLookup }),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(input.body),
          'user-agent': USER_AGENT,
          'webhook-id': input.messageId,
          'webhook-timestamp': String(input.timestampSeconds),
          'webhook-signature': signatureHeader(
            input.secrets,
            input.messageId,
            input.timestampSeconds,
            input.body,
          ),
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter = response.headers['retry-after'] ?? null;
        void readHead(response).then((responseBody) =>
          resolve(
            result({
              outcome: status >= 200 && status < 300 ? 'succeeded' : 'http_error',
              status,
              responseBody,
              retryAfter: status === 429 || status === 503 ? retryAfter : null,
              // Redirects are failures and never followed (a redirect could point at a private address).
              error: status >= 200 && status < 300 ? null : `HTTP ${status}`,
            }),
          ),
        );
      },
    );
    req.once('error', (error: Error & { code?: string }) => {
      if (error instanceof WebhookAddressError) {
        resolve(result({ outcome: 'address_refused', error: error.message }));
      } else if (timeout.aborted && !input.signal.aborted) {
        resolve(result({ outcome: 'timeout', error: `no response within ${input.timeoutMs} ms` }));
      } else {
        resolve(result({ outcome: 'network_error', error: error.code ?? error.message }));
      }
    });
    req.end(input.body);
  });
}
