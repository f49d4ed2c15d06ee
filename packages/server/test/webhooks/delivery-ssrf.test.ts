/**
 * The webhook SSRF guard (DESIGN §5.5): with COHERA_WEBHOOKS_ALLOW_PRIVATE off, no private, loopback,
 * link-local, CGNAT, unique-local, unspecified or multicast address is accepted, in any spelling (decimal,
 * octal, hex, short IPv4, IPv4-mapped IPv6), neither when the URL is saved nor when a delivery connects: a
 * hostname resolving to 127.0.0.1 (`localhost`) is refused at connect time, and the listener it would have
 * reached sees no connection at all.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sendWebhook } from '../../src/webhooks/delivery/send.ts';
import {
  checkWebhookUrl,
  guardedLookup,
  isPublicAddress,
  WebhookAddressError,
} from '../../src/webhooks/delivery/ssrf.ts';

const PRIVATE_URLS = [
  'https://127.0.0.1/',
  'https://127.1.2.3/',
  'https://10.0.0.1/',
  'https://172.16.0.1/',
  'https://172.31.255.255/',
  'https://192.168.1.1/',
  'https://169.254.169.254/latest/meta-data/',
  'https://100.64.0.1/',
  'https://0.0.0.0/',
  'https://224.0.0.1/',
  'https://255.255.255.255/',
  'https://[::1]/',
  'https://[::]/',
  'https://[fc00::1]/',
  'https://[fd12:3456::1]/',
  'https://[fe80::1]/',
  'https://[ff02::1]/',
  'https://[::ffff:127.0.0.1]/',
  'https://[::ffff:7f00:1]/',
  'https://[::ffff:10.0.0.1]/',
  'https://[::ffff:169.254.169.254]/',
  'https://[64:ff9b::7f00:1]/',
  // Other spellings of 127.0.0.1 that resolvers and URL parsers accept.
  'https://2130706433/',
  'https://0177.0.0.1/',
  'https://0x7f000001/',
  'https://0x7f.0.0.1/',
  'https://127.1/',
  'https://017700000001/',
  'https://localhost/',
  'https://LOCALHOST./',
  'https://api.localhost/',
];

describe('webhook URLs at creation (checkWebhookUrl)', () => {
  for (const url of PRIVATE_URLS) {
    test(`refuses ${url}`, () => {
      assert.equal(checkWebhookUrl(url, false), 'must not point to a private address');
    });
  }
  test('accepts public https URLs', () => {
    for (const url of ['https://hooks.example.com/x', 'https://8.8.8.8/', 'https://[2606:4700::1111]/']) {
      assert.equal(checkWebhookUrl(url, false), null, url);
    }
  });
  test('refuses http://, credentials, fragments and non-URLs', () => {
    assert.equal(checkWebhookUrl('http://hooks.example.com/', false), 'must be an https:// URL');
    assert.equal(checkWebhookUrl('ftp://hooks.example.com/', true), 'must be an http:// or https:// URL');
    assert.match(checkWebhookUrl('https://user:pw@hooks.example.com/', false) ?? '', /user name/);
    assert.match(checkWebhookUrl('https://hooks.example.com/#x', false) ?? '', /fragment/);
    assert.match(checkWebhookUrl('not a url', false) ?? '', /absolute URL/);
  });
  test('COHERA_WEBHOOKS_ALLOW_PRIVATE allows http:// and private addresses', () => {
    assert.equal(checkWebhookUrl('http://127.0.0.1:8080/hook', true), null);
    assert.equal(checkWebhookUrl('http://localhost/hook', true), null);
  });
});

describe('addresses (isPublicAddress)', () => {
  test('only public unicast is public', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(isPublicAddress(address), true, address);
    }
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.0.1',
      '169.254.169.254',
      '100.100.100.200',
      '0.0.0.0',
      '239.1.1.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      'ff05::1',
      '::ffff:127.0.0.1',
      '::ffff:192.168.0.1',
      '2002:7f00:1::1',
      'not an address',
    ]) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });
});

describe('the address actually connected (send with the guard on)', () => {
  let listener: Server;
  let port = 0;
  let connections = 0;
  before(async () => {
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  const attempt = (url: string) =>
    sendWebhook({
      url,
      messageId: 'msg_0000000000000000000000',
      body: '{}',
      secrets: [Buffer.alloc(32, 1)],
      timestampSeconds: 1,
      timeoutMs: 5000,
      allowPrivate: false,
      signal: new AbortController().signal,
    });

  for (const host of ['localhost', '127.0.0.1', '[::ffff:127.0.0.1]', '2130706433', '0177.0.0.1']) {
    test(`https://${host}:<port> is refused before connecting`, async () => {
      const result = await attempt(`https://${host}:${port}/hook`);
      assert.equal(result.outcome, 'address_refused', JSON.stringify(result));
      assert.match(result.error ?? '', /is not a public address/);
      assert.equal(result.status, null);
      assert.equal(connections, 0, 'nothing reached the private listener');
    });
  }

  test('http:// is refused without the flag', async () => {
    const result = await attempt(`http://127.0.0.1:${port}/hook`);
    assert.equal(result.outcome, 'address_refused');
    assert.equal(connections, 0);
  });

  test('the lookup refuses a name when any of its addresses is private', async () => {
    const error = await new Promise<Error | null>((resolve) =>
      guardedLookup('localhost', { all: true }, (err) => resolve(err)),
    );
    assert.ok(error instanceof WebhookAddressError, String(error));
  });
});
