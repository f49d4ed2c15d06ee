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
