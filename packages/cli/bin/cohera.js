#!/usr/bin/env node
// Cohera runs its TypeScript sources directly (Node ≥ 22.18 strips types). Through npm (`npx cohera`,
// `npm start`) the pinned Node 24 from the `node` devDependency is used even where the system Node is older.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `cohera needs Node.js >= 22.18 (this is ${process.versions.node}); run it as \`npx cohera\` from the repository.`,
  );
  process.exit(1);
}
// node:sqlite still prints an ExperimentalWarning on every start; it is expected here and only noise.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith('SQLite is an experimental feature')) return;
  return emitWarning.call(process, warning, ...rest);
};
// oidc-provider warns at import when Node is not an LTS release. The newest Node 24 the npm registry's
// `node` package offers is 24.9.0, from before 24 became LTS (24.11); the engine works on it (its tests here
// pass), so on 24.9 that one line is noise too. Any other warning it prints still shows.
const { stripVTControlCharacters } = await import('node:util');
const warn = console.warn;
console.warn = (...args) => {
  if (
    process.versions.node === '24.9.0' &&
    // On a terminal the text arrives coloured (it starts with an escape code): compare it without them.
    stripVTControlCharacters(String(args[0])).startsWith('oidc-provider WARNING: Unsupported runtime')
  )
    return;
  warn(...args);
};
// Every command's start-up is mostly stripping types from its modules; Node's compile cache keeps the result
// (in the user's own cache directory, not a shared /tmp one), so the next run starts several times faster.
const { enableCompileCache } = await import('node:module');
const { homedir } = await import('node:os');
const { join } = await import('node:path');
enableCompileCache?.(
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cohera', 'compile-cache'),
);
const [first] = process.argv.slice(2);
if (first === 'scan') {
  // `cohera scan` skips commander and the SDK (its own parser, src/scan): a pre-commit hook runs it on
  // every commit, where ~40 ms matter.
  await (await import('../src/scan/main.ts')).main(process.argv.slice(3));
} else if ((first === '--version' || first === '-V') && process.argv.length === 3) {
  // Answered without loading the command tree.
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else await import('../src/bin.ts');
