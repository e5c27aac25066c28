import { Cron, CronPattern } from 'croner';
import { describe, expect, it } from 'vitest';
import {
  CRON_CACHE_LIMIT,
  checkCronExpression,
  cronCacheSize,
  cronCompileCount,
  describeCron,
  firesBetween,
  nextFireAfter,
} from '../../src/core/cron.ts';

/** The next `count` fires strictly after `from`, as ISO text. */
function fires(expression: string, timezone: string, from: string, count = 4): string[] {
  const result: string[] = [];
  let cursor = new Date(from);
  for (let i = 0; i < count; i += 1) {
    const next = nextFireAfter(expression, timezone, cursor);
    if (next === null) break;
    result.push(next.toISOString());
    cursor = next;
  }
  return result;
}

const iso = (text: string) => new Date(text).toISOString();

describe('cron features (UTC; 2026-01-01 is a Thursday)', () => {
  const FROM = '2026-01-01T00:00:00Z';
  it.each([
    ['@daily', ['2026-01-02T00:00', '2026-01-03T00:00']],
    ['@midnight', ['2026-01-02T00:00', '2026-01-03T00:00']],
    ['@hourly', ['2026-01-01T01:00', '2026-01-01T02:00']],
    ['@weekly', ['2026-01-04T00:00', '2026-01-11T00:00']],
    ['@monthly', ['2026-02-01T00:00', '2026-03-01T00:00']],
    ['@yearly', ['2027-01-01T00:00', '2028-01-01T00:00']],
    ['@annually', ['2027-01-01T00:00', '2028-01-01T00:00']],
    ['0 9,17 * * *', ['2026-01-01T09:00', '2026-01-01T17:00']],
    ['0 9-10 * * *', ['2026-01-01T09:00', '2026-01-01T10:00']],
    ['*/20 * * * *', ['2026-01-01T00:20', '2026-01-01T00:40']],
    ['0 8-18/4 * * *', ['2026-01-01T08:00', '2026-01-01T12:00']],
    ['0 0 1 jan,jul *', ['2026-07-01T00:00', '2027-01-01T00:00']],
    ['0 9 * * mon-fri', ['2026-01-01T09:00', '2026-01-02T09:00']],
    ['0 9 * * MON', ['2026-01-05T09:00', '2026-01-12T09:00']],
    ['0 0 L * *', ['2026-01-31T00:00', '2026-02-28T00:00']],
    // 15 February 2026 is a Sunday: the nearest weekday is Monday the 16th.
    ['0 0 15W 2 *', ['2026-02-16T00:00', '2027-02-15T00:00']],
    ['0 0 * * fri#2', ['2026-01-09T00:00', '2026-02-13T00:00']],
    ['0 0 * * 5#L', ['2026-01-30T00:00', '2026-02-27T00:00']],
    ['*/15 0 0 * * *', ['2026-01-01T00:00:15', '2026-01-01T00:00:30']],
    ['30 0 12 * * *', ['2026-01-01T12:00:30', '2026-01-02T12:00:30']],
  ])('%s', (expression, expected) => {
    expect(fires(expression, 'UTC', FROM, 2)).toEqual(expected.map((at) => iso(`${at}Z`)));
  });

  it('combines day-of-month and day-of-week with OR when both are restricted', () => {
    // The 13th (a Tuesday in January) or any Friday.
    expect(fires('0 0 13 * fri', 'UTC', FROM, 4)).toEqual(
      ['2026-01-02', '2026-01-09', '2026-01-13', '2026-01-16'].map((d) => iso(`${d}T00:00Z`)),
    );
    // Only one restricted: no OR, the other is a wildcard.
    expect(fires('0 0 13 * *', 'UTC', FROM, 2)).toEqual([
      iso('2026-01-13T00:00Z'),
      iso('2026-02-13T00:00Z'),
    ]);
    expect(fires('0 0 * * fri', 'UTC', FROM, 2)).toEqual([
      iso('2026-01-02T00:00Z'),
      iso('2026-01-09T00:00Z'),
    ]);
  });

  it('counts a field that starts with * (a step over all days) as unrestricted, as Vixie cron does', () => {
    // Odd days AND Mondays (Vixie's DOM_STAR): 2026-06-15 is the first odd-day Monday after 06-01.
    expect(fires('0 0 */2 * 1', 'UTC', '2026-06-01T00:00Z', 2)).toEqual([
      iso('2026-06-15T00:00Z'),
      iso('2026-06-29T00:00Z'),
    ]);
    // The 1st, 11th, 21st or 31st, when it is a weekday.
    expect(fires('0 0 */10 * 1-5', 'UTC', '2026-06-01T00:00Z', 2)).toEqual([
      iso('2026-06-11T00:00Z'),
      iso('2026-07-01T00:00Z'),
    ]);
    // The 1st, when it is a Sunday, Wednesday or Saturday.
    expect(fires('0 0 1 * */3', 'UTC', '2026-06-01T00:00Z', 2)).toEqual([
      iso('2026-07-01T00:00Z'),
      iso('2026-08-01T00:00Z'),
    ]);
    // A range without a star stays restricted: the odd days OR the Mondays.
    expect(fires('0 0 1-31/2 * 1', 'UTC', '2026-06-01T00:00Z', 3)).toEqual([
      iso('2026-06-03T00:00Z'),
      iso('2026-06-05T00:00Z'),
      iso('2026-06-07T00:00Z'),
    ]);
  });

  it('is strictly after the given instant, even when that instant is a fire time', () => {
    expect(fires('0 2 * * *', 'UTC', '2026-01-01T02:00:00.000Z', 1)).toEqual([
      iso('2026-01-02T02:00Z'),
    ]);
    expect(fires('0 2 * * *', 'UTC', '2026-01-01T01:59:59.999Z', 1)).toEqual([
      iso('2026-01-01T02:00Z'),
    ]);
    expect(fires('0 2 * * *', 'Europe/Berlin', '2026-01-01T01:00:00.000Z', 1)).toEqual([
      iso('2026-01-02T01:00Z'),
    ]);
  });

  it('evaluates each expression in its own zone', () => {
    expect(fires('0 2 * * *', 'Europe/Berlin', FROM, 1)).toEqual([iso('2026-01-01T01:00Z')]);
    expect(fires('0 2 * * *', 'America/New_York', FROM, 1)).toEqual([iso('2026-01-01T07:00Z')]);
    expect(fires('0 2 * * *', 'Asia/Kolkata', FROM, 1)).toEqual([iso('2026-01-01T20:30Z')]);
  });
});

