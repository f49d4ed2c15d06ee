/** The audit log's time filters: typed ISO 8601 in UTC, whatever the browser's locale and time zone. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_FILTERS, toQuery, utcFromLocalInput } from '../src/pages/audit/filters.ts';

describe('audit filters', () => {
  test('a time with a space or a T, or a bare day, is read as UTC', () => {
    assert.equal(utcFromLocalInput('2026-11-22 10:00'), '2026-11-22T10:00:00Z');
    assert.equal(utcFromLocalInput('2026-11-22T10:00'), '2026-11-22T10:00:00Z');
    assert.equal(utcFromLocalInput(' 2026-11-22 '), '2026-11-22T00:00:00Z');
  });
  test('as the end of a range, the whole minute or day counts', () => {
    assert.equal(utcFromLocalInput('2026-11-22 10:00', true), '2026-11-22T10:00:59Z');
    assert.equal(utcFromLocalInput('2026-11-22', true), '2026-11-22T23:59:59Z');
  });
  test('locale formats and days not in the calendar are refused, with the format to use', () => {
    assert.equal(utcFromLocalInput('11/22/2026, 10:00'), null);
    assert.equal(utcFromLocalInput('2026-02-31'), null);
    const result = toQuery({ ...NO_FILTERS, since: '11/22/2026' });
    assert.ok('problems' in result);
    assert.match(result.problems.since ?? '', /YYYY-MM-DD HH:MM/);
  });
});
