/**
 * The e-mail outbox and its SMTP sender (docs/team.md#e-mail), against a real SMTP sink on 127.0.0.1 (the
 * `smtp-server` package): an invitation is delivered with its link; a relay that refuses is retried with
 * backoff and the error is kept; without COHERA_SMTP_URL messages stay in the outbox; the settings are
 * validated at start-up.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { ManualClock } from '../../src/clock.ts';
import { ConfigError } from '../../src/config.ts';
import { enqueueEmail } from '../../src/email/outbox.ts';
import { EmailSender, MAX_ATTEMPTS, redactSmtpUrl, retryDelayMs } from '../../src/email/sender.ts';
import { createOrg, startTestApp, type TestApp } from '../support/app.ts';
import { testConfig } from '../support/config.ts';
import { forEachEngine } from '../support/engines.ts';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP sink on loopback that keeps what it receives, or refuses every message when `refuse` is set. */
async function startSink(options: { refuse?: boolean } = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Loopback only: the relay's credentials (when a test sends some) travel in the clear to the sink.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (options.refuse) {
          const error = Object.assign(new Error('mailbox unavailable'), { responseCode: 450 });
          callback(error);
          return;
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    received,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Quoted-printable soft line breaks undone, so a long link can be found in the raw message. */
const unfold = (raw: string) => raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');

forEachEngine('team: e-mail outbox and SMTP delivery', (_engine, handle) => {
  describe('with an SMTP relay', () => {
    let sink: Awaited<ReturnType<typeof startSink>>;
    let t: TestApp;
    before(async () => {
      sink = await startSink();
      t = await startTestApp(handle(), {
        env: { COHERA_SMTP_URL: sink.url, COHERA_SMTP_FROM: 'Cohera <team@example.com>' },
      });
    });
    after(async () => {
      await t?.close();
      await sink?.close();
    });

    test('an invitation is delivered with its link, and marked sent', async () => {
      const org = await createOrg(t.app);
      const email = `smtp.${Date.now()}@example.com`;
      const res = await t.call(org.adminKey, 'POST', '/v1/organization/invitations', {
        email,
        role: 'member',
      });
      assert.equal(res.statusCode, 201, res.body);
      const acceptUrl = res.json<{ accept_url: string }>().accept_url;
      await waitFor(() => sink.received.some((m) => m.to.includes(email)), 'the invitation e-mail');
      const message = sink.received.find((m) => m.to.includes(email));
      assert.equal(message?.from, 'team@example.com');
      assert.ok(unfold(message?.raw ?? '').includes(acceptUrl), 'the message carries the accept link');
      await waitFor(async () => {
        const row = await t.app.deps.db
          .selectFrom('email_outbox')
          .select(['sent_at', 'attempts'])
          .where('to', '=', email)
          .executeTakeFirstOrThrow();
        return row.sent_at !== null && row.attempts === 1;
      }, 'the row marked sent');
    });

    test('a removal notice is delivered to the person removed', async () => {
      const org = await createOrg(t.app);
      const email = `leaving.${Date.now()}@example.com`;
      const invited = await t.call(org.adminKey, 'POST', '/v1/organization/invitations', {
        email,
        role: 'viewer',
      });
      const token =
        new URL(invited.json<{ accept_url: string }>().accept_url).searchParams.get('token') ?? '';
      const password = 'a long enough passphrase';
      const accepted = await t.inject({
        method: 'POST',
        url: '/invitations/accept',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token, password, password_confirmation: password }).toString(),
      });
      assert.equal(accepted.statusCode, 303, accepted.body);
      const user = await t.app.deps.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      const removed = await t.call(org.adminKey, 'DELETE', `/v1/organization/members/${user.id}`);
      assert.equal(removed.statusCode, 204, removed.body);
      await waitFor(
        () => sink.received.some((m) => m.to.includes(email) && m.raw.includes('removed from')),
        'the removal notice',
      );
    });
  });

  describe('a relay that refuses', () => {
    let sink: Awaited<ReturnType<typeof startSink>>;
    let t: TestApp;
    let clock: ManualClock;
    before(async () => {
      sink = await startSink({ refuse: true });
      clock = new ManualClock(Date.now());
      t = await startTestApp(handle(), { clock });
    });
    after(async () => {
      await t?.close();
      await sink?.close();
    });

    test('is retried with backoff, keeps the error, gives up after the last attempt; the password is never kept', async () => {
      const url = sink.url.replace('smtp://', 'smtp://mailer:s3cret-relay-pass@');
      const sender = new EmailSender({
        db: t.app.deps.db,
        clock,
        log: t.app.log,
        smtpUrl: url,
        from: 'Cohera <team@example.com>',
        pollIntervalMs: 20,
      });
      const log = { info() {} };
      const id = await enqueueEmail(
        t.app.deps.db,
        { to: 'nobody@example.com', subject: 'Hello', text: 'Hi' },
        clock.now(),
        log,
        true,
      );
      sender.start();
      try {
        const row = () =>
          t.app.deps.db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        await waitFor(async () => (await row()).attempts === 1, 'the first attempt');
        const first = await row();
        assert.equal(first.sent_at, null);
        assert.match(first.last_error ?? '', /mailbox unavailable|450/);
        assert.ok(!(first.last_error ?? '').includes('s3cret-relay-pass'));
        assert.equal(Date.parse(first.next_attempt_at ?? '') - clock.now(), retryDelayMs(1));
        await sleep(100);
        assert.equal((await row()).attempts, 1, 'not retried before its time');
        for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
          clock.advance(retryDelayMs(attempt - 1));
          sender.wake();
          await waitFor(async () => (await row()).attempts === attempt, `attempt ${attempt}`);
        }
        clock.advance(retryDelayMs(MAX_ATTEMPTS) * 2);
        sender.wake();
        await sleep(200);
        assert.equal((await row()).attempts, MAX_ATTEMPTS, 'no attempt after the last');
      } finally {
        await sender.stop();
      }
      assert.equal(redactSmtpUrl(url).includes('s3cret-relay-pass'), false);
    });
  });
});

describe('team: e-mail settings', () => {
  test('COHERA_SMTP_URL must be smtp:// or smtps://; COHERA_SMTP_FROM one address', () => {
    const config = testConfig({ COHERA_SMTP_URL: 'smtps://u:p@smtp.example.com:465' });
    assert.equal(config.smtpUrl, 'smtps://u:p@smtp.example.com:465');
    assert.match(config.smtpFrom, /@/);
    assert.equal(testConfig().smtpUrl, null);
    assert.throws(
      () => testConfig({ COHERA_SMTP_URL: 'http://smtp.example.com' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.some((p) => p.includes('COHERA_SMTP_URL')),
    );
    assert.throws(
      () => testConfig({ COHERA_SMTP_FROM: 'nobody' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.some((p) => p.includes('COHERA_SMTP_FROM')),
    );
  });
});
