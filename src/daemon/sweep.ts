/**
 * Fires a sweep: a slot of a schedule whose branches are globs or whose rule is `stale:`. The
 * branch set is read from the build history at fire time, every branch considered gets its own
 * ledger row with a reason, and the schedule's mark moves in the same transaction, so a crash
 * before the rows are written leaves the slot to catch-up rather than losing or doubling it.
 */
import type { NewSlot, SlotRecord } from '../adapters/ledger.ts';
import { decideSweep } from '../core/stale.ts';
import type { Runtime } from './runtime.ts';
import type { Sweep } from './tick.ts';

/** Resolves and records one sweep; returns the rows written (pending ones are then sent as usual). */
export async function resolveSweep(
  rt: Runtime,
  sweep: Sweep,
  marks: Map<string, Date>,
  signal?: AbortSignal,
): Promise<SlotRecord[]> {
  const { schedule, slotAt, fireAt } = sweep;
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
  const base = { schedule: schedule.name, slotAt, project: schedule.project, fireAt };
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
  const recorded = rt.ledger.recordSlots(rows, new Map([[schedule.name, slotAt]]), now);
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