// 2026: New York springs forward on 8 March at 02:00 EST (07:00Z) and falls back on 1 November
// at 02:00 EDT (06:00Z); Berlin springs forward on 29 March at 02:00 CET (01:00Z) and falls back
// on 25 October at 03:00 CEST (01:00Z).
describe('DST: a skipped wall time fires once at the first instant after the gap', () => {
  it.each([
    [
      '30 2 * * *',
      'America/New_York',
      '2026-03-07T12:00Z',
      ['2026-03-08T07:00Z', '2026-03-09T06:30Z'],
    ],
    [
      '0 2 * * *',
      'America/New_York',
      '2026-03-07T12:00Z',
      ['2026-03-08T07:00Z', '2026-03-09T06:00Z'],
    ],
    [
      '0 30 2 * * *',
      'America/New_York',
      '2026-03-07T12:00Z',
      ['2026-03-08T07:00Z', '2026-03-09T06:30Z'],
    ],
    [
      '0,30 2 * * *',
      'America/New_York',
      '2026-03-07T12:00Z',
      ['2026-03-08T07:00Z', '2026-03-09T06:00Z'],
    ],
    [
      '*/15 2 * * *',
      'America/New_York',
      '2026-03-07T12:00Z',
      ['2026-03-08T07:00Z', '2026-03-09T06:00Z'],
    ],
    [
      '30 2 * * *',
      'Europe/Berlin',
      '2026-03-28T12:00Z',
      ['2026-03-29T01:00Z', '2026-03-30T00:30Z'],
    ],
    // Every two hours: 00:00 CET, then 02:00 does not exist, so 03:00 CEST, then 04:00 CEST.
    [
      '0 */2 * * *',
      'Europe/Berlin',
      '2026-03-28T22:00Z',
      ['2026-03-28T23:00Z', '2026-03-29T01:00Z', '2026-03-29T02:00Z'],
    ],
    [
      '0 0-23/2 * * *',
      'Europe/Berlin',
      '2026-03-28T22:00Z',
      ['2026-03-28T23:00Z', '2026-03-29T01:00Z', '2026-03-29T02:00Z'],
    ],
    // A gap across midnight: Nuuk goes from 23:00 (UTC-2) on Saturday 28 March straight to 00:00
    // (UTC-1) on Sunday, so Saturday's 23:00 and 23:30 fire at that Sunday 00:00 (01:00Z).
    [
      '0 23 * * *',
      'America/Nuuk',
      '2026-03-27T12:00Z',
      ['2026-03-28T01:00Z', '2026-03-29T01:00Z', '2026-03-30T00:00Z'],
    ],
    [
      '30 23 * * 6',
      'America/Nuuk',
      '2026-03-27T12:00Z',
      ['2026-03-29T01:00Z', '2026-04-05T00:30Z'],
    ],
    [
      '0 30 23 * * *',
      'America/Nuuk',
      '2026-03-28T12:00Z',
      ['2026-03-29T01:00Z', '2026-03-30T00:30Z'],
    ],
  ])('%s in %s after %s', (expression, zone, from, expected) => {
    expect(fires(expression, zone, from, expected.length)).toEqual(expected.map(iso));
  });

  it.each([
    // Hourly expressions keep firing every real hour: 01:30 EST, then 03:30 EDT.
    [
      '30 * * * *',
      'America/New_York',
      '2026-03-08T05:00Z',
      ['2026-03-08T05:30Z', '2026-03-08T06:30Z', '2026-03-08T07:30Z'],
    ],
    [
      '15 * * * *',
      'Europe/Berlin',
      '2026-03-29T00:00Z',
      ['2026-03-29T00:15Z', '2026-03-29T01:15Z', '2026-03-29T02:15Z'],
    ],
    [
      '*/30 * * * *',
      'Europe/Berlin',
      '2026-03-29T00:00Z',
      ['2026-03-29T00:30Z', '2026-03-29T01:00Z', '2026-03-29T01:30Z'],
    ],
  ])('hourly %s in %s keeps the real-hour cadence', (expression, zone, from, expected) => {
    expect(fires(expression, zone, from, expected.length)).toEqual(expected.map(iso));
  });
});

