/**
 * "Trigger now": a manual slot through the same path as the daemon's (ledger row first, then the
 * create, then discovery). Used by `codeship-cron trigger` and the status page's button.
 */

import { checkBranchName, matchBranch } from '../core/branch-glob.ts';
import { CodeshipCronError } from '../core/errors.ts';
import type { NewSlot, Schedule, SlotRecord } from '../core/model.ts';
import { quoteInput } from '../core/quote.ts';
import type { Runtime } from './runtime.ts';
import { readSweep, sweepRows } from './sweep.ts';
import { isSweep } from './tick.ts';
import { sendSlot } from './trigger.ts';

export interface ManualOptions {
  /** Fire this branch only; it must match the schedule's branches or globs unless `anyBranch`. */
  branch?: string;
  /** Allow a `branch` the schedule does not name (the CLI's `--any-branch`; never the page). */
  anyBranch?: boolean;
  signal?: AbortSignal;
}

/** Throws ERR_BRANCH_INVALID or ERR_BRANCH_NOT_IN_SCHEDULE when `branch` may not be fired. */
function checkBranch(schedule: Schedule, branch: string, anyBranch: boolean): void {
  const problem = checkBranchName(branch);
  if (problem !== null) {
    throw new CodeshipCronError(
      'ERR_BRANCH_INVALID',
      `${quoteInput(branch)} is not a valid branch name: it ${problem}`,
    );
  }
  if (anyBranch || schedule.branches.some((pattern) => matchBranch(pattern, branch))) return;
  throw new CodeshipCronError(
    'ERR_BRANCH_NOT_IN_SCHEDULE',
    `branch "${branch}" does not match schedule ${schedule.name}'s branches (${schedule.branches.join(', ')})`,
  );
}

/** The rows of a manual sweep: every branch considered, with its reason, all marked manual. */
async function sweepNow(
  rt: Runtime,
  schedule: Schedule,
  signal?: AbortSignal,
): Promise<{ rows: NewSlot[]; projectUuid: string }> {
  const { projectUuid, decisions, now } = await readSweep(rt, schedule, signal);
  if (!decisions.some((d) => d.action === 'trigger')) {
    throw new CodeshipCronError(
      'ERR_NOTHING_TO_TRIGGER',
      `schedule ${schedule.name}: no branch qualifies now (${decisions.map((d) => `${d.branch}: ${d.reason}`).join('; ') || 'no branch matches'}); use --branch to pick one`,
    );
  }
  return {
    rows: sweepRows(schedule, decisions, { slotAt: now, fireAt: now, manual: true }),
    projectUuid,
  };
}

/**
 * Records and sends manual slots for `schedule` at the clock's now: one per branch, or for a
 * sweep one per branch considered (skipped ones with their reason, as a scheduled sweep records
 * them). Returns every row recorded, skipped ones included, as they stand after sending.
 */
export async function triggerManually(
  rt: Runtime,
  schedule: Schedule,
  options: ManualOptions = {},
): Promise<SlotRecord[]> {
  let rows: NewSlot[];
  let sweptProject: string | null = null;
  if (options.branch !== undefined) {
    checkBranch(schedule, options.branch, options.anyBranch ?? false);
    rows = [manualRow(rt, schedule, options.branch)];
  } else if (isSweep(schedule)) {
    const sweep = await sweepNow(rt, schedule, options.signal);
    rows = sweep.rows;
    sweptProject = sweep.projectUuid;
  } else rows = schedule.branches.map((branch) => manualRow(rt, schedule, branch));
  const now = rt.clock.now();
  const recorded = await rt.ledger.recordSlots(rows, new Map(), now);
  const results: SlotRecord[] = [];
  for (const slot of recorded) {
    rt.events.emit('recorded', slot);
    if (slot.state !== 'pending') {
      results.push(slot);
      continue;
    }
    if (sweptProject !== null) rt.history.noteBuild(sweptProject, slot.branch, now);
    results.push(await sendSlot(rt, slot, options.signal));
  }
  return results;
}

function manualRow(rt: Runtime, schedule: Schedule, branch: string): NewSlot {
  const now = rt.clock.now();
  return {
    schedule: schedule.name,
    slotAt: now,
    branch,
    project: schedule.project,
    fireAt: now,
    state: 'pending',
    reason: 'manual',
    manual: true,
  };
}
