/** The dashboard's pure logic: scope selection, expiry choices, chart geometry, redirect URIs, formats. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasScope, SCOPES } from '../../shared/src/scopes.ts';
import { bars, niceMax, totals } from '../src/lib/chart.ts';
import { dateFromNow, expiryParams } from '../src/lib/expiry.ts';
import { keyLabel, relativeTime, resetsIn } from '../src/lib/format.ts';
import { parseRedirectUris, redirectUriProblem } from '../src/lib/redirect-uris.ts';
import { grants, leastPrivilegeHint, normalize, SCOPE_WORDS, toggle } from '../src/lib/scopes.ts';

describe('scopes', () => {
  test('grants agrees with the server’s hasScope for every pair of scopes', () => {
    for (const held of SCOPES) {
      for (const wanted of SCOPES) {
        assert.equal(grants([held], wanted), hasScope([held], wanted), `${held} → ${wanted}`);
      }
    }
  });

  test('every scope the server knows has words in the picker', () => {
    assert.deepEqual(Object.keys(SCOPE_WORDS).sort(), [...SCOPES].sort());
  });

  test('normalize drops what another selected scope implies', () => {
    assert.deepEqual(normalize(['read:certificates', 'write:certificates']), ['write:certificates']);
    assert.deepEqual(normalize(['read:suppliers', 'read:*']), ['read:*']);
    assert.deepEqual(normalize(['write:products', 'admin', 'read:suppliers']), ['admin']);
    assert.deepEqual(normalize(['read:products', 'read:suppliers']), ['read:suppliers', 'read:products']);
  });

  test('toggle keeps the selection minimal; turning off an implied scope drops what implies it', () => {
    let selected = toggle([], 'read:certificates', true);
    selected = toggle(selected, 'write:certificates', true);
    assert.deepEqual(selected, ['write:certificates']);
    assert.deepEqual(toggle(selected, 'read:certificates', false), []);
    assert.deepEqual(toggle(['admin'], 'admin', false), []);
  });

  test('the hint warns about admin and wildcards', () => {
    assert.equal(leastPrivilegeHint(['admin']).level, 'warn');
    assert.equal(leastPrivilegeHint(['write:*']).level, 'warn');
    assert.equal(leastPrivilegeHint(['read:certificates']).level, 'info');
  });
});

describe('expiry', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  test('30/60/90 days become expires_in_days; never becomes nothing', () => {
    assert.deepEqual(expiryParams('90', '', null, now), { params: { expires_in_days: 90 } });
    assert.deepEqual(expiryParams('never', '', null, now), { params: {} });
  });
  test('a custom date becomes expires_at (end of that day) and must be in the future', () => {
    assert.deepEqual(expiryParams('custom', '2027-01-31', null, now), {
      params: { expires_at: '2027-01-31' },
    });
    assert.ok('error' in expiryParams('custom', '2026-11-30', null, now));
    assert.ok('error' in expiryParams('custom', 'soon', null, now));
  });
  test('a typed date is sent as typed (never through the browser’s time zone), and must exist', () => {
    // Spaces around it are the field's, not the date's.
    assert.deepEqual(expiryParams('custom', ' 2027-01-17 ', null, now), {
      params: { expires_at: '2027-01-17' },
    });
    // Not quietly rolled over into March.
    assert.deepEqual(expiryParams('custom', '2027-02-31', null, now), {
      error: '2027-02-31 is not a date in the calendar.',
    });
    assert.ok('error' in expiryParams('custom', '01/17/2027', null, now));
  });
  test('the organization’s maximum lifetime is enforced before sending', () => {
    assert.ok('error' in expiryParams('never', '', 60, now));
    assert.ok('error' in expiryParams('90', '', 60, now));
    assert.deepEqual(expiryParams('60', '', 60, now), { params: { expires_in_days: 60 } });
    assert.ok('error' in expiryParams('custom', dateFromNow(61, now), 60, now));
  });
});

describe('chart', () => {
  test('niceMax rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceMax(0), 1);
    assert.equal(niceMax(7), 10);
    assert.equal(niceMax(12), 20);
    assert.equal(niceMax(340), 500);
    assert.equal(niceMax(1000), 1000);
  });
  test('bars stack successful, errors and rate-limited, scaled to the axis', () => {
    const days = [
      { date: '2026-11-30', requests: 10, errors: 2, rate_limited: 3 },
      { date: '2026-12-01', requests: 0, errors: 0, rate_limited: 0 },
    ];
    const { bars: drawn, max } = bars(days, 200, 100, 0);
    assert.equal(max, 10);
    const [first, second] = drawn;
    assert.deepEqual(
      first?.segments.map((s) => [s.kind, s.value, s.height]),
      [
        ['ok', 5, 50],
        ['errors', 2, 20],
        ['rate_limited', 3, 30],
      ],
    );
    assert.equal(first?.segments.at(-1)?.y, 0, 'a full bar reaches the top');
    assert.deepEqual(second?.segments, []);
    assert.equal(second?.x, 100);
    assert.deepEqual(totals(days), { requests: 10, errors: 2, rate_limited: 3 });
  });
});

describe('redirect URIs', () => {
  test('the server’s rules: https, http only for loopback, no fragment, no credentials', () => {
    assert.equal(redirectUriProblem('https://app.example/cb'), null);
    assert.equal(redirectUriProblem('http://127.0.0.1:8080/cb'), null);
    assert.equal(redirectUriProblem('http://localhost/cb'), null);
    assert.match(redirectUriProblem('http://app.example/cb') ?? '', /https/);
    assert.match(redirectUriProblem('https://app.example/cb#x') ?? '', /fragment/);
    assert.match(redirectUriProblem('https://user:pw@app.example/cb') ?? '', /credentials/);
    assert.match(redirectUriProblem('/relative') ?? '', /absolute/);
  });
  test('one per line, blanks and duplicates ignored, each problem named', () => {
    const { uris, errors } = parseRedirectUris(
      'https://a.example/cb\n\nhttps://a.example/cb\nhttp://b.example/cb\n',
    );
    assert.deepEqual(uris, ['https://a.example/cb']);
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /b\.example/);
    assert.deepEqual(parseRedirectUris('  \n').errors, ['Add at least one redirect URI.']);
  });
  test('hosts are checked strictly and sent canonical, as the server stores them', () => {
    const { uris, errors } = parseRedirectUris(
      'https://Bücher.example/cb\nhttps://xn--bcher-kva.example/cb\nhttps://x;frame-ancestors/cb\nhttps://a.example/cb;v=1',
    );
    assert.deepEqual(uris, ['https://xn--bcher-kva.example/cb', 'https://a.example/cb;v=1']);
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^https:\/\/x;frame-ancestors\/cb has a host .*semicolon/);
  });
});

describe('formats', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  test('relative times', () => {
    assert.equal(relativeTime(null, now), 'never');
    assert.equal(relativeTime('2026-12-01T11:59:30Z', now), 'just now');
    assert.equal(relativeTime('2026-11-28T12:00:00Z', now), '3 days ago');
    assert.equal(relativeTime('2026-12-01T14:00:00Z', now), 'in 2 hours');
  });
  test('a key is shown by prefix and last four only', () => {
    assert.equal(keyLabel('ck_live_Ab12', 'wxyz'), 'ck_live_Ab12…wxyz');
  });
  test('resets in', () => {
    assert.equal(resetsIn('2026-12-01T12:00:42Z', now), '42 s');
    assert.equal(resetsIn('2026-12-01T15:05:00Z', now), '3 h 5 min');
  });
});