describe('DST: a repeated wall time fires once, at its first occurrence, unless hourly', () => {
  it.each([
    [
      '30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00Z',
      ['2026-11-01T05:30Z', '2026-11-02T06:30Z'],
    ],
    [
      '0 30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00Z',
      ['2026-11-01T05:30Z', '2026-11-02T06:30Z'],
    ],
    [
      '*/30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00Z',
      ['2026-11-01T05:00Z', '2026-11-01T05:30Z', '2026-11-02T06:00Z'],
    ],
    [
      '0 1,13 * * *',
      'America/New_York',
      '2026-10-31T18:00Z',
      ['2026-11-01T05:00Z', '2026-11-01T18:00Z'],
    ],
    [
      '30 2 * * *',
      'Europe/Berlin',
      '2026-10-24T12:00Z',
      ['2026-10-25T00:30Z', '2026-10-26T01:30Z'],
    ],
    [
      '0 */2 * * *',
      'Europe/Berlin',
      '2026-10-24T21:00Z',
      ['2026-10-24T22:00Z', '2026-10-25T00:00Z', '2026-10-25T03:00Z'],
    ],
    [
      '*/20 2 * * *',
      'Europe/Berlin',
      '2026-10-24T12:00Z',
      ['2026-10-25T00:00Z', '2026-10-25T00:20Z', '2026-10-25T00:40Z', '2026-10-26T01:00Z'],
    ],
  ])('%s in %s after %s', (expression, zone, from, expected) => {
    expect(fires(expression, zone, from, expected.length)).toEqual(expected.map(iso));
  });

  it.each([
    [
      '30 * * * *',
      'America/New_York',
      '2026-11-01T04:00Z',
      ['2026-11-01T04:30Z', '2026-11-01T05:30Z', '2026-11-01T06:30Z', '2026-11-01T07:30Z'],
    ],
    [
      '0 * * * *',
      'Europe/Berlin',
      '2026-10-24T23:30Z',
      ['2026-10-25T00:00Z', '2026-10-25T01:00Z', '2026-10-25T02:00Z'],
    ],
    // A range over all 24 hours is hourly too.
    [
      '0 0-23 * * *',
      'America/New_York',
      '2026-11-01T04:30Z',
      ['2026-11-01T05:00Z', '2026-11-01T06:00Z', '2026-11-01T07:00Z'],
    ],
    [
      '*/20 * * * *',
      'Europe/Berlin',
      '2026-10-25T00:30Z',
      ['2026-10-25T00:40Z', '2026-10-25T01:00Z', '2026-10-25T01:20Z', '2026-10-25T01:40Z'],
    ],
  ])('hourly %s in %s fires every real hour', (expression, zone, from, expected) => {
    expect(fires(expression, zone, from, expected.length)).toEqual(expected.map(iso));
  });
});

