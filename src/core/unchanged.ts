/**
 * `unchanged: skip` (README, "Schedules"): a slot is skipped when the branch's head commit (the
 * `commit_sha` of its newest build in the project's list: Codeship builds every push, so the list
 * knows the head) was already built successfully by this schedule, or is being built by it now.
 * Decided from the list read at fire time, never from a ledger that may be a reconciliation
 * behind. Pure.
 */
import { isFinalStatus, type RemoteBuild } from './model.ts';

/** `2026-06-14 02:00Z`: the minute an instant falls in, as reasons show it. */
function minuteOf(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/**
 * The skip reason for a slot, or null to build it. `head` is the newest build of the branch in
 * the list (null when the list shows none); `last` is this schedule's latest build of the branch
 * as the API shows it now (null when it has none, or it is not discovered yet). A last build that
 * did not succeed never counts, so a failed head is built again.
 */
export function unchangedReason(head: RemoteBuild | null, last: RemoteBuild | null): string | null {
  if (head === null || last === null || head.commitSha === '' || last.commitSha !== head.commitSha)
    return null;
  const sha = head.commitSha.slice(0, 7);
  if (!isFinalStatus(last.status, last.finishedAt)) {
    const since = last.queuedAt ? ` since ${minuteOf(last.queuedAt)}` : '';
    return `unchanged (${sha} building${since})`;
  }
  if (last.status !== 'success') return null;
  const built = last.finishedAt ?? last.queuedAt;
  return `unchanged (${sha} built${built ? ` ${minuteOf(built)}` : ''})`;
}
