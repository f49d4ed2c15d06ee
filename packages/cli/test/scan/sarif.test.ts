/**
 * `--format sarif`: valid against the SARIF 2.1.0 JSON schema (the OASIS file, vendored in fixtures/ with
 * its notice), and with what GitHub code scanning needs to show an alert: the driver's name and rule,
 * `ruleId`, `level`, a message, a repository-relative URI with a region, and `partialFingerprints` that
 * stay the same when the line moves. The key is never in it whole.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Ajv, type AnySchemaObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { git, initRepo, key, scan, tempDir } from './support.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function sarifValidator() {
  const schema = JSON.parse(
    gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures/sarif-schema-2.1.0.json.gz'))).toString(
      'utf8',
    ),
  ) as Record<string, unknown>;
  // The schema is draft-04, whose `id` is draft-07's `$id`; nothing else it uses differs between the two.
  const { $schema: _draft, id, ...rest } = schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile({ $id: id, ...rest } as AnySchemaObject);
}

interface SarifResult {
  ruleId: string;
  level: string;
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId?: string };
      region: { startLine: number; startColumn: number };
    };
  }>;
  partialFingerprints: Record<string, string>;
  properties?: { commit?: string };
}

interface SarifLog {
  version: string;
  runs: Array<{ tool: { driver: { name: string; rules: Array<{ id: string }> } }; results: SarifResult[] }>;
}

test('SARIF output is valid SARIF 2.1.0 with what GitHub code scanning reads', async (t) => {
  const validate = sarifValidator();
  const dir = tempDir(t);
  initRepo(dir);
  const [inFile, inHistory] = [key(), key('test')];
  mkdirSync(join(dir, 'src dir'));
  writeFileSync(join(dir, 'src dir/app.ts'), `// config\nexport const KEY = '${inFile}';\n`);
  writeFileSync(join(dir, 'old.env'), `K=${inHistory}\n`);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'keys');
  git(dir, 'rm', '-q', 'old.env');
  git(dir, 'commit', '-q', '-m', 'gone');

  for (const [cwd, args] of [
    [dir, []],
    [dir, ['--git']],
    [dir, ['src dir']],
    // From a sub-directory, URIs stay relative to the repository root.
    [join(dir, 'src dir'), []],
  ] as const) {
    const run = await scan(['--format', 'sarif', ...args], { cwd });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout.trimEnd().split('\n').length, 1, 'one document');
    const log = JSON.parse(run.stdout) as SarifLog;
    assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
    assert.equal(log.version, '2.1.0');
    const driver = log.runs[0]?.tool.driver;
    assert.equal(driver?.name, 'cohera scan');
    assert.deepEqual(
      driver?.rules.map((r) => r.id),
      ['cohera/api-key'],
    );
    const results = log.runs[0]?.results ?? [];
    assert.equal(results.length, args[0] === '--git' ? 2 : 1);
    for (const result of results) {
      assert.equal(result.ruleId, 'cohera/api-key');
      assert.equal(result.level, 'error');
      assert.ok(result.message.text.length > 0);
      const location = result.locations[0]?.physicalLocation;
      assert.ok(
        location &&
          !location.artifactLocation.uri.startsWith('/') &&
          !location.artifactLocation.uri.includes('..'),
      );
      assert.ok(location.region.startLine >= 1 && location.region.startColumn >= 1);
      assert.ok(Object.values(result.partialFingerprints).every((v) => /^[0-9a-f]{32}$/.test(v)));
    }
    const app = results.find(
      (r) => r.locations[0]?.physicalLocation.artifactLocation.uri === 'src%20dir/app.ts',
    );
    assert.deepEqual(app?.locations[0]?.physicalLocation.region, {
      startLine: 2,
      startColumn: 21,
      endLine: 2,
      endColumn: 67,
    });
    if (args[0] === '--git') {
      const old = results.find((r) => r.locations[0]?.physicalLocation.artifactLocation.uri === 'old.env');
      assert.match(old?.properties?.commit ?? '', /^[0-9a-f]{40}$/);
    }
    for (const k of [inFile, inHistory]) assert.ok(!run.stdout.includes(k), 'never the whole key');
  }

  // The same key at the same path keeps its fingerprint when lines are added above it.
  const before = JSON.parse((await scan(['--format', 'sarif', 'src dir'], { cwd: dir })).stdout) as SarifLog;
  writeFileSync(join(dir, 'src dir/app.ts'), `// config\n// more\n\nexport const KEY = '${inFile}';\n`);
  const after = JSON.parse((await scan(['--format', 'sarif', 'src dir'], { cwd: dir })).stdout) as SarifLog;
  assert.deepEqual(
    after.runs[0]?.results[0]?.partialFingerprints,
    before.runs[0]?.results[0]?.partialFingerprints,
  );
  assert.equal(after.runs[0]?.results[0]?.locations[0]?.physicalLocation.region.startLine, 4);

  // Nothing found: still a valid log, with no results.
  const clean = await scan(['--format', 'sarif', tempDir(t)], { cwd: dir });
  assert.equal(clean.code, 0);
  assert.ok(validate(JSON.parse(clean.stdout)), JSON.stringify(validate.errors));
});
