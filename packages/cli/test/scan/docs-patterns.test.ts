/**
 * The patterns docs/leak-detection.md publishes for other scanners (gitleaks, trufflehog, GitHub's custom
 * pattern, the partner-program regex), read out of the page's code blocks so the page and this test cannot
 * drift: each finds generated keys of both modes in the contexts keys appear in, and none matches a
 * near-miss (wrong prefix, 31 or 33 random characters, inside a longer token). A regex cannot check the
 * CRC, as the page says: a wrong checksum matches the patterns, and only `cohera scan` rejects it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiKeyChecksum } from '@cohera/shared';
import { PUBLISHED_TEST_VECTOR } from '../../src/scan/detect.ts';
import { key, scanJson, tempDir } from './support.ts';

const DOC = readFileSync(join(import.meta.dirname, '../../../../docs/leak-detection.md'), 'utf8');

/** The code blocks of a language, in order. */
function blocks(language: string): string[] {
  return [...DOC.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1] as string,
  );
}

function one(text: string | undefined, pattern: RegExp, what: string): string {
  const match = text === undefined ? null : pattern.exec(text);
  assert.ok(match?.[1], `docs/leak-detection.md: ${what} not found`);
  return match[1];
}

/** Each published pattern as a JavaScript function: the key it finds in a line, or null. */
function publishedPatterns(): Record<string, (line: string) => string | null> {
  const gitleaks = one(blocks('toml')[0], /^regex = '''(.+)'''$/m, 'the gitleaks regex');
  const trufflehog = one(
    blocks('yaml').find((b) => b.startsWith('detectors:')),
    /^ {6}key: '(.+)'$/m,
    'the trufflehog regex',
  );
  const github = blocks('text').find((b) => b.startsWith('Secret format:'));
  const format = one(github, /^Secret format: (.+)$/m, 'the GitHub secret format');
  // GitHub's (Hyperscan's) \A and \z are JavaScript's ^ and $ on one line.
  const before = one(github, /^Before secret: (.+)$/m, 'the GitHub before-secret').replace('\\A', '^');
  const after = one(github, /^After secret: (.+)$/m, 'the GitHub after-secret').replace('\\z', '$');
  const partner = one(DOC, /the regular expression\s+`([^`]+)`/, 'the partner-program regex');
  const first = (source: string) => (line: string) => new RegExp(source).exec(line)?.[1] ?? null;
  const whole = (source: string) => (line: string) => new RegExp(source).exec(line)?.[0] ?? null;
  return {
    gitleaks: first(gitleaks),
    trufflehog: first(trufflehog),
    github: first(`(?:${before})(${format})(?:${after})`),
    partner: whole(partner),
  };
}

test('the published patterns find every key in the places keys appear', () => {
  const patterns = publishedPatterns();
  for (const [name, find] of Object.entries(patterns)) {
    for (const mode of ['live', 'test'] as const) {
      const k = key(mode);
      for (const line of [
        k,
        `COHERA_API_KEY=${k}`,
        `"key": "${k}",`,
        `apiKey: '${k}'`,
        `Bearer ${k}`,
        `${k}\tx`,
      ]) {
        assert.equal(find(line), k, `${name} on ${line}`);
      }
    }
    assert.equal(find(PUBLISHED_TEST_VECTOR), PUBLISHED_TEST_VECTOR, `${name} on the test vector`);
  }
});

test('the published patterns match no near-miss', () => {
  const patterns = publishedPatterns();
  const k = key();
  const random = k.slice(8, 40);
  const r31 = random.slice(1);
  const r33 = `${random}Q`;
  const nearMisses = [
    `ck_prod_${random}${k.slice(40)}`,
    `ck_livE_${random}${k.slice(40)}`,
    `CK_LIVE_${random}${k.slice(40)}`,
    `ck_live_${r31}${apiKeyChecksum(r31)}`, // 31 random characters: 37 in all
    `ck_live_${r33}${apiKeyChecksum(r33)}`, // 33 random characters: 39 in all
    `x${k}`,
    `_${k}`,
    `9${k}`,
    `${k}0`,
    `${k}_`,
    `ck_live-${random}${k.slice(40)}`,
    `ck_live_${random.slice(0, 20)}-${random.slice(21)}${k.slice(40)}`,
  ];
  for (const [name, find] of Object.entries(patterns)) {
    for (const miss of nearMisses) assert.equal(find(miss), null, `${name} must not match ${miss}`);
  }
});

test('a regex cannot check the CRC: a wrong checksum matches the patterns, and only cohera scan rejects it', async (t) => {
  const k = key();
  const wrong = `${k.slice(0, -1)}${k.endsWith('A') ? 'B' : 'A'}`;
  for (const [name, find] of Object.entries(publishedPatterns())) assert.equal(find(wrong), wrong, name);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'x.txt'), `${wrong}\n${k}\n`);
  const report = await scanJson([], { cwd: dir });
  assert.deepEqual(
    report.findings.map((f) => f.line),
    [2],
  );
});
