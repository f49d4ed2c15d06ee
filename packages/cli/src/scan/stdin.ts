/**
 * `cohera scan -`: the keys in whatever is piped in. Bytes are gathered into chunks of CHUNK_SIZE before
 * each search (a pipe delivers 64 KiB at a time, sometimes a byte), and chunks overlap as files' do.
 */
import type { Readable } from 'node:stream';
import { StreamScanner } from './detect.ts';
import { CHUNK_SIZE } from './files.ts';
import type { Finding } from './finding.ts';

export async function scanReadable(input: Readable): Promise<Finding[]> {
  const scanner = new StreamScanner();
  let held: Buffer[] = [];
  let heldBytes = 0;
  let position = 0;
  const flush = (last: boolean) => {
    const chunk = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes);
    const next = scanner.scan(chunk, position, last);
    // What the next chunk must start with: the overlap that is carried over.
    held = last ? [] : [chunk.subarray(next - position)];
    heldBytes = last ? 0 : chunk.length - (next - position);
    position = next;
  };
  for await (const data of input) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    held.push(bytes);
    heldBytes += bytes.length;
    if (heldBytes >= CHUNK_SIZE) flush(false);
  }
  flush(true);
  return scanner.hits.map(
    (hit): Finding => ({
      key: hit.key,
      mode: hit.mode,
      source: 'stdin',
      path: '-',
      line: hit.line,
      column: hit.column,
      commit: null,
    }),
  );
}
