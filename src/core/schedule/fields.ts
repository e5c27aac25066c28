/**
 * The fields of a schedule entry: which keys exist and how each value is checked. Each check
 * returns the value or a message `what is wrong (what was expected)`. Pure.
 */
import { checkBranchPattern } from '../branch-glob.ts';
import { canonicalTimeZone, isKnownTimeZone } from '../cron-zone.ts';
import { closestMatch } from '../did-you-mean.ts';
import {
  OVERLAP_POLICIES,
  type OverlapPolicy,
  UNCHANGED_POLICIES,
  type UnchangedPolicy,
  UPSTREAM_STATUSES,
  type UpstreamStatus,
} from '../model.ts';
import { quoteInput } from '../quote.ts';
import { DAY, HOUR, MINUTE, parseDuration, SECOND } from '../time.ts';

/** Keys a file may hold at its top level (`$schema` lets JSON files name the schema). */
export const FILE_KEYS = ['schedules', '$schema'] as const;

/** Keys a schedule entry may hold, in the order the docs list them. */
export const SCHEDULE_KEYS = [
  'name',
  'cron',
  'after',
  'within',
  'timezone',
  'project',
  'branch',
  'branches',
  'catchup',
  'overlap',
  'unchanged',
  'jitter',
  'enabled',
  'stale',
] as const;

/** Keys of `stale:`. */
export const STALE_KEYS = ['older_than', 'max'] as const;

/** Keys of one upstream of `after:`. */
export const UPSTREAM_KEYS = ['project', 'branch', 'schedule', 'status'] as const;
/** Most upstreams of one chain. */
export const MAX_UPSTREAMS = 20;
/** A fan-in's default window: every upstream built within a day. */
export const DEFAULT_WITHIN_MS = 86_400_000;

export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
/**
 * Longest value of each string field (characters). Real values are far shorter; the limits keep
 * a hostile or broken file from carrying megabytes through every message, log line and page.
 * `schedules.schema.json` states the same limits (a test keeps them in step).
 */
export const MAX_LENGTHS = {
  name: 100,
  cron: 200,
  timezone: 64,
  project: 200,
  branch: 200,
  duration: 20,
} as const;
/** Most entries of `branches:`. */
export const MAX_BRANCHES = 100;
export const DEFAULT_CATCHUP_MS = 3_600_000;
export const DEFAULT_STALE_MAX = 10;
/** Jitter never reaches a day: a nightly slot must not drift into the next night. */
export const MAX_JITTER_MS = DAY;

/** A checked value, or what is wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = <T>(message: string): Checked<T> => ({ ok: false, message });

/** A short name for a value's YAML/JSON type, for "got ..." in messages. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return quoteInput(value);
  return `${typeof value === 'number' ? 'the number' : 'the boolean'} ${String(value)}`;
}

/** The unknown-key message, with a "did you mean" hint when a known key is close. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = closestMatch(key, known);
  return hint
    ? `unknown key (did you mean ${quoteInput(hint)}?)`
    : `unknown key (expected one of ${known.join(', ')})`;
}

export function checkName(value: unknown): Checked<string> {
  if (typeof value !== 'string' || value === '') {
    return bad(`is ${describeType(value)} (expected a name of letters, digits, ".", "_" or "-")`);
  }
  if (value.length > MAX_LENGTHS.name) return tooLong(value, MAX_LENGTHS.name);
  if (!NAME_PATTERN.test(value)) {
    return bad(
      `${quoteInput(value)} has characters other than A-Z a-z 0-9 . _ - (expected e.g. nightly-api)`,
    );
  }
  return ok(value);
}

function tooLong<T>(value: string, max: number): Checked<T> {
  return bad(`is ${value.length} characters long (expected at most ${max})`);
}

/**
 * A non-empty string of at most `maxLength` characters; numbers are refused so that `1.10` is
 * never read as `1.1`.
 */
export function checkText(value: unknown, expected: string, maxLength: number): Checked<string> {
  if (typeof value !== 'string') {
    const quote = typeof value === 'number' ? `; quote it: ${quoteInput(String(value))}` : '';
    return bad(`is ${describeType(value)} (expected ${expected}${quote})`);
  }
  if (value.length > maxLength) return tooLong(value, maxLength);
  if (value.trim() === '') return bad(`is empty (expected ${expected})`);
  if (value.trim() !== value) {
    return bad(`${quoteInput(value)} has spaces around it (expected ${expected})`);
  }
  return ok(value);
}

let zoneNames: readonly string[] | null = null;

const zoneVerdicts = new Map<string, Checked<string>>();