describe('firesBetween', () => {
  it('lists fires in (after, until], oldest first, at most limit', () => {
    const after = new Date('2026-01-01T00:00:00Z');
    const until = new Date('2026-01-01T03:00:00Z');
    expect(firesBetween('0 * * * *', 'UTC', after, until, 10).map((d) => d.toISOString())).toEqual([
      iso('2026-01-01T01:00Z'),
      iso('2026-01-01T02:00Z'),
      iso('2026-01-01T03:00Z'),
    ]);
    expect(firesBetween('0 * * * *', 'UTC', after, until, 2)).toHaveLength(2);
    expect(firesBetween('0 * * * *', 'UTC', until, until, 10)).toEqual([]);
  });

  it('applies the DST rules too', () => {
    const fired = firesBetween(
      '0 */2 * * *',
      'Europe/Berlin',
      new Date('2026-10-24T21:00Z'),
      new Date('2026-10-25T04:00Z'),
      10,
    );
    expect(fired.map((d) => d.toISOString())).toEqual(
      ['2026-10-24T22:00Z', '2026-10-25T00:00Z', '2026-10-25T03:00Z'].map(iso),
    );
  });
});

describe('checkCronExpression', () => {
  it.each([
    '0 2 * * *',
    '*/15 * * * * *',
    '@daily',
    '@HOURLY',
    '0 0 29 2 *',
    '0 0 31 2 mon',
    '0 0 L * *',
    '0 0 15W * *',
    '0 0 * * fri#2',
    '  0   2 * *   * ',
  ])('accepts %s', (expression) => {
    expect(checkCronExpression(expression)).toBeNull();
  });

  it.each([
    [
      '',
      'is empty (expected 5 fields "minute hour day-of-month month day-of-week", 6 with seconds first, or a nickname such as @daily)',
    ],
    [
      '0 2 * *',
      'has 4 fields (expected 5 fields "minute hour day-of-month month day-of-week", 6 with seconds first, or a nickname such as @daily)',
    ],
    [
      '0 0 2 1 1 * 2027',
      'has 7 fields (expected 5 fields "minute hour day-of-month month day-of-week", 6 with seconds first, or a nickname such as @daily)',
    ],
    [
      '@reboot',
      '@reboot is not supported: schedules fire on the clock, not at start-up (expected a nickname such as @daily, or 5 fields)',
    ],
    [
      '@dayly',
      'unknown nickname "@dayly" (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; did you mean @daily?)',
    ],
    [
      '0 0 31 2 *',
      'never fires (no date matches it) (expected an expression that matches at least one date, e.g. not 31 February)',
    ],
    [
      '0 0 30 2 *',
      'never fires (no date matches it) (expected an expression that matches at least one date, e.g. not 31 February)',
    ],
    [
      '61 2 * * *',
      'invalid value for minute: 61 (expected minute hour day-of-month month day-of-week, e.g. "30 2 * * 1-5")',
    ],
    [
      '0 25 * * *',
      'invalid value for hour: 25 (expected minute hour day-of-month month day-of-week, e.g. "30 2 * * 1-5")',
    ],
    [
      '0 2 * * +mon',
      '"+" (day-of-month AND day-of-week) is not supported (expected day-of-month and day-of-week to combine with OR, as in cron)',
    ],
  ])('rejects %j', (expression, message) => {
    expect(checkCronExpression(expression)).toBe(message);
  });

  it('names the problem for other malformed fields', () => {
    for (const bad of ['0 2 * foo *', '0 2 * * 8', '*/0 * * * *', '0 2 32 * *', 'a b c d e']) {
      expect(checkCronExpression(bad), bad).toMatch(/\(expected .*minute hour day-of-month/);
    }
  });
});

describe('describeCron', () => {
  it.each([
    ['0 2 * * *', 'At 02:00'],
    ['30 3 * * 1-5', 'At 03:30, Monday through Friday'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['@daily', 'At 00:00'],
    ['@weekly', 'At 00:00, only on Sunday'],
    ['0 0 L * *', 'At 00:00, on the last day of the month'],
  ])('%s reads as %j', (expression, text) => {
    expect(describeCron(expression)).toBe(text);
  });

  it('reads 5#L as the last weekday of the month', () => {
    expect(describeCron('0 0 * * 5#L')).toBe('At 00:00, on the last Friday of the month');
  });
});

describe('compiled-pattern cache', () => {
  it('stays within its bound however many expressions are seen', () => {
    const after = new Date('2026-01-01T00:00:00Z');
    for (let i = 0; i < CRON_CACHE_LIMIT + 100; i += 1) {
      nextFireAfter(
        `${i % 60} ${Math.floor(i / 60) % 24} * * *`,
        i % 2 ? 'UTC' : 'Asia/Tokyo',
        after,
      );
    }
    expect(cronCacheSize()).toBeLessThanOrEqual(CRON_CACHE_LIMIT);
    expect(cronCacheSize()).toBeGreaterThan(CRON_CACHE_LIMIT / 2);
  });
});

describe('one compiled pattern per expression, every zone', () => {
  it('compiles an expression once for all zones and answers each zone as if alone', () => {
    const expression = '30 7 9 * * *'; // not used elsewhere in this file
    const before = cronCompileCount();
    const after = new Date('2026-01-10T12:00:00Z');
    // 09:07:30 local on 11 January 2026; Sydney is on summer time (+11), New York on winter time (-5).
    const expected: Record<string, string> = {
      UTC: '2026-01-11T09:07:30.000Z',
      'Asia/Tokyo': '2026-01-11T00:07:30.000Z',
      'Europe/Berlin': '2026-01-11T08:07:30.000Z',
      'America/New_York': '2026-01-10T14:07:30.000Z',
      'Australia/Sydney': '2026-01-10T22:07:30.000Z',
    };
    // Twice round, interleaved: a zone set for one call never leaks into the next.
    for (let round = 0; round < 2; round += 1) {
      for (const [zone, fire] of Object.entries(expected)) {
        expect(nextFireAfter(expression, zone, after)?.toISOString(), zone).toBe(fire);
      }
    }
    expect(cronCompileCount()).toBe(before + 1);
  });

  it('keeps the DST rules per zone when zones share a pattern', () => {
    // An interval expression needing the gap and fold corrections, in two zones with different
    // change dates (Berlin 29 March, New York 8 March 2026), asked alternately.
    const berlin = fires('*/30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z', 3);
    const newYork = fires('*/30 2 * * *', 'America/New_York', '2026-03-06T12:00:00Z', 3);
    expect(berlin).toEqual([
      '2026-03-28T01:00:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z', // 02:00 does not exist: fires once, at 03:00 CEST
    ]);
    expect(newYork).toEqual([
      '2026-03-07T07:00:00.000Z',
      '2026-03-07T07:30:00.000Z',
      '2026-03-08T07:00:00.000Z', // 02:00 does not exist: fires once, at 03:00 EDT
    ]);
  });

  it("relies on croner 11 keeping the parsed pattern in _states.pattern with a '*' year", () => {
    // cron.ts frees the 10,000-entry year table of each compiled pattern (most of its ~85 KB)
    // through these internals; if an upgrade moves them this fails, and memory grows back.
    for (const expression of ['0 9 * * *', '*/15 0 0 * * *', '0 0 L * *']) {
      const cron = new Cron(expression, { mode: '5-or-6-parts', paused: true });
      const pattern = (cron as unknown as { _states: { pattern: unknown } })._states.pattern;
      expect(pattern).toBeInstanceOf(CronPattern);
      expect((pattern as CronPattern).starYear).toBe(true);
    }
  });
});
