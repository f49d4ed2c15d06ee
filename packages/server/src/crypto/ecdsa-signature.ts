/**
 * An ECDSA signature in DER (what OpenSSL, and node:crypto by default, produce) as JWS writes it (RFC 7518
 * §3.4: R and S as fixed-size big-endian integers, concatenated).
 *
 * Why not `sign(…, { key, dsaEncoding: 'ieee-p1363' })`, which does this inside Node: Node 24 tells a
 * KeyObject from an options object by trying to read the KeyObject's private slots and catching the
 * TypeError, then does the same for CryptoKey, so every call with an options object throws and catches two
 * errors, each capturing a stack trace. Measured: 23 µs for the sign with a KeyObject, 50 µs with the options
 * object, and about twice that under the token endpoint's deep async stacks. Parsing the DER is a few
 * hundred nanoseconds.
 *
 * Strict: anything but one SEQUENCE of two positive INTEGERs that fit `size` bytes, with short-form lengths
 * (a P-256 or P-384 signature never needs the long form), is refused, so a malformed input never becomes
 * a plausible-looking signature.
 */

const SEQUENCE = 0x30;
const INTEGER = 0x02;

/** `der` (from `crypto.sign` with a KeyObject) as R ‖ S, each `size` bytes (32 for P-256). */
export function derToJoseSignature(der: Uint8Array, size: number): Buffer {
  if (der.length < 8 || der[0] !== SEQUENCE || der[1] !== der.length - 2) {
    throw new Error('not a DER ECDSA signature');
  }
  const out = Buffer.alloc(size * 2);
  let offset = 2;
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== INTEGER) throw new Error('not a DER ECDSA signature');
    const length = der[offset + 1] as number;
    let start = offset + 2;
    const end = start + length;
    if (length === 0 || length > 127 || end > der.length) throw new Error('not a DER ECDSA signature');
    // A first byte with its top bit set is a negative integer: never part of a signature.
    if ((der[start] as number) & 0x80) throw new Error('not a DER ECDSA signature');
    // DER adds a 0x00 before an integer whose top bit is set (it would read as negative): not part of it.
    while (start < end - 1 && der[start] === 0) start++;
    const bytes = end - start;
    if (bytes > size) throw new Error('not a DER ECDSA signature');
    out.set(der.subarray(start, end), part * size + size - bytes);
    offset = end;
  }
  if (offset !== der.length) throw new Error('not a DER ECDSA signature');
  return out;
}
