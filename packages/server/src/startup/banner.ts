/**
 * The start-up banner for a person at a terminal (COHERA_LOG_FORMAT=pretty): where the API and the dashboard
 * are, where the data is, and the one command to run next. Issue 21: a newcomer's `npm start` printed only
 * JSON lines and left them to guess all of it.
 */
import { styleText } from 'node:util';
import type { ReadyFacts } from './ready-facts.ts';

type Style = (text: string) => string;

interface Styles {
  bold: Style;
  dim: Style;
  cyan: Style;
  yellow: Style;
}

/** Colour is decided by configuration (Config.logColor), not by styleText's own look at the stream. */
function styles(color: boolean): Styles {
  const style =
    (format: Parameters<typeof styleText>[0]): Style =>
    (text) =>
      color ? styleText(format, text, { validateStream: false }) : text;
  return { bold: style('bold'), dim: style('dim'), cyan: style('cyan'), yellow: style('yellow') };
}

/** The banner as text (ends with a newline). Pure, so it is tested without a terminal. */
export function renderBanner(facts: ReadyFacts, color: boolean): string {
  const s = styles(color);
  const rows: [string, string][] = [['API', s.cyan(facts.publicUrl)]];
  // Behind a proxy (COHERA_PUBLIC_URL) people use the public address; the socket is worth knowing too.
  if (new URL(facts.publicUrl).origin !== new URL(facts.url).origin) {
    rows.push(['Listening on', facts.url]);
  }
  rows.push(['Dashboard', s.cyan(facts.dashboard)]);
  if (facts.metrics) rows.push(['Metrics', facts.metrics]);
  rows.push([
    'Storage',
    facts.storage === 'sqlite' ? `SQLite, ${facts.location}` : `PostgreSQL, ${facts.location}`,
  ]);
  if (facts.redis) rows.push(['Redis', facts.redis]);
  // With PostgreSQL nothing is kept in the data dir (the master key is then required in the environment).
  if (facts.storage === 'sqlite') rows.push(['Data dir', facts.dataDir]);
  rows.push(['Master key', masterKeyLine(facts, s)]);

  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = [
    '',
    `  ${s.bold(`Cohera ${facts.version}`)} is ready`,
    '',
    ...rows.map(([label, value]) => `  ${s.dim(label.padEnd(width))}${value}`),
    '',
    ...nextStep(facts, s),
    '',
    s.dim('  Stop with Ctrl+C. Logs follow.'),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function masterKeyLine(facts: ReadyFacts, s: Styles): string {
  if (facts.masterKey === 'environment') return 'from COHERA_MASTER_KEY';
  if (facts.masterKey === 'data-dir') return `${facts.masterKeyFile}`;
  // Everything the server encrypts is lost with this file: the warning must not scroll away unnoticed.
  return `${facts.masterKeyFile} ${s.yellow('(generated just now: back it up, or set COHERA_MASTER_KEY)')}`;
}

function nextStep(facts: ReadyFacts, s: Styles): string[] {
  if (facts.hasOrganization) {
    return [
      `  Next: sign in at ${s.cyan(facts.dashboard)} with an owner's email and password,`,
      '  or call the API with an API key: Authorization: Bearer <key>.',
    ];
  }
  const where = [
    'in another terminal',
    facts.bootstrapInThisDirectory ? ', in this directory' : '',
    facts.bootstrapNeeds ? `, with ${facts.bootstrapNeeds}` : '',
    ':',
  ].join('');
  return [
    facts.hasOrganization === null
      ? '  Next, unless it exists: create the first organization, its owner and an admin API key,'
      : '  Next: create the first organization, its owner and an admin API key,',
    `  ${where}`,
    '',
    `    ${s.bold(facts.bootstrapCommand)}`,
  ];
}
