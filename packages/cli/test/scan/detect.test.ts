/**
 * The detector on its own: keys found with their line and column (UTF-16 units, like editors), every
 * look-alike ignored, the same answer however a stream is cut into chunks (a key across a boundary is
 * found once), the published test vector ignored, and the diff reader (added lines only, line numbers
 * in the new file, paths quoted by git, a `+` line that reads like a file header).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Hit, PUBLISHED_TEST_VECTOR, StreamScanner } from '../../src/scan/detect.ts';
import { DiffScanner } from '../../src/scan/diff.ts';
import { key, lookAlikes } from './support.ts';

/** Scans `bytes` in chunks of `size`, as files.ts reads a file (each read starts where scan() says). */
function scanInChunks(bytes: Buffer, size: number): Hit[] {
  const scanner = new StreamScanner();
  let position = 0;
  for (;;) {
    const chunk = bytes.subarray(position, position + size);
    const last = position + chunk.length >= bytes.length;
    const next = scanner.scan(chunk, position, last);
    if (last) return scanner.hits;
    assert.ok(next > position, 'every chunk makes progress');
    position = next;
  }
}

const whole = (bytes: Buffer) => scanInChunks(bytes, bytes.length);

describe('StreamScanner', () => {
  test('finds keys of both modes with line and column', () => {
    const live = key('live');
    const test = key('test');
    const text = `first line\n  token=${live}\n\n"${test}",\n`;
    const hits = whole(Buffer.from(text));
    assert.deepEqual(
      hits.map((h) => [h.key, h.mode, h.line, h.column]),
      [
        [live, 'live', 2, 9],
        [test, 'test', 4, 2],
      ],
    );
  });

  test('counts columns in UTF-16 code units after multi-byte characters', () => {
    const k = key();
    // é: 2 bytes, 1 unit; €: 3 bytes, 1 unit; 😀: 4 bytes, 2 units.
    const hits = whole(Buffer.from(`é€😀=${k}`));
    assert.equal(hits[0]?.column, 6);
  });

  test('never reports a look-alike', () => {
    const text = lookAlikes().join('\n');
    assert.deepEqual(whole(Buffer.from(text)), []);
    for (const alike of lookAlikes()) assert.deepEqual(whole(Buffer.from(` ${alike} `)), [], alike);
  });

  test('ignores the format’s published test vector, which no server ever issued', () => {
    assert.deepEqual(whole(Buffer.from(`example: ${PUBLISHED_TEST_VECTOR}`)), []);
  });

  test('gives the same hits whatever the chunk size, a key across a boundary found once', () => {
    const keys = [key(), key('test'), key()];
    const text = Buffer.from(
      `${'a'.repeat(70)}\n${keys[0]} ${'ü'.repeat(40)}${keys[1]}\n${'z'.repeat(90)}\n ${keys[2]}`,
    );
    const expected = whole(text);
    assert.equal(expected.length, 3);
    // The smallest chunk that makes progress: the overlap (47 bytes) plus 2.
    for (let size = 49; size <= 200; size++) {
      assert.deepEqual(scanInChunks(text, size), expected, `chunk size ${size}`);
    }
  });

  test('a key on one very long line (minified JSON) has the right column in any chunking', () => {
    const k = key();
    const json = Buffer.from(`{"items":[${'{"id":1,"name":"n"},'.repeat(500)}{"secret":"${k}"}]}`);
    const column = json.indexOf(k) + 1;
    for (const size of [64, 97, 1000, json.length]) {
      assert.deepEqual(
        scanInChunks(json, size).map((h) => [h.line, h.column]),
        [[1, column]],
      );
    }
  });
});

describe('DiffScanner', () => {
  const parse = (text: string) => {
    const scanner = new DiffScanner();
    // Fed in small pieces, as a pipe delivers it.
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 7) scanner.push(bytes.subarray(at, at + 7));
    scanner.end();
    return scanner;
  };

  test('reads added lines only, at their line in the new file, with the commit', () => {
    const added = key();
    const removed = key();
    const scanner = parse(
      [
        '\u0001aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        '',
        'diff --git a/config.env b/config.env',
        'index 1..2 100644',
        '--- a/config.env',
        '+++ b/config.env',
        '@@ -3 +3,2 @@',
        `-OLD=${removed}`,
        '+++ b/not-a-header',
        `+COHERA_API_KEY=${added}`,
        '',
      ].join('\n'),
    );
    assert.equal(scanner.commits, 1);
    assert.deepEqual(
      scanner.hits.map((h) => [h.key, h.path, h.line, h.column, h.commit]),
      [[added, 'config.env', 4, 16, 'a'.repeat(40)]],
    );
  });

  test('unquotes paths git quotes, and reports a key once per commit and path', () => {
    const k = key();
    const scanner = parse(
      [
        '\u0001bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        'diff --git "a/caf\\303\\251 \\"x\\".txt" "b/caf\\303\\251 \\"x\\".txt"',
        'new file mode 100644',
        '--- /dev/null',
        '+++ "b/caf\\303\\251 \\"x\\".txt"',
        '@@ -0,0 +1,2 @@',
        `+${k}`,
        `+again ${k}`,
      ].join('\n'),
    );
    assert.deepEqual(
      scanner.hits.map((h) => [h.path, h.line]),
      [['café "x".txt', 1]],
    );
  });

  test('ignores look-alikes in added lines', () => {
    const scanner = parse(
      [
        'diff --git a/x b/x',
        '--- a/x',
        '+++ b/x',
        `@@ -0,0 +1,${lookAlikes().length} @@`,
        ...lookAlikes().map((l) => `+${l}`),
      ].join('\n'),
    );
    assert.deepEqual(scanner.hits, []);
  });
});
