/**
 * docs/errors.md is the public list of error codes: every code in ERROR_CODES must be there with its HTTP
 * status, and the page must not document a code that does not exist (a retired code keeps its entry only
 * while it is still in the table). The problem `type` URLs point at `errors#<code>`, so each code also
 * needs its own `### \`code\`` heading, whose anchor is the code itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, type ErrorCode, PROBLEM_TYPE_BASE } from '../src/errors.ts';

const DOC_PATH = new URL('../../../docs/errors.md', import.meta.url);
const doc = readFileSync(DOC_PATH, 'utf8');
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** The lines of the `## Error codes` section, up to the next level-2 heading. */
function codesSection(): string[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((line) => /^## Error codes\s*$/.test(line));
  assert.ok(start >= 0, 'docs/errors.md has a "## Error codes" section');
  const end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

const section = codesSection();

/** Table rows of the section whose first cell is a code in backticks: code → status cell. */
function tableRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of section) {
    const match = /^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (!match) continue;
    const [, code, status] = match as unknown as [string, string, string];
    assert.ok(!rows.has(code), `\`${code}\` has one table row`);
    rows.set(code, status);
  }
  return rows;
}

/** `### \`code\`` headings of the section: code → the text up to the next heading. */
function headings(): Map<string, string> {
  const found = new Map<string, string>();
  let current: string | null = null;
  for (const line of section) {
    const heading = /^#{3,}\s+(.*)$/.exec(line);
    if (heading) {
      const match = /^`([^`]+)`$/.exec((heading[1] ?? '').trim());
      assert.ok(match, `every heading in "Error codes" is a code in backticks, got: ${line}`);
      current = match[1] as string;
      assert.ok(!found.has(current), `\`${current}\` has one heading`);
      found.set(current, '');
    } else if (current !== null) {
      found.set(current, `${found.get(current)}${line}\n`);
    }
  }
  return found;
}

test('every error code has a table row with its HTTP status', () => {
  const rows = tableRows();
  for (const code of codes) {
    assert.ok(rows.has(code), `docs/errors.md lists \`${code}\` in the error-code table`);
    assert.equal(rows.get(code), String(ERROR_CODES[code].status), `status of \`${code}\``);
  }
});

test('every error code has its own section (the anchor the problem type URL points at)', () => {
  const sections = headings();
  for (const code of codes) {
    const body = sections.get(code);
    assert.ok(body !== undefined, `docs/errors.md has a "### \`${code}\`" heading`);
    assert.match(body, new RegExp(`\\bHTTP ${ERROR_CODES[code].status}\\b`), `section of \`${code}\``);
    assert.ok(body.trim().length > 40, `section of \`${code}\` says what it means and what to do`);
  }
});

test('docs/errors.md documents no code that does not exist', () => {
  for (const code of tableRows().keys()) assert.ok(Object.hasOwn(ERROR_CODES, code), `unknown code ${code}`);
  for (const code of headings().keys()) assert.ok(Object.hasOwn(ERROR_CODES, code), `unknown code ${code}`);
  // Examples anywhere on the page use real codes too.
  for (const match of doc.matchAll(/"code":\s*"([^"]+)"/g)) {
    assert.ok(Object.hasOwn(ERROR_CODES, match[1] as string), `example uses unknown code ${match[1]}`);
  }
  for (const match of doc.matchAll(new RegExp(`${PROBLEM_TYPE_BASE.replace(/[.#/]/g, '\\$&')}(\\w+)`, 'g'))) {
    assert.ok(Object.hasOwn(ERROR_CODES, match[1] as string), `example type URL names unknown ${match[1]}`);
  }
});
