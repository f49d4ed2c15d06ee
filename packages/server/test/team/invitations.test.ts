/**
 * Invitations end to end on every engine (docs/team.md#invitations): creating, listing, replacing and
 * revoking them; accepting as a new person (choosing a password) and as someone with an account in another
 * org (signing in), landing signed in to the inviting org; single use, expiry, withdrawal, guessing; who may
 * invite whom; the e-mail in the outbox; the token never in a log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../src/clock.ts';
import {
  capturedLogs,
  createKey,
  createMember,
  createOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from '../support/app.ts';
import { forEachEngine } from '../support/engines.ts';
import { assertProblem } from '../support/problem.ts';
import { auditEvents, signIn } from './helpers.ts';

interface CreatedInvitation {
  id: string;
  object: string;
  email: string;
  role: string;
  created_at: string;
  expires_at: string;
  status: string;
  accept_url: string;
}

const DAY = 86_400_000;

function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get('token');
  assert.ok(token, 'the accept URL carries a token');
  return token;
}

forEachEngine('team: invitations', (_engine, handle) => {
  let t: TestApp;
  let clock: ManualClock;
  let org: TestOrg;
  let other: TestOrg;
  let counter = 0;
  before(async () => {
    clock = new ManualClock(Date.now());
    t = await startTestApp(handle(), { clock });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
  });
  after(() => t.close());

  const freshEmail = () => `invitee${++counter}.${Date.now()}@example.com`;

  async function invite(key: string, email: string, role = 'member'): Promise<CreatedInvitation> {
    const res = await t.call(key, 'POST', '/v1/organization/invitations', { email, role });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<CreatedInvitation>();
  }

  const page = (token: string) => t.inject({ method: 'GET', url: `/invitations/accept?token=${token}` });
  const accept = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    t.inject({
      method: 'POST',
      url: '/invitations/accept',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(fields).toString(),
    });

  function sessionCookie(res: LightMyRequestResponse): string {
    const cookie = res.cookies.find((c) => c.name === 'cohera_session');
    assert.ok(cookie, 'accepting signs the person in');
    return cookie.value;
  }

  test('an invitation: 201 with a single-use link, 7 days, listed as pending, e-mailed via the outbox', async () => {
    const email = freshEmail();
    const created = await invite(org.adminKey, email.toUpperCase(), 'viewer');
    assert.match(created.id, /^inv_/);
    assert.equal(created.object, 'invitation');
    assert.equal(created.email, email, 'stored lower-cased');
    assert.equal(created.role, 'viewer');
    assert.equal(Date.parse(created.expires_at) - Date.parse(created.created_at), 7 * DAY);
    assert.ok(created.accept_url.startsWith(`${t.config.publicUrl}/invitations/accept?token=`));
    assert.match(tokenOf(created.accept_url), /^[A-Za-z0-9_-]{43}$/);
    const list = await t.call(org.adminKey, 'GET', '/v1/organization/invitations');
    const listed = list.json<{ data: CreatedInvitation[] }>().data.find((i) => i.id === created.id);
    assert.equal(listed?.status, 'pending');
    assert.equal(
      (listed as unknown as Record<string, unknown> | undefined)?.accept_url,
      undefined,
      'the link is shown once',
    );
    const stored = await t.app.deps.db
      .selectFrom('invitations')
      .select('token_hash')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, tokenOf(created.accept_url), 'only a hash is kept');
    const mail = await t.app.deps.db
      .selectFrom('email_outbox')
      .selectAll()
      .where('to', '=', email)
      .executeTakeFirstOrThrow();
    assert.ok(mail.text.includes(created.accept_url), 'the e-mail carries the link');
    assert.equal(mail.sent_at, null, 'no SMTP configured: it stays in the outbox');
    const events = await auditEvents(t, org.adminKey, 'invitation.created');
    const event = events.find((e) => e.target?.id === created.id);
    assert.equal(event?.metadata.email, email);
    assert.ok(!JSON.stringify(event).includes(tokenOf(created.accept_url)));
  });

  test('the token never reaches a log; the log says the e-mail waits for SMTP', async () => {
    const created = await invite(org.adminKey, freshEmail());
    const token = tokenOf(created.accept_url);
    assert.equal((await page(token)).statusCode, 200);
    const leaked = capturedLogs.filter((line) => line.includes(token));
    assert.deepEqual(leaked, []);
    const queued = capturedLogs.find(
      (line) => line.includes('"email_queued"') && line.includes(created.email),
    );
    assert.ok(queued, 'the message is logged');
    assert.match(queued, /\[redacted\]/);
    assert.match(queued, /COHERA_SMTP_URL/);
  });

  test('a new person chooses a password, joins with the role and lands in the dashboard signed in', async () => {
    const created = await invite(org.adminKey, freshEmail(), 'member');
    const token = tokenOf(created.accept_url);
    const shown = await page(token);
    assert.equal(shown.statusCode, 200);
    assert.match(String(shown.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(shown.headers['x-frame-options'], 'DENY');
    assert.equal(shown.headers['referrer-policy'], 'same-origin');
    assert.match(shown.body, /name="password_confirmation"/);
    assert.match(shown.body, /readonly/);
    const short = await accept({ token, password: 'short', password_confirmation: 'short' });
    assert.equal(short.statusCode, 400);
    assert.match(short.body, /at least 12 characters/);
    const mismatch = await accept({
      token,
      password: 'a long passphrase',
      password_confirmation: 'another one!',
    });
    assert.equal(mismatch.statusCode, 400);
    const password = 'correct horse battery staple';
    const res = await accept({ token, password, password_confirmation: password });
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, '/dashboard/');
    const cookie = sessionCookie(res);
    const info = await t.inject({ method: 'GET', url: '/auth/session', cookies: { cohera_session: cookie } });
    assert.equal(info.json().org.id, org.orgId);
    assert.equal(info.json().role, 'member');
    assert.equal(info.json().user.email, created.email);
    const login = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: created.email, password },
    });
    assert.equal(login.statusCode, 200, 'the chosen password signs in');
    const accepted = (await auditEvents(t, org.adminKey, 'invitation.accepted')).find(
      (e) => e.target?.id === created.id,
    );
    assert.equal(accepted?.metadata.new_user, true);
    assert.equal(accepted?.actor.kind, 'user');
    const pending = await t.call(org.adminKey, 'GET', '/v1/organization/invitations?limit=100');
    assert.ok(!pending.json<{ data: CreatedInvitation[] }>().data.some((i) => i.id === created.id));

    const again = await accept({ token, password, password_confirmation: password });
    assert.equal(again.statusCode, 410, 'single use');
    assert.match(again.body, /already been used/);
    assert.equal((await page(token)).statusCode, 410);
  });

  test('someone with an account in another org signs in and joins; the session is the inviting org’s', async () => {
    const person = await createMember(t, other, 'admin');
    const created = await invite(org.adminKey, person.email, 'viewer');
    const token = tokenOf(created.accept_url);
    const shown = await page(token);
    assert.match(shown.body, /Sign in and join/);
    assert.doesNotMatch(shown.body, /password_confirmation/);
    const wrong = await accept({ token, password: 'not the password' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /not the password/);
    const res = await accept({ token, password: person.password });
    assert.equal(res.statusCode, 303, res.body);
    const info = await t.inject({
      method: 'GET',
      url: '/auth/session',
      cookies: { cohera_session: sessionCookie(res) },
    });
    assert.equal(info.json().org.id, org.orgId);
    assert.equal(info.json().role, 'viewer');
    const stillThere = await t.call(other.adminKey, 'GET', '/v1/organization/members?limit=100');
    assert.ok(
      stillThere.json<{ data: { user_id: string }[] }>().data.some((m) => m.user_id === person.userId),
    );
  });

  test('expired after 7 days, withdrawn when revoked or replaced: clear pages, and nobody joins', async () => {
    const late = await invite(org.adminKey, freshEmail());
    clock.advance(7 * DAY + 1000);
    const expired = await page(tokenOf(late.accept_url));
    assert.equal(expired.statusCode, 410);
    assert.match(expired.body, /expired/);
    const listed = await t.call(org.adminKey, 'GET', '/v1/organization/invitations?limit=100');
    assert.equal(
      listed.json<{ data: CreatedInvitation[] }>().data.find((i) => i.id === late.id)?.status,
      'expired',
    );
    const lateAccept = await accept({
      token: tokenOf(late.accept_url),
      password: 'x'.repeat(20),
      password_confirmation: 'x'.repeat(20),
    });
    assert.equal(lateAccept.statusCode, 410);

    const revoked = await invite(org.adminKey, freshEmail());
    const deleted = await t.call(org.adminKey, 'DELETE', `/v1/organization/invitations/${revoked.id}`);
    assert.equal(deleted.statusCode, 204, deleted.body);
    const withdrawn = await page(tokenOf(revoked.accept_url));
    assert.equal(withdrawn.statusCode, 410);
    assert.match(withdrawn.body, /withdrawn/);
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/organization/invitations/${revoked.id}`),
      404,
      'not_found',
    );
    const audit = (await auditEvents(t, org.adminKey, 'invitation.revoked')).find(
      (e) => e.target?.id === revoked.id,
    );
    assert.ok(audit);

    const email = freshEmail();
    const first = await invite(org.adminKey, email, 'viewer');
    const second = await invite(org.adminKey, email, 'member');
    assert.equal((await page(tokenOf(first.accept_url))).statusCode, 410, 'the replaced link is dead');
    assert.equal((await page(tokenOf(second.accept_url))).statusCode, 200);
    const pending = await t.call(org.adminKey, 'GET', '/v1/organization/invitations?limit=100');
    const mine = pending.json<{ data: CreatedInvitation[] }>().data.filter((i) => i.email === email);
    assert.deepEqual(
      mine.map((i) => i.id),
      [second.id],
    );
  });

  test('who may invite: admins but not owners, never an existing member; another org’s invitations are 404', async () => {
    const admin = await createMember(t, org, 'admin');
    const session = await signIn(t, admin);
    assertProblem(
      await session.request('POST', '/v1/organization/invitations', { email: freshEmail(), role: 'owner' }),
      403,
      'forbidden',
    );
    const ok = await session.request('POST', '/v1/organization/invitations', {
      email: freshEmail(),
      role: 'admin',
    });
    assert.equal(ok.statusCode, 201, ok.body);
    const owner = await signIn(t, { ...org });
    const ownerInvite = await owner.request('POST', '/v1/organization/invitations', {
      email: freshEmail(),
      role: 'owner',
    });
    assert.equal(ownerInvite.statusCode, 201, ownerInvite.body);
    const member = await createMember(t, org, 'member');
    const existing = assertProblem(
      await t.call(org.adminKey, 'POST', '/v1/organization/invitations', {
        email: member.email,
        role: 'admin',
      }),
      409,
      'already_member',
    );
    assert.match(existing.detail ?? '', /change their role/);
    const memberSession = await signIn(t, member);
    assertProblem(
      await memberSession.request('POST', '/v1/organization/invitations', {
        email: freshEmail(),
        role: 'viewer',
      }),
      403,
      'insufficient_scope',
    );
    const reader = await createKey(t.app, org, ['read:*']);
    assertProblem(await t.call(reader, 'GET', '/v1/organization/invitations'), 403, 'insufficient_scope');
    assertProblem(
      await t.call(org.adminKey, 'POST', '/v1/organization/invitations', {
        email: 'not-an-email',
        role: 'viewer',
      }),
      400,
      'validation_failed',
      'body/email',
    );
    const theirs = await invite(other.adminKey, freshEmail());
    assertProblem(
      await t.call(org.adminKey, 'DELETE', `/v1/organization/invitations/${theirs.id}`),
      404,
      'not_found',
    );
    const ours = await t.call(org.adminKey, 'GET', '/v1/organization/invitations?limit=100');
    assert.ok(!ours.json<{ data: CreatedInvitation[] }>().data.some((i) => i.id === theirs.id));
    assert.equal((await page(tokenOf(theirs.accept_url))).statusCode, 200, 'untouched');
  });

  test('accepting must come from our page (Origin); malformed and unknown links are 404 pages', async () => {
    const created = await invite(org.adminKey, freshEmail());
    const token = tokenOf(created.accept_url);
    const password = 'a good long passphrase';
    const res = await accept(
      { token, password, password_confirmation: password },
      { origin: 'https://evil.example' },
    );
    assertProblem(res, 403, 'csrf_failed');
    assert.equal((await page(token)).statusCode, 200, 'still pending');
    assert.equal((await page('short')).statusCode, 404);
    assert.equal((await page('A'.repeat(43))).statusCode, 404);
    assert.equal((await t.inject({ method: 'GET', url: '/invitations/accept' })).statusCode, 404);
  });

  describe('guessing invitation links is throttled', () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(handle(), {
        abuseLimits: {
          authFailuresPerMinute: 3,
          loginFailuresPerIpPerMinute: 100,
          loginFailuresPerAccountPer15Minutes: 100,
        },
      });
    });
    after(() => t.close());

    describe('unknown tokens count as failed authentications of the IP', () => {
      test('after the limit the page answers 429 with Retry-After, even for a valid link', async () => {
        const org = await createOrg(t.app);
        const created = await t.call(org.adminKey, 'POST', '/v1/organization/invitations', {
          email: `guess.${Date.now()}@example.com`,
          role: 'viewer',
        });
        const token = tokenOf(created.json<CreatedInvitation>().accept_url);
        for (let i = 0; i < 3; i++) {
          const guess = await t.inject({
            method: 'GET',
            url: `/invitations/accept?token=${'B'.repeat(42)}${i}`,
          });
          assert.equal(guess.statusCode, 404);
        }
        const blocked = await t.inject({ method: 'GET', url: `/invitations/accept?token=${token}` });
        assert.equal(blocked.statusCode, 429);
        assert.ok(Number(blocked.headers['retry-after']) >= 1);
      });
    });
  });
});
