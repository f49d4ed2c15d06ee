/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), bit-identical to zlib's `crc32`. Written out
 * because it must also run in browsers (the SDK) where `node:zlib` is absent; a test pins it to zlib.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of the UTF-8 bytes of `input` (or of the bytes given), as an unsigned 32-bit integer. */
export function crc32(input: string | Uint8Array): number {
  let crc = 0xffffffff;
  if (typeof input === 'string' && !/[^\p{ASCII}]/u.test(input)) {
    // ASCII (every API key): the code units are the UTF-8 bytes, no encoding pass needed (hot path).
    for (let i = 0; i < input.length; i++)
      crc = (TABLE[(crc ^ input.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  } else {
    const bytes = typeof input === 'string' ? encoder.encode(input) : input;
    for (const byte of bytes) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const encoder = new TextEncoder();
