/**
 * The fingerprint of a request: SHA-256 over its method, its URL (path and query, as received) and its
 * raw body bytes. A key reused for a request with another fingerprint is refused (422) rather than
 * answered with the first request's result, which would describe something the client did not ask for
 * (draft-ietf-httpapi-idempotency-key-header §2.2).
 *
 * The bytes are hashed as the body parser reads them, through a pass-through stream, so the body is
 * neither buffered twice nor re-serialised: two requests differing only in JSON whitespace or key order
 * are different requests, as they would be to any byte-level cache.
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';

/** A request body on its way to the parser, being hashed. */
export interface FingerprintingBody {
  /** The stream to hand to Fastify's body parser instead of the original. */
  stream: Readable & { receivedEncodedLength?: number };
  /** The fingerprint, once the parser has read the body (or at once, for a request without one). */
  digest(): string;
}

export function fingerprintBody(method: string, url: string, body: Readable): FingerprintingBody {
  const hash: Hash = createHash('sha256');
  // Method and URL cannot contain a line feed, so this framing is unambiguous.
  hash.update(`${method}\n${url}\n`);
  let received = 0;
  const stream: Transform & { receivedEncodedLength?: number } = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      received += chunk.length;
      // Fastify compares this with Content-Length (its docs ask a replacement stream to keep it current).
      stream.receivedEncodedLength = received;
      callback(null, chunk);
    },
  });
  // pipeline, not pipe: an aborted upload destroys the hashing stream too, so the parser sees the error.
  pipeline(body, stream, () => {});
  let digest: string | null = null;
  return {
    stream,
    digest: () => {
      digest ??= hash.digest('hex');
      return digest;
    },
  };
}
