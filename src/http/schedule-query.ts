/**
 * Which schedules a page of the status page or of `GET /api/schedules` shows: `q` (a substring of
 * the name or project, case-insensitive), `state` (the state of the schedule's newest slot, or
 * `none` before its first), `limit` (at most MAX_PAGE_SIZE) and `cursor` (opaque: where the
 * previous page ended). The list is sorted once per reload; a state filter reads the ledger in
 * slices that yield to the event loop, so a fleet of 100,000 schedules never holds up a tick.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Schedule, SlotState } from '../core/model.ts';
import { quoteInput } from '../core/quote.ts';
import { compareNames, type ScheduleSet } from '../daemon/schedule-set.ts';
import type { LedgerStore } from '../ports.ts';
import { HttpError } from './respond.ts';
import { newestSlotState } from './view.ts';

/** Schedules per page at most, and by default. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
/** Longest `q` accepted (names are at most 100 characters, projects 200). */
const MAX_QUERY_CHARS = 200;
/** Ledger lookups between two yields to the event loop. */
const SLICE = 256;

export const STATE_FILTERS = [
  'pending',
  'triggered',
  'running',
  'finished',
  'skipped',
  'failed',
  'none',
] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export interface ScheduleQuery {
  readonly q: string | null;
  readonly state: StateFilter | null;
  readonly limit: number;
  /** The name the previous page ended with. */
  readonly after: string | null;
}

export interface SchedulePage {
  readonly schedules: readonly Schedule[];
  /** Schedules matching `q` and `state`, on every page. */
  readonly total: number;
  /** The cursor of the next page; null on the last. */
  readonly nextCursor: string | null;
}

/** The cursor that continues after the schedule named `name`. */
export function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodeCursor(text: string): string {
  const name = /^[A-Za-z0-9_-]{1,200}$/.test(text)
    ? Buffer.from(text, 'base64url').toString('utf8')
    : '';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
    throw new HttpError(
      400,
      `cursor ${quoteInput(text)} is not one this server gave (expected the next_cursor of a previous page)`,
    );
  }
  return name;
}

/** Reads `q`, `state`, `limit` and `cursor` from `url`; a bad value is a 400 saying what is expected. */
export function parseScheduleQuery(url: URL, defaultLimit = DEFAULT_PAGE_SIZE): ScheduleQuery {
  const params = url.searchParams;
  const q = params.get('q')?.trim() || null;
  if (q !== null && q.length > MAX_QUERY_CHARS) {
    throw new HttpError(
      400,
      `q is ${q.length} characters long (expected at most ${MAX_QUERY_CHARS})`,
    );
  }
  const stateText = params.get('state') || null;
  if (stateText !== null && !(STATE_FILTERS as readonly string[]).includes(stateText)) {
    throw new HttpError(
      400,
      `state must be one of ${STATE_FILTERS.join(', ')} (got ${quoteInput(stateText)})`,
    );
  }
  const limitText = params.get('limit') || null;
  let limit = defaultLimit;
  if (limitText !== null) {
    limit = /^[0-9]{1,3}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new HttpError(
        400,
        `limit must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${quoteInput(limitText)})`,
      );
    }
  }
  const cursor = params.get('cursor') || null;
  return {
    q: q?.toLowerCase() ?? null,
    state: stateText as StateFilter | null,
    limit,
    after: cursor === null ? null : decodeCursor(cursor),
  };
}

/** Index of the first schedule after `name` in the sorted list. */
function startAfter(sorted: readonly Schedule[], name: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareNames((sorted[middle] as Schedule).name, name) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** One page of the schedules that match `query`, with the count of all that match. */
export async function selectSchedules(
  ledger: LedgerStore,
  set: ScheduleSet,
  query: ScheduleQuery,
): Promise<SchedulePage> {
  const sorted = set.sortedByName();
  let matching: readonly Schedule[] = sorted;
  if (query.q !== null) {
    const q = query.q;
    matching = sorted.filter(
      (s) => s.name.toLowerCase().includes(q) || s.project.toLowerCase().includes(q),
    );
  }
  if (query.state !== null) {
    const kept: Schedule[] = [];
    for (let i = 0; i < matching.length; i += 1) {
      if (i > 0 && i % SLICE === 0) await yieldToLoop();
      const schedule = matching[i] as Schedule;
      const state: SlotState | 'none' = (await newestSlotState(ledger, schedule.name)) ?? 'none';
      if (state === query.state) kept.push(schedule);
    }
    matching = kept;
  }
  const start = query.after === null ? 0 : startAfter(matching, query.after);
  const schedules = matching.slice(start, start + query.limit);
  const last = schedules[schedules.length - 1];
  const more = start + schedules.length < matching.length;
  return {
    schedules,
    total: matching.length,
    nextCursor: more && last ? encodeCursor(last.name) : null,
  };
}
