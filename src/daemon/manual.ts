/**
 * "Trigger now": a manual slot through the same path as the daemon's (ledger row first, then the
 * create, then discovery). Used by `codeship-cron trigger` and the status page's button.
 */
import type { NewSlot, SlotRecord } from '../adapters/ledger.ts';
import { CodeshipCronError } from '../core/errors.ts';
import type { Schedule } from '../core/model.ts';
import { decideSweep } from '../core/stale.ts';
import type { Runtime } from './runtime.ts';
import { isSweep } from './tick.ts';
import { sendSlot } from './trigger.ts';

const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/$)(?!.*\.lock$)[^\s~^:?*[\\]+$/;

/** Records and sends manual slots for `schedule` (one per branch) at the clock's now. */
export async function triggerManually(
  rt: Runtime,
  schedule: Schedule,
  options: { branch?: string; signal?: AbortSignal } = {},
): Promise<SlotRecord[]> {
  if (options.branch !== undefined && !BRANCH.test(options.branch)) {
    throw new CodeshipCronError(
      'ERR_BRANCH_INVALID',
      `"${options.branch}" is not a valid branch name`,
    );
  }
  let branches: string[];
  if (options.branch !== undefined) branches = [options.branch];
  else if (isSweep(schedule)) {
    const projectUuid = await rt.projects.resolve(schedule.project, {
      priority: 'trigger',
      signal: options.signal,
    });
    const { lastBuilt } = await rt.history.read(projectUuid, {
      priority: 'trigger',
      signal: options.signal,
    });
    const decisions = decideSweep({
      patterns: schedule.branches,
      stale: schedule.stale,
      lastBuilt,
      now: rt.clock.now(),
    });
    branches = decisions.filter((d) => d.action === 'trigger').map((d) => d.branch);
    if (branches.length === 0) {
      throw new CodeshipCronError(
        'ERR_NOTHING_TO_TRIGGER',
        `schedule ${schedule.name}: no branch qualifies now (${decisions.map((d) => `${d.branch}: ${d.reason}`).join('; ') || 'no branch matches'}); use --branch to pick one`,
      );
    }
  } else branches = [...schedule.branches];
  const now = rt.clock.now();
  const rows: NewSlot[] = branches.map((branch) => ({
    schedule: schedule.name,
    slotAt: now,
    branch,
    project: schedule.project,
    fireAt: now,
    state: 'pending',
    reason: 'manual',
    manual: true,
  }));
  const recorded = rt.ledger.recordSlots(rows, new Map(), now);
  const results: SlotRecord[] = [];
  for (const slot of recorded) {
    rt.events.emit('recorded', slot);
    results.push(await sendSlot(rt, slot, options.signal));
  }
  return results;
}
