import { describe, expect, it } from 'vitest';
import { computeDemand, createBudgetPerMinute, createsPerFire } from '../../src/core/demand.ts';
import { predictDemand } from '../../src/core/demand-report.ts';
import { jitterOffsetMs } from '../../src/core/jitter.ts';
import type { Schedule } from '../../src/core/model.ts';
import { DAY, HOUR, MINUTE } from '../../src/core/time.ts';

/** A Monday, so weekday names in notices are stable. */
const FROM = new Date('2026-06-15T00:00:00Z');

function schedule(name: string, cron: string, fields: Partial<Schedule> = {}): Schedule {
  return {
    name,
    cron,
    after: null,
    timezone: 'UTC',
    project: 'acme/api',
    branches: ['main'],
    catchupMs: HOUR,
    overlap: 'allow',
    unchanged: 'build',
    jitterMs: 0,
    enabled: true,
    stale: null,
    source: { file: 'schedules/test.yaml', line: 1 },
    ...fields,
  };
}

const many = (n: number, prefix: string, cron: string, fields: Partial<Schedule> = {}) =>
  Array.from({ length: n }, (_, i) => schedule(`${prefix}-${i}`, cron, fields));

describe('createsPerFire', () => {
  it.each([
    ['one branch', {}, undefined, 1],
    ['named branches count each', { branches: ['main', 'develop', 'release/1.0'] }, undefined, 3],
    [
      'a stale sweep counts its max',
      { branches: ['release/*'], stale: { olderThanMs: DAY, max: 5 } },
      undefined,
      5,
    ],
    [
      'a stale sweep of named branches: at most those',
      { branches: ['a', 'b'], stale: { olderThanMs: DAY, max: 5 } },
      undefined,
      2,
    ],
    [
      'a glob without stale: 1 per glob when unknown',
      { branches: ['main', 'feature/*'] },
      undefined,
      2,
    ],
    ['a glob without stale: the branches check found', { branches: ['main', 'feature/*'] }, 4, 5],
  ] as const)('%s', (_what, fields, globBranches, expected) => {
    expect(
      createsPerFire(schedule('s', '0 2 * * *', fields as Partial<Schedule>), globBranches),
    ).toBe(expected);
  });
});

describe('computeDemand', () => {
  it('counts each fire in its minute, branches multiplied, disabled schedules left out', () => {
    const demand = computeDemand({
      schedules: [
        schedule('nightly', '0 2 * * *', { branches: ['main', 'develop'] }),
        schedule('off', '0 2 * * *', { enabled: false }),
        schedule('seconds', '*/10 * * * * *'),
      ],
      from: FROM,
    });
    expect(demand.perMinute.length).toBe(7 * 24 * 60);
    expect(demand.perMinute[120]).toBe(2 + 6);
    expect(demand.perMinute[121]).toBe(6);
    expect(demand.schedules.has('off')).toBe(false);
    expect([...(demand.schedules.get('nightly')?.minutes ?? [])]).toEqual(
      Array.from({ length: 7 }, (_, d) => d * 1440 + 120),
    );
  });

  it('moves each fire by the schedule’s stable jitter offset', () => {
    const s = schedule('nightly-jitter', '0 2 * * *', { jitterMs: 30 * MINUTE });
    const offsetMinutes = Math.floor(jitterOffsetMs(s.name, s.jitterMs) / MINUTE);
    const demand = computeDemand({ schedules: [s], from: FROM });
    expect(demand.schedules.get(s.name)?.minutes[0]).toBe(120 + offsetMinutes);
    // 100 jittered nightlies spread over the half hour instead of one minute.
    const fleet = computeDemand({
      schedules: many(100, 'n', '0 2 * * *', { jitterMs: 30 * MINUTE }),
      from: FROM,
    });
    const firstNight = [...fleet.perMinute.slice(120, 150)];
    expect(firstNight.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...firstNight)).toBeLessThan(15);
  });

  it('counts a slot of the day before whose jitter moves it into the window', () => {
    const s = schedule('late', '0 23 * * *', { jitterMs: 2 * HOUR });
    const offsetMinutes = Math.floor(jitterOffsetMs(s.name, s.jitterMs) / MINUTE);
    expect(offsetMinutes).toBe(101);
    const demand = computeDemand({ schedules: [s], from: FROM });
    // The slot of 2026-06-14 23:00Z fires at 00:41Z on the first day of the window.
    expect(demand.schedules.get(s.name)?.minutes[0]).toBe(41);
    expect(demand.schedules.get(s.name)?.minutes).toHaveLength(7);
  });
});

