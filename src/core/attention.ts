/**
 * "Needs attention first": the order of the status page and `GET /api/schedules`, and its
 * filters, as pure functions of what the ledger says about each schedule and of `now`.
 *
 * - **failing**: the newest slot with an outcome failed (a failed trigger, or a build that
 *   finished with anything but `success`);
 * - **late**: otherwise, the newest slot is still pending LATE_AFTER_MS after its fire time (not
 *   sent yet: waiting for the API budget, retrying, or the daemon is down);
 * - **ok**: the rest, by next fire (soonest first; disabled and never-again last), then by name.
 */

import type { SlotState } from './model.ts';

/** A pending slot this long past its fire time counts as late. */
export const LATE_AFTER_MS = 60_000;

export type Attention = 'failing' | 'late' | 'ok';
const RANK: Readonly<Record<Attention, number>> = { failing: 0, late: 1, ok: 2 };

/** What the ledger says about one schedule: its newest slot and its newest outcome. */
export interface SlotSummary {
  readonly newest: { readonly state: SlotState; readonly fireAt: Date } | null;
  readonly outcome: { readonly state: SlotState; readonly buildStatus: string | null } | null;
}

/** True when a slot with an outcome failed: a failed trigger or a build that did not succeed. */
export function isFailure(state: string, buildStatus: string | null): boolean {
  return state === 'failed' || (state === 'finished' && buildStatus !== 'success');
}

/** Where one schedule stands (module comment). */
export function attentionOf(summary: SlotSummary, now: Date): Attention {
  if (summary.outcome && isFailure(summary.outcome.state, summary.outcome.buildStatus))
    return 'failing';
  const newest = summary.newest;
  if (newest?.state === 'pending' && now.getTime() - newest.fireAt.getTime() > LATE_AFTER_MS)
    return 'late';
  return 'ok';
}

/** The sort key of a schedule: attention, then next fire (null: never), then name. */
export interface AttentionKey {
  readonly rank: number;
  /** Next fire in ms since the epoch; `Number.MAX_SAFE_INTEGER` when it never fires again. */
  readonly nextMs: number;
  readonly name: string;
}

/** The key of a schedule with `attention` that fires next at `nextFire`. */
export function attentionKey(
  attention: Attention,
  nextFire: Date | null,
  name: string,
): AttentionKey {
  return {
    rank: RANK[attention],
    nextMs: nextFire ? nextFire.getTime() : Number.MAX_SAFE_INTEGER,
    name,
  };
}

/** The order schedules are listed in by name: case-insensitive, then exact. */
export function compareNames(a: string, b: string): number {
  const lowerA = a.toLowerCase();
  const lowerB = b.toLowerCase();
  if (lowerA !== lowerB) return lowerA < lowerB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The "needs attention first" order: failing, late, the rest; by next fire; by name. */
export function compareAttention(a: AttentionKey, b: AttentionKey): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.nextMs !== b.nextMs) return a.nextMs - b.nextMs;
  return compareNames(a.name, b.name);
}

/**
 * The filters of the page and the API (`state=`). `failing` and `late` are the attention
 * classes; `running` is a build in flight (triggered or running); `skipped`, `pending`,
 * `triggered`, `finished`, `failed` the newest slot's state, `none` no slot yet; `disabled` a
 * schedule with `enabled: false`; `chains` schedules in a chain (a chain, or an upstream of one).
 */
export const STATE_FILTERS = [
  'failing',
  'late',
  'running',
  'skipped',
  'chains',
  'disabled',
  'pending',
  'triggered',
  'finished',
  'failed',
  'none',
] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

/** True when a schedule (enabled or not, with `summary`, `attention`) passes `filter`. */
export function matchesFilter(
  filter: StateFilter,
  schedule: { readonly enabled: boolean; readonly inChain?: boolean },
  summary: SlotSummary,
  attention: Attention,
): boolean {
  const state = summary.newest?.state ?? 'none';
  switch (filter) {
    case 'failing':
    case 'late':
      return attention === filter;
    case 'running':
      return state === 'triggered' || state === 'running';
    case 'disabled':
      return !schedule.enabled;
    case 'chains':
      return schedule.inChain === true;
    default:
      return state === filter;
  }
}
