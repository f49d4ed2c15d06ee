/**
 * The runtime the project promises (issue 21, items 1 and 2): the README's Node claim agrees with every
 * package's `engines`, the tests run on the Node the project pins, and loading the server prints nothing —
 * no "Unsupported runtime" from oidc-provider (it warns on a Node that is not an LTS release) and no
 * ExperimentalWarning from node:sqlite. Both warnings went away by pinning an LTS Node 24 on which
 * node:sqlite no longer warns, so nothing silences them: if a future pin brings either back, this fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const readJson = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8')) as PackageJson;

interface PackageJson {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
}

const WORKSPACES = ['packages/shared', 'packages/server', 'packages/cli'];

test('the README states the Node version that the engines fields require', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const claim = /You need Node\.js (\d+\.\d+) or newer/.exec(readme);
  assert.ok(claim, 'the README says which Node.js it needs, as "You need Node.js X.Y or newer"');
  const required = `>=${claim[1]}`;
  assert.equal(readJson('package.json').engines?.node, required, 'the root package.json engines');
  for (const workspace of WORKSPACES) {
    assert.equal(readJson(`${workspace}/package.json`).engines?.node, required, `${workspace} engines`);
  }
});

test('tests run on the pinned Node, an LTS release', () => {
  const pinned = readJson('package.json').devDependencies?.node;
  assert.ok(pinned && /^\d+\.\d+\.\d+$/.test(pinned), 'the node devDependency is an exact version');
  assert.equal(process.version, `v${pinned}`, 'npm scripts put the pinned Node first on PATH');
  assert.ok(process.release.lts, `Node ${process.version} is an LTS release`);
});

test('loading the server and opening SQLite prints no warning', async () => {
  const script = [
    `await import(${JSON.stringify(join(root, 'packages/server/src/index.ts'))});`,
    "await import('oidc-provider');",
    "const { DatabaseSync } = await import('node:sqlite');",
    "new DatabaseSync(':memory:').close();",
    "process.stdout.write('loaded');",
  ].join('\n');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '--eval', script],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0' } },
  );
  assert.equal(stdout, 'loaded');
  assert.equal(stderr, '', 'nothing on stderr');
});
