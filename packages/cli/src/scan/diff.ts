/**
 * Keys in a unified diff with no context (`-U0`), as `git log -p` and `git diff --cached` print it: only
 * added (`+`) lines are searched, since a key that was ever committed shows up in the commit that added
 * it, whether or not a later commit deleted it. Each finding carries the path and its line in the new
 * file (from the hunk header), and the commit when commits are marked with `\x01<sha>` lines.
 *
 * The parser works on bytes and looks at one byte per line; a line is searched only when one of the key
 * prefixes occurs in it. Hunk headers say how many `-` and `+` lines follow, which is how a `+` line whose
 * text happens to be `++ b/x` is told from a file header.
 */
import type { Mode } from '@cohera/shared';
import { keysInLine, prefixOffsets } from './detect.ts';

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const COMMIT_MARK = 0x01;
const HUNK = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

export interface DiffHit {
  key: string;
  mode: Mode;
  path: string;
  line: number;
  column: number;
  commit: string | null;
}

/** Git's C-style quoting of a path with special characters: `"b/caf\303\251 \"x\""`. */
function unquote(text: string): string {
  if (!text.startsWith('"')) return text;
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i] as string;
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'));
      continue;
    }
    const next = text[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export class DiffScanner {
  #commit: string | null = null;
  #path: string | null = null;
  #nextLine = 0;
  #minusLeft = 0;
  #plusLeft = 0;
  #pending: Buffer[] = [];
  #seen = new Set<string>();
  readonly hits: DiffHit[] = [];
  commits = 0;

  /** Feeds the next bytes of the diff. */
  push(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    if (newline === -1) {
      this.#pending.push(chunk);
      return;
    }
    if (this.#pending.length > 0) {
      // The line that began in earlier chunks: joined once, however many chunks it spans.
      const line = Buffer.concat([...this.#pending, chunk.subarray(0, newline)]);
      this.#pending = [];
      this.#line(line, 0, line.length, true);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    // Where the prefixes occur in this chunk, so that most `+` lines need no search at all.
    const candidates = prefixOffsets(chunk, start);
    let next = 0;
    while (newline !== -1) {
      while (next < candidates.length && (candidates[next] as number) < start) next++;
      const hasCandidate = next < candidates.length && (candidates[next] as number) < newline;
      this.#line(chunk, start, newline, hasCandidate);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start));
  }

  /** The end of the diff (a last line without a newline). */
  end(): void {
    if (this.#pending.length === 0) return;
    const line = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#line(line, 0, line.length, true);
  }

  #line(buffer: Buffer, start: number, end: number, hasCandidate: boolean): void {
    const first = buffer[start];
    if (this.#minusLeft > 0 || this.#plusLeft > 0) {
      if (first === PLUS && this.#plusLeft > 0) {
        this.#plusLeft--;
        const line = this.#nextLine++;
        if (hasCandidate) this.#added(buffer, start + 1, end, line);
        return;
      }
      if (first === MINUS && this.#minusLeft > 0) {
        this.#minusLeft--;
        return;
      }
      if (first === 0x5c) return; // "\ No newline at end of file"
      // Anything else ends the hunk early (it never should): read it as a header.
      this.#minusLeft = 0;
      this.#plusLeft = 0;
    }
    if (first === COMMIT_MARK) {
      this.#commit = buffer.toString('latin1', start + 1, end).trim();
      this.#path = null;
      this.commits++;
      return;
    }
    if (first === 0x40 /* @ */) {
      const match = HUNK.exec(buffer.toString('latin1', start, Math.min(end, start + 100)));
      if (!match) return;
      this.#minusLeft = match[1] === undefined ? 1 : Number(match[1]);
      this.#nextLine = Number(match[2]);
      this.#plusLeft = match[3] === undefined ? 1 : Number(match[3]);
      return;
    }
    if (first === 0x64 /* d */ && buffer.toString('latin1', start, start + 11) === 'diff --git ') {
      this.#path = null;
      return;
    }
    if (first === PLUS && buffer.toString('latin1', start, start + 4) === '+++ ') {
      const name = unquote(buffer.toString('utf8', start + 4, end).replace(/\t$/, ''));
      // Callers pass --dst-prefix=b/, whatever diff.noprefix or diff.mnemonicPrefix say.
      this.#path = name === '/dev/null' ? null : name.startsWith('b/') ? name.slice(2) : name;
    }
  }

  #added(buffer: Buffer, start: number, end: number, line: number): void {
    const path = this.#path ?? '';
    for (const found of keysInLine(buffer, start, end)) {
      const id = `${found.key}\0${this.#commit ?? ''}\0${path}`;
      if (this.#seen.has(id)) continue; // the same key twice in one file of one commit: once
      this.#seen.add(id);
      this.hits.push({ ...found, path, line, commit: this.#commit });
    }
  }
}
