/**
 * The text and JSON reports. Text is for people: one line per finding, then a summary; a heading and
 * advice only on a terminal; colour only on a terminal and never with NO_COLOR. JSON is exactly one
 * document. Neither ever holds a whole key: the redacted form and its SHA-256 identify it.
 */
import { type Finding, keyHash, redact } from './finding.ts';

export interface ScanSummary {
  findings: number;
  /** Distinct keys among the findings. */
  keys: number;
  files_scanned: number;
  binary_skipped: number;
  symlinks_skipped: number;
  unreadable: number;
  /** Commits read with --git, else null. */
  commits_scanned: number | null;
  staged: boolean;
  stdin: boolean;
}

export interface RevokeOutcome {
  base_url: string;
  sent: number;
  received: number;
}

export interface Style {
  color: boolean;
  tty: boolean;
}

const paint = (on: boolean, code: string, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
/**
 * A count with thousands separators, `12,345`. Not `toLocaleString`: its first call loads ICU's locale data,
 * 12 ms of a scan that takes 60 ms in all on a small tree (a pre-commit hook pays it on every commit).
 */
export function grouped(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) {
    const part = digits.slice(Math.max(0, end - 3), end);
    out = out === '' ? part : `${part},${out}`;
  }
  return n < 0 ? `-${out}` : out;
}

const plural = (n: number, one: string, many = `${one}s`) => `${grouped(n)} ${n === 1 ? one : many}`;

export function findingJson(finding: Finding) {
  return {
    source: finding.source,
    path: finding.path,
    line: finding.line,
    column: finding.column,
    commit: finding.commit,
    commit_short: finding.commit?.slice(0, 7) ?? null,
    mode: finding.mode,
    key: redact(finding.key),
    prefix: finding.key.slice(0, 12),
    last4: finding.key.slice(-4),
    key_sha256: keyHash(finding.key),
  };
}

export function jsonReport(findings: Finding[], summary: ScanSummary, revoke: RevokeOutcome | null): string {
  return `${JSON.stringify({ findings: findings.map(findingJson), summary, revoke })}\n`;
}

function where(summary: ScanSummary): string {
  const parts: string[] = [];
  if (summary.files_scanned > 0 || (summary.commits_scanned === null && !summary.staged && !summary.stdin))
    parts.push(plural(summary.files_scanned, 'file'));
  if (summary.commits_scanned !== null) parts.push(plural(summary.commits_scanned, 'commit'));
  if (summary.staged) parts.push('the staged changes');
  if (summary.stdin) parts.push('standard input');
  return parts.join(', ');
}

export function textReport(
  findings: Finding[],
  summary: ScanSummary,
  revoke: RevokeOutcome | null,
  style: Style,
): string {
  const lines: string[] = [];
  if (style.tty && findings.length > 0) lines.push(paint(style.color, '1', 'Cohera API keys found:'), '');
  for (const finding of findings) {
    const place = `${finding.path}:${finding.line}:${finding.column}`;
    const origin = finding.commit
      ? `  ${paint(style.color, '33', `(commit ${finding.commit.slice(0, 7)})`)}`
      : finding.source === 'staged'
        ? `  ${paint(style.color, '33', '(staged)')}`
        : '';
    lines.push(
      `${paint(style.color, '1', place)}  ${paint(style.color, '31', redact(finding.key))}${origin}`,
    );
  }
  if (findings.length > 0) lines.push('');
  const skipped: string[] = [];
  if (summary.binary_skipped > 0) skipped.push(`${plural(summary.binary_skipped, 'binary file')} skipped`);
  if (summary.symlinks_skipped > 0)
    skipped.push(`${plural(summary.symlinks_skipped, 'symlink')} not followed`);
  if (summary.unreadable > 0) skipped.push(`${plural(summary.unreadable, 'file')} unreadable`);
  const tail = skipped.length > 0 ? `; ${skipped.join(', ')}` : '';
  lines.push(
    findings.length === 0
      ? `No Cohera API key found in ${where(summary)}${tail}.`
      : `${plural(findings.length, 'finding')} of ${plural(summary.keys, 'distinct key')} in ${where(summary)}${tail}.`,
  );
  if (revoke) {
    lines.push(
      `Sent ${plural(revoke.sent, 'key')} to ${revoke.base_url}/v1/credentials/revoke (received: ${revoke.received}); every valid one is revoked or flagged per its organization's policy.`,
    );
  } else if (style.tty && findings.length > 0) {
    lines.push(
      '',
      'Treat every key above as leaked: revoke it (`cohera scan --revoke`, or roll it in the dashboard),',
      'then remove it from the files, and from the history if it was committed.',
    );
  }
  return `${lines.join('\n')}\n`;
}