describe('predictDemand', () => {
  const judge = (schedules: Schedule[], rate = 60) =>
    predictDemand({ schedules, from: FROM, rateLimitPerMinute: rate });

  it('budgets creates as the rate limit less 1.5 calls per create', () => {
    expect([60, 10, 1, 600].map(createBudgetPerMinute)).toEqual([24, 4, 1, 240]);
  });

  it('says nothing for a quiet folder', () => {
    const report = judge([schedule('nightly', '0 2 * * *'), schedule('hourly', '5 * * * *')]);
    expect(report.notices).toEqual([]);
    expect(report.warnings).toEqual([]);
  });

  it('a burst is a notice with its drain time, once per time of day', () => {
    const report = judge(many(140, 'nightly', '0 2 * * *'));
    expect(report.notices).toEqual(['notice: 02:00Z needs 140 creates: drained in about 3 min']);
    expect(report.warnings).toEqual([]);
    expect(report.peaks[0]?.days).toHaveLength(7);
  });

  it('a weekday burst names its days', () => {
    const report = judge(many(100, 'weekday', '30 8 * * 1-5'));
    expect(report.notices).toEqual([
      'notice: 08:30Z needs 100 creates: drained in about 2 min (on Mon, Tue, Wed, Thu, Fri)',
    ]);
  });

  it('a sustained excess is a warning naming the schedules and where they collide', () => {
    const report = judge([
      schedule('every-second', '* * * * * *', { branches: ['main', 'develop'] }),
      schedule('nightly', '0 2 * * *'),
    ]);
    expect(report.notices).toEqual([]);
    expect(report.warnings).toEqual([
      'warning: 7201 creates in the hour from 2026-06-15 01:01Z, more than the 1440 the API budget allows (24 a minute: CODESHIP_RATE_LIMIT 60 less 1.5 calls per create for discovery and reconciliation); older unsent slots will be skipped as superseded',
      'warning:   every-second: 7200 creates in that hour',
      'warning:   nightly: 1 creates in that hour',
      'warning:   they collide in every minute of that hour',
    ]);
  });

  it('an hour over budget from a few colliding minutes lists those minutes', () => {
    // 400 schedules × 2 branches at :00 and :30: 1600 creates an hour, in two minutes.
    const report = judge([...many(400, 'half', '0,30 * * * *', { branches: ['main', 'develop'] })]);
    expect(report.warnings[0]).toBe(
      'warning: 1600 creates in the hour from 2026-06-15 00:00Z, more than the 1440 the API budget allows (24 a minute: CODESHIP_RATE_LIMIT 60 less 1.5 calls per create for discovery and reconciliation); older unsent slots will be skipped as superseded',
    );
    expect(report.warnings).toContain('warning:   half-0: 4 creates in that hour');
    expect(report.warnings).toContain('warning:   and 395 more schedules');
    expect(report.warnings.at(-1)).toBe('warning:   they collide at 00:00Z, 00:30Z');
  });

  it('reports an excess caused by the same schedules once, counting the other hours', () => {
    const report = judge(many(30, 'office', '* 9 * * *', { branches: ['main'] }));
    // 30 creates a minute for an hour each day: 1800 > 1440.
    expect(report.excesses).toHaveLength(1);
    expect(report.excesses[0]?.repeats).toBe(6);
    expect(report.warnings[0]).toMatch(
      /^warning: 1800 creates in the hour from 2026-06-15 09:00Z.*\(and 6 more hours like it\)$/,
    );
  });

  it('sweeps count their max', () => {
    const sweeps = many(20, 'sweep', '0 3 * * *', {
      branches: ['release/*'],
      stale: { olderThanMs: 7 * DAY, max: 10 },
    });
    expect(judge(sweeps).notices).toEqual([
      'notice: 03:00Z needs 200 creates: drained in about 4 min',
    ]);
  });

  it('computes 10,000 schedules of a real fleet’s shape in under 2 s', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
    const shapes = (i: number) => {
      const minute = (i * 7) % 60;
      const hour = (i * 5) % 24;
      return [
        `${minute} ${hour} * * *`,
        `${minute} ${hour} * * 1-5`,
        `${minute} */${[2, 3, 4, 6][i % 4]} * * *`,
        `${minute} * * * *`,
        `${minute} ${Math.min(hour, 14)}-${Math.min(hour, 14) + 9} * * 1-5`,
      ][i % 5] as string;
    };
    const fleet = Array.from({ length: 10_000 }, (_, i) =>
      schedule(`s-${i}`, shapes(i % 200), {
        timezone: zones[(i * 3) % 5] as string,
        jitterMs: i % 2 === 0 ? 0 : 10 * MINUTE,
      }),
    );
    const started = performance.now();
    const report = predictDemand({ schedules: fleet, from: FROM, rateLimitPerMinute: 60 });
    const elapsedMs = performance.now() - started;
    console.log(`demand of 10,000 schedules: ${elapsedMs.toFixed(0)} ms`);
    expect(report.peakCreatesPerMinute).toBeGreaterThan(0);
    expect(elapsedMs).toBeLessThan(2000);
  });
});
