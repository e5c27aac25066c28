/**
 * What the status page and its JSON API show about each schedule: the expression and its plain
 * English, the next fire (jitter included), where it stands (core/attention.ts), recent slots as
 * `status` rows, the success rate over the last outcomes and, on the page, the last 30 slots and
 * build durations. A page of schedules costs a few ledger queries in all (`recentSlotsOf`), each
 * served by the `(schedule, slot_at)` index, so the cost grows with what is shown, not with the
 * ledger's size.
 */

import { type Attention, attentionOf, type SlotSummary } from '../core/attention.ts';
import { describeChain } from '../core/chain.ts';
import { describeCron, nextFireAfter } from '../core/cron.ts';
import { jitterOffsetMs } from '../core/jitter.ts';
import type { Schedule, SlotRecord } from '../core/model.ts';
import { formatInZone } from '../core/wall-time.ts';
import { type StatusRow, toStatusRow } from '../daemon/status-view.ts';
import type { LedgerStore } from '../ports.ts';

/** Slots that count toward the success rate, shown in the strip, and builds in the sparkline. */
export const SUCCESS_WINDOW = 30;
export const HISTORY_WINDOW = 30;

export interface SuccessRate {
  /** Slots with an outcome among the last SUCCESS_WINDOW: finished builds and failed triggers. */
  readonly outcomes: number;
  readonly succeeded: number;
  /** 0..100, rounded; null before the first outcome. */
  readonly percent: number | null;
}

/** One upstream of a chain as the page and JSON show it. */
export type UpstreamView =
  | { readonly schedule: string; readonly status: string }
  | { readonly project: string; readonly branch: string; readonly status: string };

export interface ScheduleView {
  readonly name: string;
  /** The cron expression; null for a chain (see `after`). */
  readonly cron: string | null;
  /** The cron expression in plain English, or the chain (`after acme/api main (success)`). */
  readonly description: string;
  /** A chain's upstreams and fan-in window; null for a cron schedule. */
  readonly after: { readonly upstreams: readonly UpstreamView[]; readonly withinMs: number } | null;
  /** Chains that fire after this schedule's builds (`after: - schedule: NAME`). */
  readonly downstreams: readonly string[];
  readonly timezone: string;
  readonly project: string;
  /** The project's name when `project` is a UUID the daemon has listed; else null. */
  readonly projectName: string | null;
  readonly branches: readonly string[];
  readonly enabled: boolean;
  readonly overlap: string;
  readonly unchanged: string;
  /** ISO-8601 UTC of the next fire (nominal slot plus jitter); null when disabled or never again. */
  readonly nextFireAt: string | null;
  /** The same instant on the schedule's wall clock, e.g. `2026-03-02 02:00:00 GMT+1`. */
  readonly nextFireLocal: string | null;
  /** `failing`, `late` or `ok` (core/attention.ts): what the list is sorted by first. */
  readonly attention: Attention;
  readonly recent: readonly StatusRow[];
  readonly successRate: SuccessRate;
}

/** A card of the page: the view plus the last HISTORY_WINDOW slots and build durations. */
export interface CardView extends ScheduleView {
  /** Newest first. */
  readonly history: readonly StatusRow[];
  /** Queued → finished of the last HISTORY_WINDOW builds, oldest first. */
  readonly durationsMs: readonly number[];
}

/** Success rate over slots with an outcome (newest first, at most SUCCESS_WINDOW). */
export function successRateOf(outcomes: readonly SlotRecord[]): SuccessRate {
  const rows = outcomes.slice(0, SUCCESS_WINDOW);
  const succeeded = rows.filter(
    (row) => row.state === 'finished' && row.buildStatus === 'success',
  ).length;
  return {
    outcomes: rows.length,
    succeeded,
    percent: rows.length === 0 ? null : Math.round((succeeded / rows.length) * 100),
  };
}

/**
 * When `schedule` fires next after `now`: its next nominal slot moved by its stable jitter (null
 * for a chain, which fires when its upstreams build).
 */
export function nextFireOf(schedule: Schedule, now: Date): Date | null {
  if (!schedule.enabled || schedule.cron === null) return null;
  const offsetMs = jitterOffsetMs(schedule.name, schedule.jitterMs);
  const nominal = nextFireAfter(
    schedule.cron,
    schedule.timezone,
    new Date(now.getTime() - offsetMs),
  );
  return nominal ? new Date(nominal.getTime() + offsetMs) : null;
}

const nextFires = new WeakMap<Schedule, Date | null>();
/** Next fires by (enabled, expression, zone, jitter offset): fleets share a few hundred expressions. */
const byExpression = new Map<string, Date | null>();
const MAX_EXPRESSIONS = 100_000;

/**
 * `nextFireOf`, remembered per schedule object and per expression until that instant passes:
 * sorting 10,000 schedules by next fire does cron math once per distinct (expression, zone,
 * jitter) that fired since the last request, not once per schedule (a reload makes new schedule
 * objects, so an edited expression is computed afresh).
 */
