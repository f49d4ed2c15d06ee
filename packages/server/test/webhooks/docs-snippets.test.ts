/**
 * docs/webhooks.md tells receivers how to verify a delivery without the SDK, in plain Node `crypto` and in
 * Python's standard library. People copy those snippets as they are, so they must be right: this test takes
 * them out of the page and runs them against deliveries signed by the server's own `signatureHeader`
 * (the code that signs every real delivery), accepting the genuine ones and refusing the forged, stale,
 * tampered and unsigned ones. It also keeps the page's event catalogue equal to WEBHOOK_EVENT_TYPES.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { WEBHOOK_EVENT_TYPES } from '@cohera/shared';
import { generateWebhookSecret, secretKeyBytes } from '../../src/webhooks/secrets.ts';
import { signatureHeader } from '../../src/webhooks/signature.ts';

const doc = readFileSync(new URL('../../../../docs/webhooks.md', import.meta.url), 'utf8');
const PYTHON = '/usr/bin/python3';

/** The fenced block that follows `<!-- snippet: <name> -->` in the page. */
function snippet(name: string): string {
  const match = new RegExp(`<!-- snippet: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!match?.[1]) throw new Error(`docs/webhooks.md has no snippet "${name}"`);
  return match[1];
}

interface Case {
  name: string;
  body: string;
  headers: Record<string, string>;
  secret: string;
  /** Whether a correct verifier accepts this delivery. */
  valid: boolean;
}

/** A delivery as the server sends it: a minified body, its three headers, signed by `signingSecrets`. */
function delivery(signingSecrets: string[], options: { at?: number; body?: string } = {}) {
  const id = 'msg_0352YVbCUZtArawaabTlEK';
  const body =
    options.body ??
    JSON.stringify({
      id,
      type: 'certificate.created',
      timestamp: '2026-11-23T11:48:18Z',
      // Not only ASCII: a verifier that re-encodes the body (or signs a parsed copy) fails on it.
      data: { id: 'cert_0352YVbCUZtArawaabTlEK', object: 'certificate', issuer: 'TÜV Nord' },
    });
  const timestamp = options.at ?? Math.floor(Date.now() / 1000);
  const signature = signatureHeader(
    signingSecrets.map((secret) => secretKeyBytes(secret)),
    id,
    timestamp,
    body,
  );
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
      'content-type': 'application/json',
    },
  };
}

function cases(): Case[] {
  const current = generateWebhookSecret();
  const previous = generateWebhookSecret();
  const other = generateWebhookSecret();
  const now = Math.floor(Date.now() / 1000);
  const plain = delivery([current]);
  const rotating = delivery([current, previous]);
  const [, , goodSignature] = Object.values(plain.headers);
  return [
    { name: 'a genuine delivery', ...plain, secret: current, valid: true },
    { name: 'during a rotation, with the new secret', ...rotating, secret: current, valid: true },
    { name: 'during a rotation, with the old secret', ...rotating, secret: previous, valid: true },
    { name: 'another endpoint’s secret', ...plain, secret: other, valid: false },
    {
      name: 'a tampered body',
      body: plain.body.replace('TÜV Nord', 'TÜV Süd'),
      headers: plain.headers,
      secret: current,
      valid: false,
    },
    {
      name: 'a body re-serialized with spaces (a parsed and re-encoded body)',
      body: JSON.stringify(JSON.parse(plain.body), null, 1),
      headers: plain.headers,
      secret: current,
      valid: false,
    },
    {
      name: 'a different webhook-id (the id is signed)',
      body: plain.body,
      headers: { ...plain.headers, 'webhook-id': 'msg_0352YVbCUZtArawaabTlEL' },
      secret: current,
      valid: false,
    },
    {
      name: 'a replay 10 minutes later (the timestamp re-signed by nobody)',
      body: plain.body,
      headers: { ...plain.headers, 'webhook-timestamp': String(now + 600) },
      secret: current,
      valid: false,
    },
    {
      name: 'a genuine but old delivery',
      ...delivery([current], { at: now - 600 }),
      secret: current,
      valid: false,
    },
    {
      name: 'a genuine delivery from the future',
      ...delivery([current], { at: now + 600 }),
      secret: current,
      valid: false,
    },
    {
      name: 'no signature header',
      body: plain.body,
      headers: {
        'webhook-id': plain.headers['webhook-id'],
        'webhook-timestamp': plain.headers['webhook-timestamp'],
      },
      secret: current,
      valid: false,
    },
    {
      name: 'a signature of another scheme version',
      body: plain.body,
      headers: { ...plain.headers, 'webhook-signature': String(goodSignature).replace(/^v1,/, 'v1a,') },
      secret: current,
      valid: false,
    },
    {
      name: 'the reference’s scheme: hex HMAC of the body alone, keyed with the secret text',
      body: plain.body,
      headers: {
        ...plain.headers,
        'webhook-signature': createHmac('sha256', current).update(plain.body).digest('hex'),
      },
      secret: current,
      valid: false,
    },
  ];
}

describe('docs/webhooks.md verification snippets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cohera-webhook-docs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the plain Node crypto snippet accepts genuine deliveries and refuses the others', async () => {
    const file = join(dir, 'verify-node.ts');
    writeFileSync(file, snippet('node'));
    const module = (await import(pathToFileURL(file).href)) as {
      verifyWebhook(rawBody: Buffer | string, headers: Record<string, string>, secret: string): unknown;
    };
    assert.equal(typeof module.verifyWebhook, 'function', 'the snippet exports verifyWebhook');
    for (const c of cases()) {
      for (const raw of [Buffer.from(c.body, 'utf8'), c.body]) {
        let event: unknown;
        let error: unknown;
        try {
          event = module.verifyWebhook(raw, c.headers, c.secret);
        } catch (caught) {
          error = caught;
        }
        if (c.valid) {
          assert.equal(error, undefined, `${c.name}: ${String(error)}`);
          assert.deepEqual(event, JSON.parse(c.body), c.name);
        } else {
          assert.ok(error instanceof Error, `${c.name}: accepted`);
          // The error says what failed without echoing the secret.
          assert.ok(!error.message.includes(c.secret.slice(6)), `${c.name}: the secret is in the error`);
        }
      }
    }
  });

  test('the Python snippet accepts genuine deliveries and refuses the others', {
    skip: existsSync(PYTHON) ? false : `${PYTHON} is not installed`,
  }, () => {
    const file = join(dir, 'verify.py');
    // The harness runs every case in one process; receivers' frameworks hand over headers in any case.
    writeFileSync(
      file,
      `${snippet('python')}\n\n` +
        [
          'import sys',
          'results = []',
          'for case in json.load(sys.stdin):',
          '    headers = {name.title(): value for name, value in case["headers"].items()}',
          '    try:',
          '        event = verify_webhook(case["body"].encode("utf-8"), headers, case["secret"])',
          '        results.append({"ok": True, "event": event})',
          '    except ValueError as error:',
          '        results.append({"ok": False, "error": str(error)})',
          'print(json.dumps(results))',
          '',
        ].join('\n'),
    );
    const all = cases();
    const run = spawnSync(PYTHON, [file], { input: JSON.stringify(all), encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(run.stdout) as { ok: boolean; event?: unknown; error?: string }[];
    assert.equal(results.length, all.length);
    all.forEach((c, i) => {
      const result = results[i];
      assert.ok(result, c.name);
      if (c.valid) {
        assert.equal(result.ok, true, `${c.name}: ${result.error}`);
        assert.deepEqual(result.event, JSON.parse(c.body), c.name);
      } else {
        assert.equal(result.ok, false, `${c.name}: accepted`);
        assert.ok(!String(result.error).includes(c.secret.slice(6)), `${c.name}: the secret is in the error`);
      }
    });
  });
});

describe('docs/webhooks.md event catalogue', () => {
  /** The "Events" section: other sections name audit actions, which look like event types. */
  const start = doc.indexOf('\n## Events\n');
  const end = doc.indexOf('\n## ', start + 1);
  const events = doc.slice(start, end);
  /** Types the section shows an example body of: `"type": "<type>"` in a JSON block. */
  const exampled = new Set([...events.matchAll(/"type": "([a-z_]+\.[a-z_]+)"/g)].map((m) => m[1] as string));
  /** First cells of the section's table rows that look like event types. */
  const listed = new Set(
    [...events.matchAll(/^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|/gm)].map((match) => match[1] as string),
  );

  test('the page has an Events section', () => {
    assert.ok(start >= 0 && end > start);
  });

  test('every event type has a row and an example body', () => {
    const types = Object.keys(WEBHOOK_EVENT_TYPES);
    assert.deepEqual(
      types.filter((type) => !listed.has(type)),
      [],
      'types without a row in the table',
    );
    assert.deepEqual(
      types.filter((type) => !exampled.has(type)),
      [],
      'types without an example body',
    );
  });

  test('the page shows no event type the server does not send', () => {
    const unknown = [...new Set([...listed, ...exampled])].filter(
      (type) => !Object.hasOwn(WEBHOOK_EVENT_TYPES, type),
    );
    assert.deepEqual(unknown, []);
  });
});
