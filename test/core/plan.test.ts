import { describe, expect, it } from 'vitest';
import { jitterOffsetMs } from '../../src/core/jitter.ts';
import type { Schedule } from '../../src/core/model.ts';
import { FireCache, type Plan, type PlanInput, planTick } from '../../src/core/plan.ts';
import { collectDue, type NextFireFn } from '../../src/core/plan-fires.ts';
import { HOUR, MINUTE } from '../../src/core/time.ts';

const at = (iso: string) => new Date(iso);

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

interface Case {
  schedules: Schedule[];
  marks?: Record<string, string>;
  watchingSince?: Record<string, string>;
  now: string;
  maxMissedPerSchedule?: number;
}

function plan(c: Case): Plan {
  const input: PlanInput = {
    schedules: c.schedules,
    marks: new Map(Object.entries(c.marks ?? {}).map(([name, iso]) => [name, at(iso)])),
    watchingSince: new Map(
      Object.entries(c.watchingSince ?? {}).map(([name, iso]) => [name, at(iso)]),
    ),
    now: at(c.now),
  };
  if (c.maxMissedPerSchedule !== undefined) input.maxMissedPerSchedule = c.maxMissedPerSchedule;
  return planTick(input);
}

/** One line per planned slot: `fire NAME SLOT`, `catchup NAME SLOT`, `missed NAME SLOT`, `disabled NAME SLOT`. */
function lines(p: Plan): string[] {
  return p.slots.map((slot) => {
    const slotAt = slot.slotAt.toISOString();
    const name = slot.schedule.name;
    if (slot.kind === 'skip') return `${slot.reason} ${name} ${slotAt}`;
    return `${slot.catchup ? 'catchup' : 'fire'} ${name} ${slotAt}`;
  });
}

const hourly = schedule('hourly', '0 * * * *');
const daily = schedule('nightly', '0 2 * * *');
const everyMinute = schedule('minutely', '* * * * *');

describe('planTick: due, missed and coalesced slots', () => {
  it.each<[string, Case, string[], string | null]>([
    [
      'fires a slot that just became due',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T01:00:00Z' },
        now: '2026-06-16T02:00:03Z',
      },
      ['fire hourly 2026-06-16T02:00:00.000Z'],
      '2026-06-16T03:00:00.000Z',
    ],
    [
      'plans nothing one millisecond before the slot',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T01:00:00Z' },
        now: '2026-06-16T01:59:59.999Z',
      },
      [],
      '2026-06-16T02:00:00.000Z',
    ],
    [
      'fires a slot exactly at its instant',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T01:00:00Z' },
        now: '2026-06-16T02:00:00Z',
      },
      ['fire hourly 2026-06-16T02:00:00.000Z'],
      '2026-06-16T03:00:00.000Z',
    ],
    [
      'fires on time when exactly the grace (90 s) late',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T01:00:00Z' },
        now: '2026-06-16T02:01:30Z',
      },
      ['fire hourly 2026-06-16T02:00:00.000Z'],
      '2026-06-16T03:00:00.000Z',
    ],
    [
      'coalesces two slots due in one tick: the latest fires, the other is missed',
      {
        schedules: [everyMinute],
        marks: { minutely: '2026-06-16T10:00:00Z' },
        now: '2026-06-16T10:02:05Z',
      },
      ['missed minutely 2026-06-16T10:01:00.000Z', 'fire minutely 2026-06-16T10:02:00.000Z'],
      '2026-06-16T10:03:00.000Z',
    ],
  ])('%s', (_title, c, expected, wakeAt) => {
    const p = plan(c);
    expect(lines(p)).toEqual(expected);
    expect(p.wakeAt?.toISOString() ?? null).toBe(wakeAt);
  });

  it('moves the mark to the latest planned slot, missed or fired', () => {
    const p = plan({
      schedules: [everyMinute, hourly],
      marks: { minutely: '2026-06-16T10:00:00Z', hourly: '2026-06-16T10:00:00Z' },
      now: '2026-06-16T10:02:05Z',
    });
    expect(Object.fromEntries([...p.marks].map(([name, d]) => [name, d.toISOString()]))).toEqual({
      minutely: '2026-06-16T10:02:00.000Z',
    });
  });

  it('orders slots by time, then schedule name, whatever the input order', () => {
    const p = plan({
      schedules: [
        schedule('b', '* * * * *'),
        schedule('a', '* * * * *'),
        schedule('c', '*/2 * * * *'),
      ],
      marks: { a: '2026-06-16T10:00:00Z', b: '2026-06-16T10:00:00Z', c: '2026-06-16T10:00:00Z' },
      now: '2026-06-16T10:02:01Z',
    });
    expect(lines(p)).toEqual([
      'missed a 2026-06-16T10:01:00.000Z',
      'missed b 2026-06-16T10:01:00.000Z',
      'fire a 2026-06-16T10:02:00.000Z',
      'fire b 2026-06-16T10:02:00.000Z',
      'fire c 2026-06-16T10:02:00.000Z',
    ]);
  });
});

