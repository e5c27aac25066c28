/**
 * One tick: ask the planner what is due, write it to the ledger in one transaction, and hand
 * the fires over. Literal branches become pending rows at once (the intent is on disk within the
 * tick); schedules with branch globs or `stale:` come back as sweeps, whose branch set is known
 * only after reading the project's build history.
 */

import { isBranchGlob } from '../core/branch-glob.ts';
import type { NewSlot, Schedule, SlotRecord } from '../core/model.ts';
import { FireCache, type PlannedSlot, planTick } from '../core/plan.ts';
import type { Runtime } from './runtime.ts';

export { FireCache };

export interface TickState {
  schedules: readonly Schedule[];
  marks: Map<string, Date>;
  watchingSince: Map<string, Date>;
  /** Sweeps being resolved: the planner must not plan them again meanwhile. */
  sweepsInFlight: Set<string>;
  /** Next-fire answers kept across ticks, so a due tick needs no cron math. */
  fireCache: FireCache;
}

export interface Sweep {
  schedule: Schedule;
  slotAt: Date;
  fireAt: Date;
}

export interface TickResult {
  recorded: SlotRecord[];
  sweeps: Sweep[];
  wakeAt: Date | null;
}

/** True when the branch set of a schedule is only known at fire time. */
export function isSweep(schedule: Schedule): boolean {
  return schedule.stale !== null || schedule.branches.some(isBranchGlob);
}

/** Appends the ledger rows of one planned slot to `rows` (one per branch). */
function pushRows(rows: NewSlot[], planned: PlannedSlot): void {
  const { schedule, slotAt } = planned;
  if (planned.kind === 'skip') {
    // A sweep's branches are unknown for a slot that never ran: the row names the patterns.
    const branches = isSweep(schedule) ? [schedule.branches.join(',')] : schedule.branches;
    for (const branch of branches) {
      rows.push({
        schedule: schedule.name,
        slotAt,
        branch,
        project: schedule.project,
        fireAt: slotAt,
        state: 'skipped',
        reason: planned.reason,
      });
    }
    return;
  }
  const reason = planned.catchup ? 'catch-up' : null;
  for (const branch of schedule.branches) {
    rows.push({
      schedule: schedule.name,
      slotAt,
      branch,
      project: schedule.project,
      fireAt: planned.fireAt,
      state: 'pending',
      reason,
    });
  }
}

/** Plans and records one tick at `now`; mutates `state.marks` to what the ledger now holds. */
export async function runTick(rt: Runtime, state: TickState, now: Date): Promise<TickResult> {
  const schedules =
    state.sweepsInFlight.size === 0
      ? state.schedules
      : state.schedules.filter((s) => !state.sweepsInFlight.has(s.name));
  const plan = planTick({
    schedules,
    marks: state.marks,
    watchingSince: state.watchingSince,
    now,
    fireCache: state.fireCache,
  });
  const rows: NewSlot[] = [];
  const sweeps: Sweep[] = [];
  const marks = plan.marks; // the plan is this tick's own: its map is reused, not copied
  for (const planned of plan.slots) {
    if (planned.kind === 'fire' && isSweep(planned.schedule)) {
      sweeps.push({ schedule: planned.schedule, slotAt: planned.slotAt, fireAt: planned.fireAt });
      state.sweepsInFlight.add(planned.schedule.name);
      continue;
    }
    pushRows(rows, planned);
  }
  // A sweep's mark moves when its branch rows are written (after the history walk), so a crash
  // before then leaves the slot to catch-up instead of losing it.
  for (const sweep of sweeps) marks.set(sweep.schedule.name, new Date(sweep.slotAt.getTime() - 1));
  let recorded: SlotRecord[] = [];
  try {
    if (rows.length > 0 || marks.size > 0) recorded = await rt.ledger.recordSlots(rows, marks, now);
  } catch (error) {
    // Nothing was recorded (a locked or full ledger): the next tick plans these sweeps again.
    for (const sweep of sweeps) state.sweepsInFlight.delete(sweep.schedule.name);
    throw error;
  }
  for (const [name, at] of marks) {
    const current = state.marks.get(name);
    if (!current || current < at) state.marks.set(name, at);
  }
  for (const [name, count] of plan.uncounted) {
    rt.logger.warn(
      { schedule: name, count },
      'missed slots beyond the recording limit were not listed',
    );
  }
  for (const slot of recorded) {
    if (slot.state === 'skipped') {
      rt.logger.warn(
        {
          schedule: slot.schedule,
          slot: slot.slotAt.toISOString(),
          branch: slot.branch,
          reason: slot.reason,
        },
        'slot skipped',
      );
    }
    rt.events.emit('recorded', slot);
  }
  return { recorded, sweeps, wakeAt: plan.wakeAt };
}
