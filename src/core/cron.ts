/**
 * Cron date math: the only importer of croner. Used solely to compute fire times after a given
 * instant; firing is the daemon's own loop.
 *
 * Semantics (README, "Time semantics"): day-of-month and day-of-week combine with OR; each
 * expression is evaluated in its own zone; a wall time skipped by a spring-forward change fires
 * once at the first instant after the gap; a wall time that occurs twice fires once, at its first
 * occurrence, unless the expression fires at least hourly (its hour field covers all 24 hours),
 * which keeps firing every real hour (and so skips wall times in a gap, as the hour goes on).
 *
 * croner 11 with `fixedTimeRule: 'single-value'` does exactly this for expressions whose hour
 * field covers every hour, and for fixed-time expressions (one value each in second, minute, hour)
 * as long as the gap stays within one day. For the rest (`0,30 2 * * *`, `0 *\/2 * * *`,
 * `*\/10 2 * * *`) croner fires both occurrences of a repeated time and drops gap times, and it
 * drops a fixed time in a gap that crosses midnight (America/Nuuk skips 23:00-24:00 on the last
 * Saturday of March: `0 23 * * *` got no fire that day), so for every expression that misses some
 * hour this module drops the second occurrence and adds the fire after a gap itself (see
 * `contractFix`). `no-wildcard` was not kept: it made `0 0-23 * * *` fire
 * once in a repeated hour although it is hourly.
 */
import { Cron, CronPattern } from 'croner';
import { transitionsBetween } from './cron-zone.ts';
import { type CronFields, expandNickname } from './describe.ts';

export { describeCron } from './describe.ts';

const CRONER_OPTIONS = {
  mode: '5-or-6-parts',
  fixedTimeRule: 'single-value',
  paused: true,
} as const;

/**
 * How many compiled expressions are kept. One compiled expression serves every zone (see
 * `fireIn`) and holds ~3 KB once its year table is released, so the bound costs at most ~3 MB
 * while covering fleets of a thousand distinct expressions without recompiling.
 */
export const CRON_CACHE_LIMIT = 1024;

/** What a pattern needs beyond croner: whether this module corrects croner's DST handling. */
interface PatternTraits {
  /** Expression whose hour field misses some hours (fixed-time ones included). */
  readonly contractFix: boolean;
}

interface Compiled {
  readonly cron: Cron;
  readonly traits: PatternTraits;
}

/** Least-recently-used map: a hit moves the entry to the end, an insert past `limit` drops the oldest. */
class LruCache<V> {
  private readonly entries = new Map<string, V>();
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
  get size(): number {
    return this.entries.size;
  }
}

/** Compiled patterns by expression text; the zone is chosen per call. */
const compiledCache = new LruCache<Compiled>(CRON_CACHE_LIMIT);

/** Number of compiled expressions held now; for tests and metrics. */
export function cronCacheSize(): number {
  return compiledCache.size;
}

let compiledCount = 0;

/** How many times an expression was compiled since start (cache misses); for tests and metrics. */
export function cronCompileCount(): number {
  return compiledCount;
}

/** Where croner 11 keeps a job's parsed pattern (checked at run time, see `patternOf`). */
interface CronerInternals {
  _states?: { pattern?: unknown };
}

/** The pattern a `Cron` parsed, or null if a croner upgrade moved it. */
function patternOf(cron: Cron): CronPattern | null {
  const pattern = (cron as unknown as CronerInternals)._states?.pattern;
  return pattern instanceof CronPattern ? pattern : null;
}

const NO_YEARS: number[] = [];

/**
 * Whether day-of-month and day-of-week must both match, as Vixie cron decides it: they combine
 * with OR only when both are restricted, and a field that starts with `*` (`*`, `*\/2`) counts as
 * unrestricted (Vixie's DOM_STAR/DOW_STAR), so `0 0 *\/2 * 1` fires on odd days that are
 * Mondays, not on every odd day and every Monday. croner's OR mode treats only a bare `*` so.
 */
function vixieAnd(expression: string): boolean {
  const fields = expandNickname(expression);
  if (typeof fields === 'string') return false;
  const starred = (field: string) => field.startsWith('*') || field.startsWith('?');
  return starred(fields.dayOfMonth) || starred(fields.dayOfWeek);
}

function compiled(expression: string): Compiled {
  let entry = compiledCache.get(expression);
  if (!entry) {
    const options = { ...CRONER_OPTIONS, domAndDow: vixieAnd(expression) };
    const cron = new Cron(expression, { ...options, timezone: 'UTC' });
    compiledCount += 1;
    const own = patternOf(cron);
    const pattern = own ?? new CronPattern(expression, 'UTC', options);
    const everyHour = pattern.hour.every((value) => value !== 0);
    // croner builds a 10,000-entry year table for every pattern (~80 KB, nearly all of a compiled
    // pattern) and reads it only when the year is not `*`; with 5 or 6 fields it always is.
    if (own?.starYear === true) own.year = NO_YEARS;
    entry = { cron, traits: { contractFix: !everyHour } };
    compiledCache.set(expression, entry);
  }
  return entry;
}

