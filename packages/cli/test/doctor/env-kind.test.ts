/** What an env file is for, from its name: the rule `keys_per_environment` applies (docs/cli.md). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envKind, isEnvFileName } from '../../src/doctor/project/env-files.ts';

test('env file names map to the environment they serve', () => {
  const cases: Record<string, string> = {
    '.env': 'development',
    '.env.local': 'development',
    '.env.development': 'development',
    '.env.development.local': 'development',
    '.env.dev': 'development',
    '.env.test': 'development',
    '.env.test.local': 'development',
    '.env.production': 'production',
    '.env.production.local': 'production',
    '.env.PROD': 'production',
    '.env.staging': 'staging',
    '.env.example': 'template',
    '.env.sample': 'template',
    '.env.production.example': 'template',
    '.env.ci': 'other',
  };
  for (const [name, kind] of Object.entries(cases)) assert.equal(envKind(name), kind, name);
});

test('only .env and .env.* are env files', () => {
  for (const name of ['.env', '.env.local', '.env.production']) assert.ok(isEnvFileName(name), name);
  for (const name of ['.env.', '.envrc', 'env', 'app.env', '.environment'])
    assert.ok(!isEnvFileName(name), name);
});
