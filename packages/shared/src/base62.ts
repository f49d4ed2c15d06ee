/** Base62 with the alphabet `0-9A-Za-z`: ASCII order, so fixed-width strings sort like their numbers. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Writes a non-negative integer in base62, most significant digit first, left-padded with `0`. */
export function encodeBase62(value: bigint | number, width: number): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    // Plain arithmetic for numbers (the API-key checksum, on every request); BigInt only for 128-bit ids.
    let n = value;
    let out = '';
    while (n > 0) {
      out = BASE62_ALPHABET[n % 62] + out;
      n = Math.floor(n / 62);
    }
    if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
    return out.padStart(width, '0');
  }
  let n = BigInt(value);
  if (n < 0n) throw new RangeError('base62 encodes non-negative integers only');
  let out = '';
  while (n > 0n) {
    out = BASE62_ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

/**
 * `length` uniformly random base62 characters from the platform CSPRNG (WebCrypto, so this also runs in
 * browsers). Bytes ≥ 248 are rejected so that `byte % 62` has no modulo bias (248 = 4 × 62).
 */
export function randomBase62(length: number): string {
  let out = '';
  const buffer = new Uint8Array(Math.max(16, Math.ceil(length * 1.1)));
  while (out.length < length) {
    globalThis.crypto.getRandomValues(buffer);
    for (const byte of buffer) {
      if (byte < 248) {
        out += BASE62_ALPHABET[byte % 62];
        if (out.length === length) break;
      }
    }
  }
  return out;
}
