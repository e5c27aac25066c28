/**
 * What the status page and its JSON API show about each schedule: the expression and its plain
 * English, the next fire (jitter included) in the schedule's own zone, recent slots as `status`
 * rows, and the success rate over the last finished slots. Read-only queries on the ledger, each
 * served by the `(schedule, slot_at)` index, so the cost grows with what is shown, not with the
 * ledger's size.
 */

import { describeCron, nextFireAfter } from '../core/cron.ts';
import { jitterOffsetMs } from '../core/jitter.ts';
import type { Schedule, SlotState } from '../core/model.ts';
import { formatInZone } from '../core/wall-time.ts';
import { type StatusRow, toStatusRow } from '../daemon/status-view.ts';
import type { LedgerStore } from '../ports.ts';

export { formatInZone };

/** Slots that count toward the success rate (the "last 30 slots"). */
export const SUCCESS_WINDOW = 30;

export interface SuccessRate {
  /** Slots with an outcome among the last SUCCESS_WINDOW: finished builds and failed triggers. */
  readonly outcomes: number;
  readonly succeeded: number;
  /** 0..100, rounded; null before the first outcome. */
  readonly percent: number | null;
}

export interface ScheduleView {
  readonly name: string;
  readonly cron: string;
  readonly description: string;
  readonly timezone: string;
  readonly project: string;
  readonly branches: readonly string[];
  readonly enabled: boolean;
  readonly overlap: string;
  readonly unchanged: string;
  /** ISO-8601 UTC of the next fire (nominal slot plus jitter); null when disabled or never again. */
  readonly nextFireAt: string | null;
  /** The same instant on the schedule's wall clock, e.g. `2026-03-02 02:00:00 CET`. */
  readonly nextFireLocal: string | null;
  readonly recent: readonly StatusRow[];
  readonly successRate: SuccessRate;
}

/** The state of the schedule's newest slot, null before its first. */
export async function newestSlotState(
  ledger: LedgerStore,
  schedule: string,
): Promise<SlotState | null> {
  return (await ledger.newestSlotState(schedule)) as SlotState | null;
}

/** Success rate over the schedule's last SUCCESS_WINDOW slots that have an outcome. */
export async function successRate(ledger: LedgerStore, schedule: string): Promise<SuccessRate> {
  const rows = await ledger.recentOutcomes(schedule, SUCCESS_WINDOW);
  const succeeded = rows.filter(
    (row) => row.state === 'finished' && row.buildStatus === 'success',
  ).length;
  return {
    outcomes: rows.length,
    succeeded,
    percent: rows.length === 0 ? null : Math.round((succeeded / rows.length) * 100),
  };
}

/** When `schedule` fires next after `now`: its next nominal slot moved by its stable jitter. */
export function nextFireOf(schedule: Schedule, now: Date): Date | null {
  if (!schedule.enabled) return null;
  const offsetMs = jitterOffsetMs(schedule.name, schedule.jitterMs);
  const nominal = nextFireAfter(
    schedule.cron,
    schedule.timezone,
    new Date(now.getTime() - offsetMs),
  );
  return nominal ? new Date(nominal.getTime() + offsetMs) : null;
}

/** The view of one schedule at `now`, with its `recentLimit` newest slots. */
export async function scheduleView(
  ledger: LedgerStore,
  schedule: Schedule,
  now: Date,
  recentLimit: number,
): Promise<ScheduleView> {
  const next = nextFireOf(schedule, now);
  return {
    name: schedule.name,
    cron: schedule.cron,
    description: describeCron(schedule.cron),
    timezone: schedule.timezone,
    project: schedule.project,
    branches: schedule.branches,
    enabled: schedule.enabled,
    overlap: schedule.overlap,
    unchanged: schedule.unchanged,
    nextFireAt: next ? next.toISOString() : null,
    nextFireLocal: next ? formatInZone(next, schedule.timezone) : null,
    recent: (await ledger.listSlots({ schedule: schedule.name, limit: recentLimit })).map(
      toStatusRow,
    ),
    successRate: await successRate(ledger, schedule.name),
  };
}

/** Views of `schedules`, in the order given. */
export async function scheduleViews(
  ledger: LedgerStore,
  schedules: readonly Schedule[],
  now: Date,
  recentLimit: number,
): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for (const schedule of schedules)
    views.push(await scheduleView(ledger, schedule, now, recentLimit));
  return views;
}