export function cachedNextFire(schedule: Schedule, now: Date): Date | null {
  const known = nextFires.get(schedule);
  if (known === null || (known !== undefined && known > now)) return known;
  const offsetMs = schedule.enabled ? jitterOffsetMs(schedule.name, schedule.jitterMs) : 0;
  const key = `${schedule.enabled}\u0000${schedule.cron}\u0000${schedule.timezone}\u0000${offsetMs}`;
  let next = byExpression.get(key);
  if (next === undefined || (next !== null && next <= now)) {
    next = nextFireOf(schedule, now);
    if (byExpression.size >= MAX_EXPRESSIONS) byExpression.clear();
    byExpression.set(key, next);
  }
  nextFires.set(schedule, next);
  return next;
}

export interface ViewOptions {
  /** Recent slots per schedule in `recent`. */
  readonly recent: number;
  /** The name of a project given by UUID, when known. */
  readonly projectName?: (project: string) => string | null;
  /** Summaries already read (selectSchedules); read here otherwise. */
  readonly summaries?: ReadonlyMap<string, SlotSummary>;
  /** Chains that fire after a schedule's builds. */
  readonly downstreams?: (name: string) => readonly string[];
}

function upstreamViews(schedule: Schedule): ScheduleView['after'] {
  if (!schedule.after) return null;
  return {
    upstreams: schedule.after.upstreams.map((u) =>
      u.kind === 'schedule'
        ? { schedule: u.schedule, status: u.status }
        : { project: u.project, branch: u.branch, status: u.status },
    ),
    withinMs: schedule.after.withinMs,
  };
}

const NO_SLOTS: SlotSummary = { newest: null, outcome: null };

async function baseViews(
  ledger: LedgerStore,
  schedules: readonly Schedule[],
  now: Date,
  options: ViewOptions,
  recentLimit: number,
): Promise<{ views: ScheduleView[]; recent: Map<string, SlotRecord[]> }> {
  const names = schedules.map((s) => s.name);
  const summaries = options.summaries ?? (await ledger.slotSummaries(names));
  const recent = await ledger.recentSlotsOf(names, recentLimit);
  const outcomes = await ledger.recentSlotsOf(names, SUCCESS_WINDOW, 'outcomes');
  const views = schedules.map((schedule): ScheduleView => {
    const next = cachedNextFire(schedule, now);
    return {
      name: schedule.name,
      cron: schedule.cron,
      description: schedule.after
        ? describeChain(schedule.after)
        : describeCron(schedule.cron ?? ''),
      after: upstreamViews(schedule),
      downstreams: options.downstreams?.(schedule.name) ?? [],
      timezone: schedule.timezone,
      project: schedule.project,
      projectName: options.projectName?.(schedule.project) ?? null,
      branches: schedule.branches,
      enabled: schedule.enabled,
      overlap: schedule.overlap,
      unchanged: schedule.unchanged,
      nextFireAt: next ? next.toISOString() : null,
      nextFireLocal: next ? formatInZone(next, schedule.timezone) : null,
      attention: attentionOf(summaries.get(schedule.name) ?? NO_SLOTS, now),
      recent: (recent.get(schedule.name) ?? []).slice(0, options.recent).map(toStatusRow),
      successRate: successRateOf(outcomes.get(schedule.name) ?? []),
    };
  });
  return { views, recent };
}

/** Views of `schedules` for the JSON API, in the order given. */
export async function scheduleViews(
  ledger: LedgerStore,
  schedules: readonly Schedule[],
  now: Date,
  options: ViewOptions,
): Promise<ScheduleView[]> {
  return (await baseViews(ledger, schedules, now, options, options.recent)).views;
}

/** Cards of `schedules` for the page, in the order given: views with history and durations. */
export async function cardViews(
  ledger: LedgerStore,
  schedules: readonly Schedule[],
  now: Date,
  options: ViewOptions,
): Promise<CardView[]> {
  const limit = Math.max(options.recent, HISTORY_WINDOW);
  const { views, recent } = await baseViews(ledger, schedules, now, options, limit);
  const builds = await ledger.recentSlotsOf(
    schedules.map((s) => s.name),
    HISTORY_WINDOW,
    'builds',
  );
  return views.map((view) => ({
    ...view,
    history: (recent.get(view.name) ?? []).slice(0, HISTORY_WINDOW).map(toStatusRow),
    durationsMs: (builds.get(view.name) ?? [])
      .map((slot) => {
        const start = slot.buildQueuedAt ?? slot.triggeredAt;
        return start && slot.finishedAt ? slot.finishedAt.getTime() - start.getTime() : null;
      })
      .filter((ms): ms is number => ms !== null && ms >= 0)
      .reverse(),
  }));
}