/**
 * croner's next run of a compiled expression in `timezone`. A `Cron` reads its zone from
 * `options.timezone` on every call (nothing zone-specific is computed when it is built), so one
 * compiled pattern serves all zones: a fleet of 200 expressions over 5 zones compiles 200, not
 * 1,000. Calls are synchronous, so setting the zone right before the call cannot interleave.
 */
function fireIn(cron: Cron, timezone: string, after: Date): Date | null {
  cron.options.timezone = timezone;
  return cron.nextRun(after);
}

const NEVER_FIRES_FROM = new Date('2000-01-01T00:00:00Z');

/**
 * Checks an expression: 5 fields, or 6 with seconds first, or a nickname (`@daily` ...). Returns
 * null when it is valid and fires at least once, else what is wrong with what was expected, e.g.
 * `never fires (no date matches it) (expected an expression that matches at least one date)`.
 */
export function checkCronExpression(expression: string): string | null {
  const cached = verdictCache.get(expression);
  if (cached !== undefined) return cached.problem;
  const problem = findCronProblem(expression);
  verdictCache.set(expression, { problem });
  return problem;
}

/** Expressions already checked: a fleet repeats a few hundred of them thousands of times. */
const verdictCache = new LruCache<{ problem: string | null }>(CRON_CACHE_LIMIT * 4);

function findCronProblem(expression: string): string | null {
  const fields: CronFields | string = expandNickname(expression);
  if (typeof fields === 'string') return fields;
  if (fields.dayOfWeek.includes('+')) {
    return `"+" (day-of-month AND day-of-week) is not supported (expected day-of-month and day-of-week to combine with OR, as in cron)`;
  }
  let next: Date | null;
  try {
    next = fireIn(compiled(fields.text).cron, 'UTC', NEVER_FIRES_FROM);
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '');
    return `${reason.charAt(0).toLowerCase()}${reason.slice(1)} (expected ${fields.seconds === null ? '' : 'second '}minute hour day-of-month month day-of-week, e.g. "30 2 * * 1-5")`;
  }
  if (next === null) {
    return 'never fires (no date matches it) (expected an expression that matches at least one date, e.g. not 31 February)';
  }
  return null;
}

/** Whether `at` is the second pass of a wall time repeated by a fall-back change. */
function isRepeatedWallTime(timezone: string, atMs: number): boolean {
  // Offsets move back by at most a few hours; look for a fold that `at` lies in.
  for (const t of transitionsBetween(timezone, atMs - 4 * 3_600_000, atMs)) {
    const foldMs = t.offsetBeforeMs - t.offsetAfterMs;
    if (foldMs > 0 && atMs >= t.at && atMs < t.at + foldMs) return true;
  }
  return false;
}

/** The first gap in `(fromMs, toMs]` whose skipped wall times hold a match: its end instant. */
function firstMatchedGap(
  expression: string,
  timezone: string,
  fromMs: number,
  toMs: number,
): number | null {
  for (const t of transitionsBetween(timezone, fromMs, toMs)) {
    if (t.offsetAfterMs <= t.offsetBeforeMs) continue;
    const gapStartWallMs = t.at + t.offsetBeforeMs;
    const gapEndWallMs = t.at + t.offsetAfterMs;
    // The expression evaluated in UTC: its "wall times" tell whether the gap held a match.
    const match = fireIn(compiled(expression).cron, 'UTC', new Date(gapStartWallMs - 1));
    if (match !== null && match.getTime() < gapEndWallMs) return t.at;
  }
  return null;
}

/** How far ahead a gap is looked for when the expression never fires again (it always does). */
const GAP_HORIZON_MS = 366 * 24 * 3_600_000;

/** The first fire of `expression` in `timezone` strictly after `after`, or null if it never fires again. */
export function nextFireAfter(expression: string, timezone: string, after: Date): Date | null {
  const { cron, traits } = compiled(expression);
  if (!traits.contractFix) return fireIn(cron, timezone, after);
  let cursor = after;
  for (let guard = 0; guard < 10_000; guard += 1) {
    const candidate = fireIn(cron, timezone, cursor);
    const limitMs = candidate?.getTime() ?? cursor.getTime() + GAP_HORIZON_MS;
    const gapEnd = firstMatchedGap(expression, timezone, cursor.getTime(), limitMs);
    if (gapEnd !== null) return new Date(gapEnd);
    if (candidate === null) return null;
    if (!isRepeatedWallTime(timezone, candidate.getTime())) return candidate;
    cursor = candidate;
  }
  return null;
}

/** Fires in `(after, until]`, oldest first, at most `limit` of them. */
export function firesBetween(
  expression: string,
  timezone: string,
  after: Date,
  until: Date,
  limit: number,
): Date[] {
  const fires: Date[] = [];
  let cursor = after;
  while (fires.length < limit) {
    const next = nextFireAfter(expression, timezone, cursor);
    if (next === null || next.getTime() > until.getTime()) break;
    fires.push(next);
    cursor = next;
  }
  return fires;
}