export function checkTimezone(value: unknown): Checked<string> {
  const text = checkText(value, 'an IANA time zone such as Europe/Berlin', MAX_LENGTHS.timezone);
  if (!text.ok) return text;
  // Building an Intl formatter costs tens of microseconds; thousands of entries share a few zones.
  let verdict = zoneVerdicts.get(text.value);
  if (!verdict) {
    verdict = checkZoneName(text.value);
    if (zoneVerdicts.size >= 1024) zoneVerdicts.clear();
    zoneVerdicts.set(text.value, verdict);
  }
  return verdict;
}

function checkZoneName(zone: string): Checked<string> {
  const canonical = canonicalTimeZone(zone);
  if (canonical !== null && isKnownTimeZone(zone) && /^[A-Za-z]/.test(zone)) {
    if (canonical.toLowerCase() === zone.toLowerCase() && canonical !== zone) {
      return bad(
        `${quoteInput(zone)} is not spelt as the tz database spells it (did you mean ${canonical}?)`,
      );
    }
    return ok(zone);
  }
  zoneNames ??= Intl.supportedValuesOf('timeZone');
  const hint = closestMatch(zone, zoneNames);
  return bad(
    `unknown time zone ${quoteInput(zone)} (expected an IANA zone such as Europe/Berlin or America/New_York${hint ? `; did you mean ${hint}?` : ''})`,
  );
}

/** One branch name or glob (`release/*`, `feature/**`). */
export function checkBranch(value: unknown): Checked<string> {
  const text = checkText(
    value,
    'a branch name such as main, or a glob such as release/*',
    MAX_LENGTHS.branch,
  );
  if (!text.ok) return text;
  const problem = checkBranchPattern(text.value);
  if (problem) {
    return bad(
      `${quoteInput(text.value)} ${problem} (expected a git branch name such as main, or a glob such as release/*)`,
    );
  }
  return ok(text.value);
}

/** A duration (`90s`, `15m`, `1h`, `7d`) or the number 0. */
export function checkDuration(value: unknown, zeroMeaning: string | null): Checked<number> {
  const expected = `a duration such as 90s, 15m, 1h or 7d${zeroMeaning ? `, or 0 for ${zeroMeaning}` : ''}`;
  if (value === 0) return ok(0);
  if (typeof value !== 'string') return bad(`is ${describeType(value)} (expected ${expected})`);
  if (value.length > MAX_LENGTHS.duration) return tooLong(value, MAX_LENGTHS.duration);
  const ms = parseDuration(value);
  if (ms === null) return bad(`${quoteInput(value)} is not a duration (expected ${expected})`);
  return ok(ms);
}

export function checkOverlap(value: unknown): Checked<OverlapPolicy> {
  return checkOneOf(value, OVERLAP_POLICIES);
}

export function checkUnchanged(value: unknown): Checked<UnchangedPolicy> {
  return checkOneOf(value, UNCHANGED_POLICIES);
}

export function checkUpstreamStatus(value: unknown): Checked<UpstreamStatus> {
  return checkOneOf(value, UPSTREAM_STATUSES);
}

/** One of `allowed`, with a "did you mean" for a near miss. */
function checkOneOf<T extends string>(value: unknown, allowed: readonly T[]): Checked<T> {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) {
    return ok(value as T);
  }
  const hint = typeof value === 'string' ? closestMatch(value, allowed) : null;
  return bad(
    `is ${describeType(value)} (expected one of ${allowed.join(', ')}${hint ? `; did you mean ${hint}?` : ''})`,
  );
}

export function checkBoolean(value: unknown): Checked<boolean> {
  if (typeof value === 'boolean') return ok(value);
  return bad(`is ${describeType(value)} (expected true or false)`);
}

export function checkStaleMax(value: unknown): Checked<number> {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1000) {
    return ok(value);
  }
  return bad(`is ${describeType(value)} (expected a whole number from 1 to 1000)`);
}

/** Milliseconds in the largest unit that divides them evenly: `90m`, `23h`, `7d`. */
export function exactDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Jitter rule: at most 1 day, and less than the shortest interval between two fires, so jittered
 * slots never swap order. `shortestIntervalMs` is null when the cron expression is invalid.
 */
export function checkJitter(jitterMs: number, shortestIntervalMs: number | null): string | null {
  if (jitterMs > MAX_JITTER_MS)
    return `${exactDuration(jitterMs)} is too long (expected at most 1d)`;
  if (shortestIntervalMs !== null && jitterMs > 0 && jitterMs >= shortestIntervalMs) {
    return `${exactDuration(jitterMs)} is not shorter than the ${exactDuration(shortestIntervalMs)} between two fires (expected less than the shortest interval of the cron expression)`;
  }
  return null;
}
