/**
 * UTC offsets and DST transitions of IANA zones, from the runtime's own tz data (Intl). Pure: no
 * clock, no I/O. Used by the cron wrapper to apply the contract's gap and fold rules.
 */
import { DAY, SECOND } from './time.ts';

/** A change of a zone's UTC offset: from `at` on, local time is UTC + `offsetAfterMs`. */
interface ZoneTransition {
  readonly at: number;
  readonly offsetBeforeMs: number;
  readonly offsetAfterMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, format);
  }
  return format;
}

/** The offset of `timezone` from UTC at instant `atMs` (local = UTC + offset), whole seconds. */
export function zoneOffsetMs(timezone: string, atMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(atMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wallMs = Date.UTC(
    fields.year ?? 1970,
    (fields.month ?? 1) - 1,
    fields.day ?? 1,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
  return wallMs - Math.floor(atMs / SECOND) * SECOND;
}

/** True when `timezone` is an IANA zone name the runtime knows (offsets such as `+02:00` are not). */
export function isKnownTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The runtime's own spelling of a zone name (`europe/berlin` -> `Europe/Berlin`), or null. */
export function canonicalTimeZone(timezone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const YEAR_CACHE_LIMIT = 256;
const yearCache = new Map<string, readonly ZoneTransition[]>();

/** Transitions that start in calendar year `year` (UTC), oldest first. */
function transitionsOfYear(timezone: string, year: number): readonly ZoneTransition[] {
  const key = `${timezone}\u0000${year}`;
  const cached = yearCache.get(key);
  if (cached) return cached;
  const found: ZoneTransition[] = [];
  const end = Date.UTC(year + 1, 0, 1);
  let previousMs = Date.UTC(year, 0, 1);
  let previousOffset = zoneOffsetMs(timezone, previousMs - SECOND);
  // A DST rule never changes a zone's offset twice within 12 hours, so a 12-hour walk with a
  // binary search to the second finds every transition.
  for (let probe = previousMs; probe <= end; probe += DAY / 2) {
    const offset = zoneOffsetMs(timezone, probe);
    if (offset !== previousOffset) {
      let low = previousMs;
      let high = probe;
      while (high - low > SECOND) {
        const middle = low + Math.floor((high - low) / 2 / SECOND) * SECOND;
        if (zoneOffsetMs(timezone, middle) === previousOffset) low = middle;
        else high = middle;
      }
      if (high < end) {
        found.push({ at: high, offsetBeforeMs: previousOffset, offsetAfterMs: offset });
      }
      previousOffset = offset;
    }
    previousMs = probe;
  }
  if (yearCache.size >= YEAR_CACHE_LIMIT) yearCache.clear();
  yearCache.set(key, found);
  return found;
}

/** Every transition of `timezone` at an instant in `(fromMs, toMs]`, oldest first. */
export function transitionsBetween(
  timezone: string,
  fromMs: number,
  toMs: number,
): ZoneTransition[] {
  const result: ZoneTransition[] = [];
  const lastYear = new Date(toMs).getUTCFullYear();
  for (let year = new Date(fromMs).getUTCFullYear(); year <= lastYear; year += 1) {
    for (const transition of transitionsOfYear(timezone, year)) {
      if (transition.at > fromMs && transition.at <= toMs) result.push(transition);
    }
  }
  return result;
}
