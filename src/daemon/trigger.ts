/**
 * The one path that sends a create for a slot, used by the daemon's sender (first sends and the
 * one re-send discovery asks for), `trigger` and the status page's button. The slot is already in the ledger; its attempt is claimed (and durably recorded)
 * before the request, and its outcome classified after it, so nothing is lost or sent twice.
 */

import { CodeshipError, coerceError, isNotFound, isNotLeader } from '../core/errors.ts';
import type { SlotRecord } from '../core/model.ts';
import { isFinalStatus, type RemoteBuild } from '../core/model.ts';
import { SECOND } from '../core/time.ts';
import { unchangedReason } from '../core/unchanged.ts';
import { loseBuild } from './reconcile.ts';
import type { Runtime } from './runtime.ts';

/** How long a create that provably never reached Codeship waits before it is sent again. */
export const NOT_SENT_RETRY_MS = 30 * SECOND;

const REJECTED: ReadonlySet<string> = new Set([
  'ERR_CODESHIP_AUTH',
  'ERR_CODESHIP_PERMISSION',
  'ERR_CODESHIP_NOT_FOUND',
  'ERR_CODESHIP_BAD_REQUEST',
]);

/** Classifies a failed create: was the build possibly created, certainly not, or refused? */
function classify(error: Error): 'unknown' | 'not_sent' | 'rejected' {
  if (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR')
    return 'not_sent';
  if (!(error instanceof CodeshipError)) return 'unknown';
  if (REJECTED.has(error.code)) return 'rejected';
  if (error.code === 'ERR_CODESHIP_UNAVAILABLE' || error.code === 'ERR_CODESHIP_RATE_LIMIT')
    return 'not_sent';
  return 'unknown';
}

/**
 * Applies the schedule's `overlap` policy against the previous build of the same schedule and
 * branch. Returns false when the slot was skipped.
 */
async function applyOverlap(
  rt: Runtime,
  slot: SlotRecord,
  projectUuid: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const policy = rt.schedule(slot.schedule)?.overlap ?? 'allow';
  if (policy === 'allow' || slot.manual) return true;
  let previous = await rt.ledger.previousBuildSlot(slot.schedule, slot.branch, slot.id);
  // A failed slot has no build that could still run (refused, or gone from Codeship).
  if (!previous || previous.state === 'finished' || previous.state === 'failed') return true;
  if (!previous.buildUuid && previous.projectUuid) {
    // Its build is not discovered yet (reconciliation looks lazily): ask for a look now, once.
    await rt.look(previous.projectUuid, signal);
    previous = (await rt.ledger.get(previous.id)) ?? previous;
    if (previous.state === 'finished' || previous.state === 'failed') return true;
  }
  let status = previous.buildStatus ?? 'waiting';
  if (previous.buildUuid) {
    // The ledger may be one reconciliation behind: ask before skipping or stopping.
    let build: RemoteBuild;
    try {
      build = await rt.api.getBuild(projectUuid, previous.buildUuid, {
        priority: 'trigger',
        signal,
      });
    } catch (raw) {
      if (!isNotFound(raw)) throw coerceError(raw);
      // Gone from Codeship: nothing overlaps with it.
      await loseBuild(rt, previous);
      return true;
    }
    status = build.status;
    if (isFinalStatus(build.status, build.finishedAt)) {
      await rt.ledger.updateBuild(
        previous.id,
        { status, finishedAt: build.finishedAt, final: true },
        rt.clock.now(),
      );
      return true;
    }
  }
  const what = previous.buildUuid
    ? `build ${previous.buildUuid} is ${status}`
    : 'build not yet discovered';
  if (policy === 'skip') {
    await rt.ledger.closeSlot(slot.id, 'skipped', `overlap (previous ${what})`, rt.clock.now());
    rt.logger.info(
      { schedule: slot.schedule, slot: slot.slotAt, branch: slot.branch },
      'slot skipped: overlap',
    );
    return false;
  }
  if (previous.buildUuid) {
    await rt.api.stopBuild(projectUuid, previous.buildUuid, { priority: 'trigger', signal });
    rt.logger.info(
      { schedule: slot.schedule, buildUuid: previous.buildUuid },
      'previous build stopped (overlap: replace)',
    );
  }
  return true;
}

/** Pages of the build list read at most to find a branch's head for `unchanged: skip`. */
const HEAD_PAGES = 2;
/** The client's page size for build lists. */
const LIST_PAGE = 50;

/**
 * Applies the schedule's `unchanged: skip`: reads the project's list (newest first) down to the
 * branch's newest build, and skips the slot when that head commit is this schedule's last build
 * of the branch, succeeded or still building (core/unchanged.ts). Returns false when skipped.
 */
async function applyUnchanged(
  rt: Runtime,
  slot: SlotRecord,
  projectUuid: string,
  signal?: AbortSignal,
): Promise<boolean> {
  if (rt.schedule(slot.schedule)?.unchanged !== 'skip' || slot.manual) return true;
  const previous = await rt.ledger.previousBuildSlot(slot.schedule, slot.branch, slot.id);
  if (!previous?.buildUuid) return true;
  let head: RemoteBuild | null = null;
  let last: RemoteBuild | null = null;
  let read = 0;
  for await (const build of rt.api.listBuilds(projectUuid, { priority: 'trigger', signal })) {
    read += 1;
    if (build.uuid === previous.buildUuid) last = build;
    if (head === null && build.branch === slot.branch) head = build;
    // Past the head, the rest of a page already read is free; the next page is not.
    if (head !== null && (last !== null || read % LIST_PAGE === 0)) break;
    if (read >= HEAD_PAGES * LIST_PAGE) break;
  }
  if (head === null) return true;
  // A build's commit never changes: when ours was another commit, the head is new.
  if (previous.commitSha !== null && previous.commitSha !== head.commitSha) return true;
  // Our last build is older than the page: its status comes from the API too, never the ledger.
  if (last === null) {
    try {
      last = await rt.api.getBuild(projectUuid, previous.buildUuid, {
        priority: 'trigger',
        signal,
      });
    } catch (raw) {
      if (!isNotFound(raw)) throw coerceError(raw);
      return true; // gone from Codeship: nothing of ours to compare the head with
    }
  }
  const reason = unchangedReason(head, last);
  if (reason === null) return true;
  await rt.ledger.closeSlot(slot.id, 'skipped', reason, rt.clock.now());
  rt.logger.info(
    { schedule: slot.schedule, slot: slot.slotAt, branch: slot.branch, reason },
    'slot skipped: unchanged',
  );
  return false;
}

/** Thrown from `beforeSend` when another process (or call) claimed this attempt first. */
class AttemptTaken extends Error {
  override name = 'AttemptTaken';
}

/** Leaves a slot pending for a later try: nothing reached Codeship. */
async function postpone(rt: Runtime, slot: SlotRecord, message: string): Promise<SlotRecord> {
  const retryAt = new Date(rt.clock.now().getTime() + NOT_SENT_RETRY_MS);
  await rt.ledger.postpone(slot.id, retryAt, message);
  return (await rt.ledger.get(slot.id)) ?? slot;
}

/**
 * Sends create attempt number `slot.attempts + 1` for a pending slot. The attempt is claimed and
 * recorded in the ledger right before the request leaves (after the pacer let it go), so its time
 * is the real send time and a crash after it leaves the outcome for discovery. Never throws for
 * API errors: they end up in the ledger. Returns the slot as it stands afterwards.
 */
export async function sendSlot(
  rt: Runtime,
  slot: SlotRecord,
  signal?: AbortSignal,
): Promise<SlotRecord> {
  const log = rt.logger.child({
    schedule: slot.schedule,
    slot: slot.slotAt.toISOString(),
    branch: slot.branch,
  });
  let projectUuid: string;
  let attemptId: number | null = null;
  try {
    projectUuid = await rt.projects.resolve(slot.project, { priority: 'trigger', signal });
    if (slot.attempts === 0 && !(await applyUnchanged(rt, slot, projectUuid, signal))) {
      return settle(rt, slot.id);
    }
    if (slot.attempts === 0 && !(await applyOverlap(rt, slot, projectUuid, signal))) {
      return settle(rt, slot.id);
    }
    const beforeSend = async () => {
      const now = rt.clock.now();
      if (attemptId === null) {
        attemptId = await rt.ledger.beginAttempt(
          slot.id,
          projectUuid,
          slot.attempts,
          now,
          rt.api.clockEstimate(),
        );
        if (attemptId === null) throw new AttemptTaken('another process sends this slot');
      } else {
        // The same create sent again after a 401 or a rate-limit 403 (both refused, not run).
        await rt.ledger.touchAttempt(slot.id, attemptId, now);
      }
    };
    rt.sending.add(slot.id);
    try {
      await rt.api.createBuild(
        projectUuid,
        { branch: slot.branch },
        { priority: 'trigger', signal, beforeSend },
      );
    } finally {
      rt.sending.delete(slot.id);
    }
  } catch (raw) {
    const error = coerceError(raw);
    if (error instanceof AttemptTaken) return (await rt.ledger.get(slot.id)) ?? slot;
    // This process lost the leader lease: nothing was written or sent; the leader sends it.
    if (isNotLeader(error) && attemptId === null) {
      log.warn({}, 'create not sent: this instance no longer leads');
      return slot;
    }
    const kind = classify(error);
    if (attemptId === null) {
      // Nothing was sent (project lookup, overlap check, auth or the queue failed first).
      if (kind !== 'rejected') {
        // A stop while the create waited in the pacer is routine: said without a stack.
        if (signal?.aborted) log.info({ reason: error.message }, 'trigger postponed: stopping');
        else log.warn({ err: error }, 'trigger postponed');
        return postpone(rt, slot, error.message);
      }
      await rt.ledger.closeSlot(slot.id, 'failed', error.message, rt.clock.now());
      log.error({ err: error }, 'slot failed');
      return settle(rt, slot.id);
    }
    return finish(rt, slot, attemptId, kind, error.message, error);
  }
  const sentId = attemptId as number | null;
  if (sentId === null)
    throw new Error('createBuild returned without sending (beforeSend was not called)');
  return finish(rt, slot, sentId, 'accepted', undefined);
}

async function finish(
  rt: Runtime,
  slot: SlotRecord,
  attemptId: number,
  result: 'accepted' | 'unknown' | 'not_sent' | 'rejected',
  message: string | undefined,
  error?: Error,
): Promise<SlotRecord> {
  const now = rt.clock.now();
  await rt.ledger.finishAttempt(attemptId, slot.id, result, {
    now,
    error: message,
    retryAt: new Date(now.getTime() + NOT_SENT_RETRY_MS),
    // The create's own answer tightened the estimate: its window uses the best one known.
    estimate: rt.api.clockEstimate(),
  });
  const after = (await rt.ledger.get(slot.id)) ?? slot;
  const log = rt.logger.child({
    schedule: slot.schedule,
    slot: slot.slotAt.toISOString(),
    branch: slot.branch,
  });
  const fields = { attempt: after.attempts, projectUuid: after.projectUuid, manual: slot.manual };
  if (result === 'accepted') log.info(fields, 'build triggered');
  else if (result === 'rejected') log.error({ ...fields, err: error }, 'trigger rejected');
  else log.warn({ ...fields, result, err: error }, 'trigger outcome not confirmed');
  rt.events.emit('attempt', { slot: after, result, error: message ?? null });
  if (after.state === 'failed') rt.events.emit('settled', after);
  return after;
}

async function settle(rt: Runtime, id: number): Promise<SlotRecord> {
  const slot = await rt.ledger.get(id);
  if (!slot) throw new Error(`slot ${id} vanished from the ledger`);
  rt.events.emit('settled', slot);
  return slot;
}
