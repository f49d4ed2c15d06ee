/**
 * On a terminal (util-linux `script`; skipped where it is missing): NO_COLOR leaves no escape code, even
 * when the server's code is loaded (oidc-provider prints a coloured "Unsupported runtime" warning on a Node
 * that is not an LTS release; the pinned Node is one, so nothing may print it). Colour itself is tested
 * with a server in ../auth/login.test.ts (whoami).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { hasScript, onTerminal, tempDir } from './support.ts';

describe('on a terminal', { skip: hasScript ? false : 'util-linux script is not installed' }, () => {
  const data = tempDir();
  after(() => data.remove());

  test('an operator command that loads the server: no escape code with NO_COLOR, no runtime warning', async () => {
    const run = await onTerminal(['admin', 'set-tier', '--org', 'org_x'], {
      NO_COLOR: '1',
      COHERA_DATA_DIR: data.path,
    });
    assert.equal(run.code, 2, run.output);
    assert.match(run.output, /--tier must be one of free, pro, enterprise/);
    assert.ok(!run.output.includes('\u001b['), `no escape sequence: ${JSON.stringify(run.output)}`);
    assert.doesNotMatch(run.output, /oidc-provider WARNING/);
  });

  test('help on a terminal with NO_COLOR is plain text', async () => {
    const run = await onTerminal(['keys', '--help'], { NO_COLOR: '1' });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Usage: cohera keys/);
    assert.ok(!run.output.includes('\u001b['));
  });
});
