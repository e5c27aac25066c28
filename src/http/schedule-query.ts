/**
 * Which schedules a page of the status page or of `GET /api/schedules` shows, and in which order:
 * `q` (a part of the name, project, project name or a branch, case-insensitive), `state` (a
 * filter of core/attention.ts), `limit` (at most MAX_PAGE_SIZE) and `cursor` (opaque: where the
 * previous page ended). The order is "needs attention first" (failing, late, then the rest by
 * next fire, then name); the cursor is the sort key of the last schedule shown, so the next page
 * starts after it even when schedules moved. The ledger is read in slices that yield to the
 * event loop, so a fleet of 100,000 schedules never holds up a tick.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  type AttentionKey,
  attentionKey,
  attentionOf,
  compareAttention,
  matchesFilter,
  type SlotSummary,
  STATE_FILTERS,
  type StateFilter,
} from '../core/attention.ts';
import type { Schedule } from '../core/model.ts';
import { quoteInput } from '../core/quote.ts';
import type { ScheduleSet } from '../daemon/schedule-set.ts';
import type { LedgerStore } from '../ports.ts';
import { HttpError } from './respond.ts';
import { cachedNextFire } from './view.ts';

export { STATE_FILTERS, type StateFilter };

/** Schedules per page at most; the API's default, and the page's size. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
/** Longest `q` accepted (names are at most 100 characters, projects 200). */
const MAX_QUERY_CHARS = 200;
/** Schedules summarised per ledger call, between two yields to the event loop. */
const SLICE = 512;

export interface ScheduleQuery {
  readonly q: string | null;
  readonly state: StateFilter | null;
  readonly limit: number;
  /** The sort key the previous page ended with. */
  readonly after: AttentionKey | null;
}

export interface SchedulePage {
  readonly schedules: readonly Schedule[];
  /** What the ledger says about each schedule shown (absent: no slot yet). */
  readonly summaries: ReadonlyMap<string, SlotSummary>;
  /** Schedules matching `q` and `state`, on every page. */
  readonly total: number;
  /** How many matching schedules come before this page. */
  readonly offset: number;
  /** The cursor of the next page; null on the last. */
  readonly nextCursor: string | null;
}

/** The cursor that continues after the schedule with sort key `key`. */
export function encodeCursor(key: AttentionKey): string {
  return Buffer.from(`${key.rank}.${key.nextMs}.${key.name}`, 'utf8').toString('base64url');
}

const CURSOR = /^([0-2])\.([0-9]{1,16})\.([A-Za-z0-9._-]{1,100})$/;

function decodeCursor(text: string): AttentionKey {
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(text)
    ? Buffer.from(text, 'base64url').toString('utf8')
    : '';
  const match = CURSOR.exec(decoded);
  if (!match) {
    throw new HttpError(
      400,
      `cursor ${quoteInput(text)} is not one this server gave (expected the next_cursor of a previous page)`,
    );
  }
  return { rank: Number(match[1]), nextMs: Number(match[2]), name: match[3] as string };
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

/** True when `q` (lower case) is part of the name, the project (or its name) or a branch. */
function matchesText(
  schedule: Schedule,
  q: string,
  projectName: (project: string) => string | null,
): boolean {
  return (
    schedule.name.toLowerCase().includes(q) ||
    schedule.project.toLowerCase().includes(q) ||
    (projectName(schedule.project)?.toLowerCase().includes(q) ?? false) ||
    schedule.branches.some((branch) => branch.toLowerCase().includes(q))
  );
}

/** Index of the first entry whose key sorts after `key`. */
function startAfter(sorted: readonly { key: AttentionKey }[], key: AttentionKey): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareAttention((sorted[middle] as { key: AttentionKey }).key, key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** One page of the schedules that match `query`, needs-attention first, with the count of all that match. */
export async function selectSchedules(
  ledger: LedgerStore,
  set: ScheduleSet,
  query: ScheduleQuery,
  now: Date,
  projectName: (project: string) => string | null = () => null,
): Promise<SchedulePage> {
  let candidates: readonly Schedule[] = set.sortedByName();
  if (query.q !== null) {
    const q = query.q;
    candidates = candidates.filter((s) => matchesText(s, q, projectName));
  }
  const summaries = new Map<string, SlotSummary>();
  for (let start = 0; start < candidates.length; start += SLICE) {
    if (start > 0) await yieldToLoop();
    const slice = candidates.slice(start, start + SLICE).map((s) => s.name);
    for (const [name, summary] of await ledger.slotSummaries(slice)) summaries.set(name, summary);
  }
  const empty: SlotSummary = { newest: null, outcome: null };
  const entries: { schedule: Schedule; key: AttentionKey }[] = [];
  for (const schedule of candidates) {
    const summary = summaries.get(schedule.name) ?? empty;
    const attention = attentionOf(summary, now);
    const inChain =
      query.state === 'chains' &&
      (schedule.after !== null || set.downstreams(schedule.name).length > 0);
    if (
      query.state !== null &&
      !matchesFilter(query.state, { enabled: schedule.enabled, inChain }, summary, attention)
    )
      continue;
    entries.push({
      schedule,
      key: attentionKey(attention, cachedNextFire(schedule, now), schedule.name),
    });
  }
  entries.sort((a, b) => compareAttention(a.key, b.key));
  const start = query.after === null ? 0 : startAfter(entries, query.after);
  const page = entries.slice(start, start + query.limit);
  const last = page[page.length - 1];
  const more = start + page.length < entries.length;
  return {
    schedules: page.map((entry) => entry.schedule),
    summaries,
    total: entries.length,
    offset: start,
    nextCursor: more && last ? encodeCursor(last.key) : null,
  };
}
