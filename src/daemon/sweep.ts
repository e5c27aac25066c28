/**
 * Fires a sweep: a slot of a schedule whose branches are globs or whose rule is `stale:`. The
 * branch set is read from the build history at fire time, every branch considered gets its own
 * ledger row with a reason, and the schedule's mark moves in the same transaction, so a crash
 * before the rows are written leaves the slot to catch-up rather than losing or doubling it.
 */
import type { NewSlot, Schedule, SlotRecord } from '../core/model.ts';
import { decideSweep, type SweepDecision } from '../core/stale.ts';
import type { Runtime } from './runtime.ts';
import type { Sweep } from './tick.ts';

/** What the build history says a sweep of `schedule` should do now. */
export interface SweepReading {
  projectUuid: string;
  decisions: SweepDecision[];
  /** History pages read. */
  apiCalls: number;
  /** When the decisions were made (the runtime's clock). */
  now: Date;
}

/** Reads the project's build history and decides every candidate branch of a sweep. */
export async function readSweep(
  rt: Runtime,
  schedule: Schedule,
  signal?: AbortSignal,
): Promise<SweepReading> {
  const projectUuid = await rt.projects.resolve(schedule.project, { priority: 'trigger', signal });
  const { lastBuilt, apiCalls } = await rt.history.read(projectUuid, {
    priority: 'trigger',
    signal,
  });
  const now = rt.clock.now();
  const decisions = decideSweep({
    patterns: schedule.branches,
    stale: schedule.stale,
    lastBuilt,
    now,
  });
  return { projectUuid, decisions, apiCalls, now };
}

/**
 * The ledger rows of a sweep: one per branch considered, pending or skipped with its reason
 * (`manual` marks every row of a "Trigger now"), or one `no-match` row when no branch matched.
 */
export function sweepRows(
  schedule: Schedule,
  decisions: readonly SweepDecision[],
  at: { slotAt: Date; fireAt: Date; manual?: boolean },
): NewSlot[] {
  const base = {
    schedule: schedule.name,
    slotAt: at.slotAt,
    project: schedule.project,
    fireAt: at.fireAt,
    ...(at.manual ? { manual: true } : {}),
  };
  const rows: NewSlot[] = decisions.map((d) => ({
    ...base,
    branch: d.branch,
    state: d.action === 'trigger' ? 'pending' : 'skipped',
    reason: d.reason,
  }));
  if (rows.length === 0) {
    rows.push({
      ...base,
      branch: schedule.branches.join(','),
      state: 'skipped',
      reason: `no-match (no branch in the build history matches ${schedule.branches.join(', ')})`,
    });
  }
  return rows;
}

/** Resolves and records one sweep; returns the rows written (pending ones are then sent as usual). */
export async function resolveSweep(
  rt: Runtime,
  sweep: Sweep,
  marks: Map<string, Date>,
  signal?: AbortSignal,
): Promise<SlotRecord[]> {
  const { schedule, slotAt, fireAt } = sweep;
  const { projectUuid, decisions, apiCalls, now } = await readSweep(rt, schedule, signal);
  const rows = sweepRows(schedule, decisions, { slotAt, fireAt });
  const recorded = await rt.ledger.recordSlots(rows, new Map([[schedule.name, slotAt]]), now);
  const mark = marks.get(schedule.name);
  if (!mark || mark < slotAt) marks.set(schedule.name, slotAt);
  const triggered = decisions.filter((d) => d.action === 'trigger').length;
  rt.logger.info(
    {
      schedule: schedule.name,
      slot: slotAt.toISOString(),
      considered: decisions.length,
      triggered,
      apiCalls,
    },
    'sweep resolved',
  );
  for (const slot of recorded) {
    if (slot.state === 'pending') rt.history.noteBuild(projectUuid, slot.branch, now);
    rt.events.emit('recorded', slot);
  }
  return recorded;
}
