/**
 * The cron wrapper against a brute-force oracle of the contract's time semantics (README, "Time
 * semantics"), minute by minute around every 2026 offset change of zones with unusual ones: a gap
 * across midnight (America/Nuuk), changes at midnight (America/Santiago, America/Havana, Asia/Gaza),
 * half-hour changes (Australia/Lord_Howe), odd offsets (Pacific/Chatham) and the usual ones.
 * The oracle reads each zone's wall clock from Intl, never from the code under test:
 * - a wall minute that matches fires at its instant, once (its first occurrence when repeated),
 *   or at every occurrence when the expression covers every hour;
 * - a gap whose skipped wall minutes hold a match fires once at its end, unless the expression
 *   covers every hour (it keeps the real-hour cadence);
 * - day-of-month and day-of-week combine with OR only when neither starts with `*`.
 */
import { expect, it } from 'vitest';
import { firesBetween } from '../../src/core/cron.ts';

const ZONES = [
  'America/New_York',
  'Europe/Berlin',
  'America/Nuuk',
  'America/Santiago',
  'America/Havana',
  'Asia/Gaza',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
];
const EXPRESSIONS = [
  '30 2 * * *',
  '0 0 * * *',
  '30 0 * * *',
  '0,30 2 * * *',
  '*/10 1-3 * * *',
  '15 * * * *',
  '0 */2 * * *',
  '30 23 * * *',
  '0 23 * * 6',
  '0 2 1 * 0',
  '0 3 * * *',
  '*/20 0-2 * * *',
  '0 22-23 * * *',
  '0 0 */2 * 6',
];

function parseField(field: string, lo: number, hi: number): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '*', step] = part.split('/');
    let from = lo;
    let to = hi;
    if (range !== '*') {
      const [a, b] = range.split('-');
      from = Number(a);
      to = b !== undefined ? Number(b) : step ? hi : from;
    }
    for (let v = from; v <= to; v += step ? Number(step) : 1)
      values.add(hi === 7 && v === 7 ? 0 : v);
  }
  return values;
}

interface Wall {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
  key: number;
}

function matcher(expression: string) {
  const [mi = '', h = '', dom = '', mon = '', dow = ''] = expression.split(' ');
  const minutes = parseField(mi, 0, 59);
  const hours = parseField(h, 0, 23);
  const days = parseField(dom, 1, 31);
  const months = parseField(mon, 1, 12);
  const weekdays = parseField(dow, 0, 7);
  const anyDay = dom.startsWith('*') || dow.startsWith('*');
  return {
    everyHour: hours.size === 24,
    matches(w: Omit<Wall, 'key'>): boolean {
      if (!minutes.has(w.minute) || !hours.has(w.hour) || !months.has(w.month)) return false;
      return anyDay
        ? days.has(w.day) && weekdays.has(w.weekday)
        : days.has(w.day) || weekdays.has(w.weekday);
    },
  };
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const walls = new Map<string, Wall>();

function wallAt(zone: string, atMs: number): Wall {
  const cacheKey = `${zone} ${atMs}`;
  const cached = walls.get(cacheKey);
  if (cached) return cached;
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  for (const part of format.formatToParts(atMs)) parts[part.type] = part.value;
  const [year, month, day] = [Number(parts.year), Number(parts.month), Number(parts.day)];
  const [hour, minute] = [Number(parts.hour), Number(parts.minute)];
  const wall = {
    minute,
    hour,
    day,
    month,
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
    key: Date.UTC(year, month - 1, day, hour, minute),
  };
  walls.set(cacheKey, wall);
  return wall;
}

function oracle(expression: string, zone: string, fromMs: number, toMs: number): string[] {
  const { everyHour, matches } = matcher(expression);
  const fires = new Set<number>();
  const seen = new Set<number>();
  let previousKey: number | null = null;
  for (let t = fromMs - 6 * 3_600_000; t <= toMs; t += 60_000) {
    const wall = wallAt(zone, t);
    if (previousKey !== null && wall.key > previousKey + 60_000 && !everyHour) {
      for (let k = previousKey + 60_000; k < wall.key; k += 60_000) {
        const d = new Date(k);
        const skipped = {
          minute: d.getUTCMinutes(),
          hour: d.getUTCHours(),
          day: d.getUTCDate(),
          month: d.getUTCMonth() + 1,
          weekday: d.getUTCDay(),
        };
        if (matches(skipped)) fires.add(t);
      }
    }
    if (matches(wall) && (everyHour || !seen.has(wall.key))) fires.add(t);
    seen.add(wall.key);
    previousKey = wall.key;
  }
  return [...fires]
    .filter((t) => t > fromMs && t <= toMs)
    .sort((a, b) => a - b)
    .map((t) => new Date(t).toISOString());
}

/** Instants (to 3 h) at which `zone` changes its offset in 2026. */
function changes(zone: string): number[] {
  const found: number[] = [];
  let t = Date.UTC(2026, 0, 1);
  let previous = wallAt(zone, t).key - t;
  for (; t < Date.UTC(2027, 0, 1); t += 3 * 3_600_000) {
    const offset = wallAt(zone, t).key - t;
    if (offset !== previous) found.push(t);
    previous = offset;
  }
  walls.clear();
  return found;
}

it('fires as the brute-force oracle says around every 2026 offset change', {
  timeout: 120_000,
}, () => {
  const problems: string[] = [];
  for (const zone of ZONES) {
    for (const changeMs of changes(zone)) {
      const fromMs = changeMs - 36 * 3_600_000;
      const toMs = changeMs + 36 * 3_600_000;
      for (const expression of EXPRESSIONS) {
        const expected = oracle(expression, zone, fromMs, toMs);
        const actual = firesBetween(expression, zone, new Date(fromMs), new Date(toMs), 10_000).map(
          (d) => d.toISOString(),
        );
        const missing = expected.filter((x) => !actual.includes(x));
        const extra = actual.filter((x) => !expected.includes(x));
        if (missing.length > 0 || extra.length > 0)
          problems.push(`${zone} "${expression}": missing [${missing}] extra [${extra}]`);
      }
    }
  }
  expect(problems).toEqual([]);
});
