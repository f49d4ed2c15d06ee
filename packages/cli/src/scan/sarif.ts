/**
 * `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it (docs.github.com, "SARIF support for
 * code scanning"): one run, the tool's driver with its rule, and per finding a result with `ruleId`,
 * `level`, a message, one physical location whose URI is relative to the repository root, and
 * `partialFingerprints`, so that alerts stay one alert across runs. The key appears redacted only.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Finding, redact } from './finding.ts';

export const RULE_ID = 'cohera/api-key';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const RULE = {
  id: RULE_ID,
  name: 'CoheraApiKey',
  shortDescription: { text: 'Cohera API key' },
  fullDescription: {
    text:
      'A Cohera API key (ck_live_… or ck_test_…) with a valid checksum. A key in a file or in the history ' +
      'of a repository must be treated as leaked.',
  },
  help: {
    text:
      'Revoke the key (cohera scan --revoke, or roll it in the dashboard), deploy its replacement from a ' +
      'secret manager or an environment variable, and remove the key from the file and the history.',
    markdown:
      'Revoke the key (`cohera scan --revoke`, or **Roll and revoke** in the dashboard), deploy its ' +
      'replacement from a secret manager or an environment variable, and remove the key from the file and ' +
      'from the history. See [Leak detection](https://docs.cohera.io/leak-detection).',
  },
  defaultConfiguration: { level: 'error' },
  properties: {
    tags: ['security', 'secret', 'external/cwe/cwe-798'],
    precision: 'very-high',
    'security-severity': '9.0',
  },
} as const;

/** A path as a URI reference: each segment percent-encoded, `/` between them. */
function uriOf(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Where a finding is, relative to the repository root (GitHub matches alerts to files by this URI). */
function location(finding: Finding, cwd: string, root: string): { uri: string; uriBaseId?: string } {
  if (finding.source === 'git' || finding.source === 'staged')
    return { uri: uriOf(finding.path), uriBaseId: '%SRCROOT%' };
  if (finding.source === 'stdin') return { uri: 'stdin' };
  const absolute = resolve(cwd, finding.path);
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(absolute).href };
  return { uri: uriOf(rel.split(sep).join('/')), uriBaseId: '%SRCROOT%' };
}

/** The same key at the same path is the same alert, wherever the line moves. */
function fingerprint(finding: Finding, uri: string): string {
  return createHash('sha256').update(`${finding.key}\0${uri}`).digest('hex').slice(0, 32);
}

export function sarifReport(findings: Finding[], cwd: string, root: string): string {
  const results = findings.map((finding) => {
    const artifactLocation = location(finding, cwd, root);
    const where = finding.commit ? ` (added in commit ${finding.commit.slice(0, 7)})` : '';
    return {
      ruleId: RULE_ID,
      ruleIndex: 0,
      level: 'error',
      message: {
        text: `A Cohera ${finding.mode} API key, ${redact(finding.key)}, is here${where}. Treat it as leaked: revoke it.`,
      },
      locations: [
        {
          physicalLocation: {
            artifactLocation,
            region: {
              startLine: finding.line,
              startColumn: finding.column,
              endLine: finding.line,
              endColumn: finding.column + finding.key.length,
            },
          },
        },
      ],
      partialFingerprints: { 'coheraApiKeyLocation/v1': fingerprint(finding, artifactLocation.uri) },
      properties: finding.commit ? { commit: finding.commit } : {},
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cohera scan',
            semanticVersion: VERSION,
            informationUri: 'https://docs.cohera.io/leak-detection',
            rules: [RULE],
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(`${root}${sep}`).href } },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
  return `${JSON.stringify(log)}\n`;
}