describe('planTick: catch-up after downtime', () => {
  it.each<[string, Case, string[]]>([
    [
      'catches up the latest slot inside the window',
      {
        schedules: [daily],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T02:30:00Z',
      },
      ['catchup nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'catches up one millisecond past the grace',
      {
        schedules: [daily],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T02:01:30.001Z',
      },
      ['catchup nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'catches up a slot exactly as old as the window',
      {
        schedules: [daily],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T03:00:00Z',
      },
      ['catchup nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'records a slot older than the window as missed',
      {
        schedules: [daily],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T03:00:00.001Z',
      },
      ['missed nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'coalesces several missed slots into one catch-up of the latest',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T00:00:00Z' },
        now: '2026-06-16T04:10:00Z',
      },
      [
        'missed hourly 2026-06-16T01:00:00.000Z',
        'missed hourly 2026-06-16T02:00:00.000Z',
        'missed hourly 2026-06-16T03:00:00.000Z',
        'catchup hourly 2026-06-16T04:00:00.000Z',
      ],
    ],
    [
      'never catches up with catchup 0',
      {
        schedules: [schedule('nightly', '0 2 * * *', { catchupMs: 0 })],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T02:05:00Z',
      },
      ['missed nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'still fires on time with catchup 0',
      {
        schedules: [schedule('nightly', '0 2 * * *', { catchupMs: 0 })],
        marks: { nightly: '2026-06-15T02:00:00Z' },
        now: '2026-06-16T02:01:00Z',
      },
      ['fire nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'gives a schedule that never fired no catch-up',
      {
        schedules: [daily],
        watchingSince: { nightly: '2026-06-16T01:30:00Z' },
        now: '2026-06-16T02:30:00Z',
      },
      ['missed nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'fires an on-time slot of a schedule that never fired',
      {
        schedules: [daily],
        watchingSince: { nightly: '2026-06-16T01:30:00Z' },
        now: '2026-06-16T02:00:10Z',
      },
      ['fire nightly 2026-06-16T02:00:00.000Z'],
    ],
    [
      'ignores slots before the schedule was watched',
      {
        schedules: [hourly],
        watchingSince: { hourly: '2026-06-16T02:00:30Z' },
        now: '2026-06-16T02:00:40Z',
      },
      [],
    ],
    [
      'plans nothing for a schedule with neither mark nor watching instant',
      { schedules: [hourly], now: '2026-06-16T02:00:00Z' },
      [],
    ],
  ])('%s', (_title, c, expected) => {
    expect(lines(plan(c))).toEqual(expected);
  });
});

describe('planTick: disabled schedules', () => {
  const paused = schedule('paused', '0 * * * *', { enabled: false });

  it('records every due slot as disabled and never fires', () => {
    const p = plan({
      schedules: [paused],
      marks: { paused: '2026-06-16T00:00:00Z' },
      now: '2026-06-16T02:00:05Z',
    });
    expect(lines(p)).toEqual([
      'disabled paused 2026-06-16T01:00:00.000Z',
      'disabled paused 2026-06-16T02:00:00.000Z',
    ]);
    expect(p.marks.get('paused')?.toISOString()).toBe('2026-06-16T02:00:00.000Z');
  });

  it('wakes for a disabled schedule too, since its skips are recorded', () => {
    const p = plan({
      schedules: [paused, daily],
      marks: { paused: '2026-06-16T02:00:00Z', nightly: '2026-06-16T02:00:00Z' },
      now: '2026-06-16T02:10:00Z',
    });
    expect(p.wakeAt?.toISOString()).toBe('2026-06-16T03:00:00.000Z');
  });
});

describe('planTick: jitter', () => {
  const jittered = schedule('nightly-api', '0 2 * * *', { jitterMs: 10 * MINUTE });
  const offsetMs = jitterOffsetMs('nightly-api', 10 * MINUTE);
  const slotMs = at('2026-06-16T02:00:00Z').getTime();
  const marks = { 'nightly-api': '2026-06-15T02:00:00Z' };

  it('waits until the slot plus its offset', () => {
    const p = plan({
      schedules: [jittered],
      marks,
      now: new Date(slotMs + offsetMs - 1).toISOString(),
    });
    expect(p.slots).toEqual([]);
    expect(p.wakeAt?.getTime()).toBe(slotMs + offsetMs);
  });

  it('fires later but keeps the nominal slot as identity', () => {
    const p = plan({
      schedules: [jittered],
      marks,
      now: new Date(slotMs + offsetMs).toISOString(),
    });
    expect(p.slots).toHaveLength(1);
    expect(p.slots[0]).toMatchObject({
      kind: 'fire',
      slotAt: at('2026-06-16T02:00:00Z'),
      fireAt: new Date(slotMs + offsetMs),
      catchup: false,
    });
    expect(p.marks.get('nightly-api')).toEqual(at('2026-06-16T02:00:00Z'));
  });

  it('gives the same offset in every plan', () => {
    const fireAts = ['2026-06-17T02:00:00Z', '2026-06-18T02:00:00Z'].map((slot) => {
      const p = plan({
        schedules: [jittered],
        marks: { 'nightly-api': new Date(at(slot).getTime() - 24 * HOUR).toISOString() },
        now: new Date(at(slot).getTime() + 10 * MINUTE).toISOString(),
      });
      const fire = p.slots[0]!;
      return fire.kind === 'fire' ? fire.fireAt.getTime() - fire.slotAt.getTime() : null;
    });
    expect(fireAts).toEqual([offsetMs, offsetMs]);
  });
});

describe('planTick: clock jumps', () => {
  const halfHourly = schedule('half', '*/30 * * * *');

  it.each<[string, Case, string[]]>([
    [
      'treats a jump forward like downtime: the latest slot in the window is caught up',
      {
        schedules: [halfHourly],
        marks: { half: '2026-06-16T10:00:00Z' },
        now: '2026-06-16T12:45:00Z',
      },
      [
        'missed half 2026-06-16T10:30:00.000Z',
        'missed half 2026-06-16T11:00:00.000Z',
        'missed half 2026-06-16T11:30:00.000Z',
        'missed half 2026-06-16T12:00:00.000Z',
        'catchup half 2026-06-16T12:30:00.000Z',
      ],
    ],
    [
      'treats a jump forward past the window like downtime: everything is missed',
      {
        schedules: [schedule('half', '*/30 * * * *', { catchupMs: 10 * MINUTE })],
        marks: { half: '2026-06-16T10:00:00Z' },
        now: '2026-06-16T11:15:00Z',
      },
      ['missed half 2026-06-16T10:30:00.000Z', 'missed half 2026-06-16T11:00:00.000Z'],
    ],
    [
      'fires nothing when the clock went back behind the mark',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T04:00:00Z' },
        now: '2026-06-16T03:00:01Z',
      },
      [],
    ],
    [
      'does not fire the marked slot again when the clock reaches it a second time',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T04:00:00Z' },
        now: '2026-06-16T04:00:01Z',
      },
      [],
    ],
    [
      'fires the next slot once the clock passes it again',
      {
        schedules: [hourly],
        marks: { hourly: '2026-06-16T04:00:00Z' },
        now: '2026-06-16T05:00:01Z',
      },
      ['fire hourly 2026-06-16T05:00:00.000Z'],
    ],
  ])('%s', (_title, c, expected) => {
    expect(lines(plan(c))).toEqual(expected);
  });

  it('wakes after the mark, never at a slot at or before it, when the clock went back', () => {
    const p = plan({
      schedules: [hourly],
      marks: { hourly: '2026-06-16T04:00:00Z' },
      now: '2026-06-16T03:00:01Z',
    });
    expect(p.wakeAt?.toISOString()).toBe('2026-06-16T05:00:00.000Z');
    expect(p.marks.size).toBe(0);
  });
});

describe('planTick: daylight saving time', () => {
  it.each<[string, Case, string[], string]>([
    [
      'Europe/Berlin 2026-03-29: 02:30 does not exist and fires once at 03:00 CEST',
      {
        schedules: [schedule('be', '30 2 * * *', { timezone: 'Europe/Berlin' })],
        marks: { be: '2026-03-28T01:30:00Z' },
        now: '2026-03-29T01:00:05Z',
      },
      ['fire be 2026-03-29T01:00:00.000Z'],
      '2026-03-30T00:30:00.000Z',
    ],
    [
      'Europe/Berlin 2026-10-25: 02:30 occurs twice and fires only the first time',
      {
        schedules: [schedule('be', '30 2 * * *', { timezone: 'Europe/Berlin' })],
        marks: { be: '2026-10-25T00:30:00Z' },
        now: '2026-10-25T01:30:05Z',
      },
      [],
      '2026-10-26T01:30:00.000Z',
    ],
    [
      'Europe/Berlin 2026-10-25: an hourly schedule keeps firing every real hour',
      {
        schedules: [schedule('be', '0 * * * *', { timezone: 'Europe/Berlin' })],
        marks: { be: '2026-10-25T00:00:00Z' },
        now: '2026-10-25T01:00:05Z',
      },
      ['fire be 2026-10-25T01:00:00.000Z'],
      '2026-10-25T02:00:00.000Z',
    ],
    [
      'America/New_York 2026-03-08: 02:30 does not exist and fires once at 03:00 EDT',
      {
        schedules: [schedule('ny', '30 2 * * *', { timezone: 'America/New_York' })],
        marks: { ny: '2026-03-07T07:30:00Z' },
        now: '2026-03-08T07:00:05Z',
      },
      ['fire ny 2026-03-08T07:00:00.000Z'],
      '2026-03-09T06:30:00.000Z',
    ],
    [
      'America/New_York 2026-11-01: 01:30 occurs twice and fires only the first time',
      {
        schedules: [schedule('ny', '30 1 * * *', { timezone: 'America/New_York' })],
        marks: { ny: '2026-11-01T05:30:00Z' },
        now: '2026-11-01T06:30:05Z',
      },
      [],
      '2026-11-02T06:30:00.000Z',
    ],
    [
      'America/New_York 2026-11-01: a daemon down over the change catches up 01:30 EDT once',
      {
        schedules: [
          schedule('ny', '30 1 * * *', { timezone: 'America/New_York', catchupMs: 2 * HOUR }),
        ],
        marks: { ny: '2026-10-31T05:30:00Z' },
        now: '2026-11-01T06:31:00Z',
      },
      ['catchup ny 2026-11-01T05:30:00.000Z'],
      '2026-11-02T06:30:00.000Z',
    ],
  ])('%s', (_title, c, expected, wakeAt) => {
    const p = plan(c);
    expect(lines(p)).toEqual(expected);
    expect(p.wakeAt?.toISOString()).toBe(wakeAt);
  });
});

describe('planTick: bounded backlog', () => {
  it('lists the most recent missed slots up to the cap and counts the rest', () => {
    const p = plan({
      schedules: [everyMinute],
      marks: { minutely: '2026-06-16T10:00:00Z' },
      now: '2026-06-16T10:10:05Z',
      maxMissedPerSchedule: 3,
    });
    expect(lines(p)).toEqual([
      'missed minutely 2026-06-16T10:07:00.000Z',
      'missed minutely 2026-06-16T10:08:00.000Z',
      'missed minutely 2026-06-16T10:09:00.000Z',
      'fire minutely 2026-06-16T10:10:00.000Z',
    ]);
    expect(p.uncounted).toEqual(new Map([['minutely', 6]]));
  });

  it('caps a schedule that fires nothing at the same number of skips', () => {
    const p = plan({
      schedules: [schedule('minutely', '* * * * *', { enabled: false })],
      marks: { minutely: '2026-06-16T10:00:00Z' },
      now: '2026-06-16T10:10:05Z',
      maxMissedPerSchedule: 3,
    });
    expect(lines(p)).toEqual([
      'disabled minutely 2026-06-16T10:08:00.000Z',
      'disabled minutely 2026-06-16T10:09:00.000Z',
      'disabled minutely 2026-06-16T10:10:00.000Z',
    ]);
    expect(p.uncounted).toEqual(new Map([['minutely', 7]]));
    expect(p.marks.get('minutely')?.toISOString()).toBe('2026-06-16T10:10:00.000Z');
  });

  it('lists every slot of a backlog exactly at the cap and counts none', () => {
    const p = plan({
      schedules: [everyMinute],
      marks: { minutely: '2026-06-16T10:00:00Z' },
      now: '2026-06-16T10:04:05Z',
      maxMissedPerSchedule: 3,
    });
    expect(lines(p)).toHaveLength(4);
    expect(p.uncounted.size).toBe(0);
  });

  it('plans a year of every-second slots without walking them all', () => {
    const started = performance.now();
    const p = plan({
      schedules: [schedule('busy', '* * * * * *')],
      marks: { busy: '2025-06-16T10:00:00Z' },
      now: '2026-06-16T10:00:00.500Z',
    });
    const elapsedMs = performance.now() - started;
    console.log(`a year of every-second slots planned in ${elapsedMs.toFixed(0)} ms`);
    const skips = p.slots.filter((slot) => slot.kind === 'skip');
    expect(skips).toHaveLength(1000);
    expect(skips[0]!.slotAt.toISOString()).toBe('2026-06-16T09:43:20.000Z');
    expect(p.slots.at(-1)).toMatchObject({ kind: 'fire', slotAt: at('2026-06-16T10:00:00Z') });
    // 365 days of seconds, less the 1001 listed; counted from the observed spacing past the jump.
    expect(p.uncounted.get('busy')).toBe(365 * 24 * 3600 - 1001);
  });
});

describe('planTick: a fleet', () => {
  // 200 expressions in each of 5 zones, all firing at 2026-06-16T12:00:00Z (local hour `lh`).
  const zones: [string, number][] = [
    ['UTC', 12],
    ['Europe/Berlin', 14],
    ['Europe/London', 13],
    ['America/New_York', 8],
    ['Asia/Tokyo', 21],
  ];
  const fleet: Schedule[] = [];
  for (const [timezone, lh] of zones) {
    const expressions: string[] = [];
    for (let other = 0; other < 24 && expressions.length < 200; other += 1) {
      if (other === lh) continue;
      for (const dom of [
        '*',
        '1-31',
        '*/1',
        '1-15,16-31',
        '*/2,2-30/2',
        '1-28,29,30,31',
        '*/3,2-31/3,3-31/3',
        '1-10,11-20,21-31',
        '1-31/1',
      ]) {
        expressions.push(`0 ${lh},${other} ${dom} * *`);
      }
    }
    for (let i = 0; i < 2000; i += 1) {
      const cron = expressions[i % 200]!;
      fleet.push(
        schedule(
          `${timezone.toLowerCase().replace('/', '-')}-${String(i).padStart(4, '0')}`,
          cron,
          { timezone },
        ),
      );
    }
  }
  const marks = new Map(fleet.map((s) => [s.name, at('2026-06-16T11:00:00Z')]));

  it('plans 10,000 schedules due in the same second, every one', () => {
    expect(new Set(fleet.map((s) => `${s.timezone} ${s.cron}`)).size).toBe(1000);
    const started = performance.now();
    const p = planTick({
      schedules: fleet,
      marks,
      watchingSince: new Map(),
      now: at('2026-06-16T12:00:00.200Z'),
    });
    const elapsedMs = performance.now() - started;
    console.log(
      `10,000 due slots (1,000 distinct cron series) planned in ${elapsedMs.toFixed(1)} ms`,
    );
    expect(p.slots).toHaveLength(10_000);
    expect(
      p.slots.every(
        (slot) => slot.kind === 'fire' && slot.slotAt.toISOString() === '2026-06-16T12:00:00.000Z',
      ),
    ).toBe(true);
    const names = p.slots.map((slot) => slot.schedule.name);
    expect(names).toEqual([...names].sort());
    expect(p.marks.size).toBe(10_000);
  });

  it('plans the same with a fire cache kept across ticks, the due tick answering from memory', () => {
    const cache = new FireCache();
    const idle = planTick({
      schedules: fleet,
      marks,
      watchingSince: new Map(),
      now: at('2026-06-16T11:59:30Z'),
      fireCache: cache,
    });
    expect(idle.slots).toEqual([]);
    expect(idle.wakeAt?.toISOString()).toBe('2026-06-16T12:00:00.000Z');

    const now = at('2026-06-16T12:00:00.200Z');
    const started = performance.now();
    const due = planTick({
      schedules: fleet,
      marks,
      watchingSince: new Map(),
      now,
      fireCache: cache,
    });
    console.log(
      `10,000 due slots with a warm fire cache planned in ${(performance.now() - started).toFixed(1)} ms`,
    );
    const uncached = planTick({ schedules: fleet, marks, watchingSince: new Map(), now });
    expect(lines(due)).toEqual(lines(uncached));
    expect(due.wakeAt).toEqual(uncached.wakeAt);

    const next = planTick({
      schedules: fleet,
      marks: due.marks,
      watchingSince: new Map(),
      now: due.wakeAt!,
      fireCache: cache,
    });
    const fresh = planTick({
      schedules: fleet,
      marks: due.marks,
      watchingSince: new Map(),
      now: due.wakeAt!,
    });
    expect(next.slots.length).toBeGreaterThan(0);
    expect(lines(next)).toEqual(lines(fresh));
  });
});

describe('collectDue: bounded enumeration', () => {
  /** A synthetic series firing every `stepMs`, counting its calls. */
  function counted(next: NextFireFn): { next: NextFireFn; calls: () => number } {
    let calls = 0;
    return {
      next: (afterMs) => {
        calls += 1;
        return next(afterMs);
      },
      calls: () => calls,
    };
  }
  const everySecond: NextFireFn = (afterMs) => Math.floor(afterMs / 1000) * 1000 + 1000;
  const DAY_MS = 24 * HOUR;
  /** Every second of the first hour of every 30th day, nothing in between. */
  const bursts: NextFireFn = (afterMs) => {
    const candidate = Math.floor(afterMs / 1000) * 1000 + 1000;
    const periodStart = Math.floor(candidate / (30 * DAY_MS)) * 30 * DAY_MS;
    return candidate < periodStart + HOUR ? candidate : periodStart + 30 * DAY_MS;
  };

  it('walks a backlog of at most `keep` slots exactly', () => {
    const series = counted(everySecond);
    const due = collectDue(series.next, 0, 10_500, 10);
    expect(due).toEqual({
      listedMs: [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000],
      olderCount: 0,
      estimated: false,
      followingMs: 11_000,
    });
    expect(series.calls()).toBe(11);
  });

  it('jumps over a long even backlog in about 3 × keep calls', () => {
    const series = counted(everySecond);
    const untilMs = 1_000_000_000_500;
    const due = collectDue(series.next, 0, untilMs, 1001);
    expect(due.listedMs).toHaveLength(1001);
    expect(due.listedMs.at(-1)).toBe(1_000_000_000_000);
    expect(due.listedMs[0]).toBe(1_000_000_000_000 - 1000 * 1000);
    expect(due.olderCount).toBe(1_000_000_000 - 1001);
    expect(due.estimated).toBe(true);
    expect(series.calls()).toBeLessThanOrEqual(3 * 1001 + 2);
  });

  it('finds the latest slot of an uneven backlog exactly, with bounded calls', () => {
    const series = counted(bursts);
    // Ten bursts later, 20 minutes into the eleventh.
    const untilMs = 10 * 30 * DAY_MS + 20 * 60_000;
    const due = collectDue(series.next, 0, untilMs, 100);
    expect(due.listedMs.at(-1)).toBe(untilMs);
    expect(due.followingMs).toBe(untilMs + 1000);
    for (let i = 1; i < due.listedMs.length; i += 1) {
      expect(bursts(due.listedMs[i - 1]!)).toBe(due.listedMs[i]);
    }
    expect(due.listedMs.length).toBeGreaterThan(0);
    expect(due.listedMs.length).toBeLessThanOrEqual(100);
    expect(series.calls()).toBeLessThanOrEqual(101 + 32 * 400 + 100 + 1);
  });

  it('reports a series that stops firing with no following slot', () => {
    const due = collectDue(
      (afterMs) => (afterMs < 5000 ? everySecond(afterMs) : null),
      0,
      60_000,
      10,
    );
    expect(due.listedMs).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(due.followingMs).toBeNull();
  });

  it('lists nothing and reports the next slot when the bound is after `until`', () => {
    expect(collectDue(everySecond, 5000, 4000, 10)).toEqual({
      listedMs: [],
      olderCount: 0,
      estimated: false,
      followingMs: 6000,
    });
  });
});

describe('fire cache kept across ticks: it changes the cost of a plan, never its content', () => {
  const fleet = [
    schedule('hourly', '0 * * * *'),
    schedule('hourly-jitter', '0 * * * *', { jitterMs: 20 * MINUTE }),
    schedule('quarter-berlin', '*/15 * * * *', { timezone: 'Europe/Berlin' }),
    schedule('nightly-ny', '30 1 * * *', { timezone: 'America/New_York' }),
    schedule('off', '*/10 * * * *', { enabled: false }),
  ];
  const start = at('2026-03-07T22:05:00Z');
  const watchingSince = new Map(fleet.map((s) => [s.name, start]));

  /** Ticks every `stepMs` from `start`, carrying marks forward as the daemon does. */
  function run(cache: FireCache | undefined, stepMs: number, count: number): string[] {
    let marks = new Map<string, Date>();
    const out: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const now = new Date(start.getTime() + i * stepMs);
      const p = planTick({ schedules: fleet, marks, watchingSince, now, fireCache: cache });
      marks = new Map([...marks, ...p.marks]);
      out.push(`${now.toISOString()} wake ${p.wakeAt?.toISOString()} | ${lines(p).join(', ')}`);
    }
    return out;
  }

  it('answers a tick with nothing due from memory, computing no fire time', () => {
    const cache = new FireCache();
    const first = planTick({
      schedules: fleet,
      marks: new Map(),
      watchingSince,
      now: start,
      fireCache: cache,
    });
    const computed = cache.computedCount;
    expect(computed).toBeGreaterThan(0);
    const later = at('2026-03-07T22:05:30Z');
    const idle = planTick({
      schedules: fleet,
      marks: new Map(),
      watchingSince,
      now: later,
      fireCache: cache,
    });
    expect(cache.computedCount).toBe(computed);
    expect(idle.slots).toEqual([]);
    expect(first.wakeAt?.toISOString()).toBe('2026-03-07T22:10:00.000Z');
    expect(idle.wakeAt).toEqual(
      planTick({ schedules: fleet, marks: new Map(), watchingSince, now: later }).wakeAt,
    );
  });

  it('plans tick after tick exactly as without a cache, also across a DST change', () => {
    // 400 ticks of 97 s: about 11 hours, over New York's spring-forward night (8 March 2026).
    const uncached = run(undefined, 97_000, 400);
    expect(uncached.filter((line) => line.includes('fire nightly-ny'))).toHaveLength(1);
    expect(uncached.filter((line) => line.includes('disabled off')).length).toBeGreaterThan(0);
    expect(run(new FireCache(), 97_000, 400)).toEqual(uncached);
  });

  it('plans the same when the cache starts over at its bound, even mid-tick', () => {
    const uncached = run(undefined, 61_000, 300);
    const tiny = new FireCache(3);
    expect(run(tiny, 61_000, 300)).toEqual(uncached);
    expect(tiny.computedCount).toBeGreaterThan(3);
  });
});
