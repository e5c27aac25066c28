/**
 * When each project's build list should next be read: the pacing of discovery and
 * reconciliation. A build is looked at when it is expected to have finished (learned from the
 * project's own finished builds), then at growing intervals; a create whose outcome is unknown is
 * looked for soon and again when its discovery window ends (the re-send decision). One walk of a
 * project's list serves every slot of that project, so the cost per build stays near one call.
 */
import { MINUTE, SECOND } from './time.ts';

/** Expected build duration while none of this daemon's builds of a project has finished yet. */
export const DEFAULT_EXPECTED_MS = 20 * SECOND;
/** The first look at a build comes no later than this, however long builds usually take. */
const MAX_FIRST_LOOK_MS = 15 * MINUTE;
/** A manual trigger's build is first looked for this long after its create. */
export const MANUAL_FIRST_LOOK_MS = 5 * SECOND;
/** A create with an unknown outcome is first looked for this long after it was sent. */
const UNKNOWN_FIRST_LOOK_MS = 10 * SECOND;
const MIN_BACKOFF_MS = 15 * SECOND;
const MAX_BACKOFF_MS = 5 * MINUTE;

/** What the pacing needs to know of an open slot. */
export interface CheckSlot {
  state: 'pending' | 'triggered' | 'running' | string;
  outcomeUnknown: boolean;
  /** When its latest create was sent (null: not sent yet, nothing to look for). */
  lastAttemptAt: Date | null;
  /** Someone pressed "Trigger now" (or ran `trigger`) and waits for the build. */
  manual?: boolean;
  /** The slot's build is known (its UUID is in the ledger). */
  buildUuid?: string | null;
}

interface CheckPolicy {
  discoveryWindowMs: number;
  acceptedGiveUpMs: number;
}

/**
 * The instant the project holding `slot` should next be walked for it, given when that project
 * was last walked (`lastWalkAt`, null if never) and the project's expected build duration.
 * Returns null when the slot needs no look (nothing sent yet).
 */
export function nextCheckAt(
  slot: CheckSlot,
  lastWalkAt: Date | null,
  expectedMs: number,
  policy: CheckPolicy,
): Date | null {
  const sentAt = slot.lastAttemptAt;
  if (sentAt === null) return null;
  const walked = lastWalkAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  const sentMs = sentAt.getTime();
  if (slot.state === 'pending') {
    if (!slot.outcomeUnknown) return null; // the create is still in flight
    // Look soon (a create that built although it failed shows up at once), then when the
    // discovery window ends, when the re-send (or the give-up) is decided.
    const soon = sentMs + UNKNOWN_FIRST_LOOK_MS;
    const decision = sentMs + policy.discoveryWindowMs;
    if (walked < soon) return new Date(soon);
    if (walked < decision) return new Date(decision);
    return new Date(walked + MIN_BACKOFF_MS);
  }
  // Our clock throughout: the build's queued_at is in Codeship's (README, "Build identity"), and
  // it was queued while the create was served, so the send time stands for it.
  const startMs = sentMs;
  // A manual trigger has someone waiting: its build is looked for right after the create, as
  // a scheduled one would be if the daemon did not pace for economy.
  const soonMs = sentMs + MANUAL_FIRST_LOOK_MS;
  if (slot.manual && slot.state === 'triggered' && !slot.buildUuid && walked < soonMs) {
    return new Date(soonMs);
  }
  const expectedEndMs = startMs + Math.min(Math.max(expectedMs, 0), MAX_FIRST_LOOK_MS);
  let atMs: number;
  if (walked < expectedEndMs) atMs = expectedEndMs;
  else {
    // Past the expected end: back off with the build's age (each look doubles it), 15 s to 5 min.
    const ageMs = Math.max(0, walked - startMs);
    atMs = walked + Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, ageMs));
  }
  if (slot.state === 'triggered') {
    // A 202 without a build is given up on after acceptedGiveUpMs: look then at the latest.
    atMs = Math.min(atMs, Math.max(sentMs + policy.acceptedGiveUpMs, walked + MIN_BACKOFF_MS));
  }
  return new Date(atMs);
}

/**
 * The expected duration of a project's builds: the median of the durations (queued to finished)
 * of its recent builds that this daemon started, or DEFAULT_EXPECTED_MS when there are none.
 */
export function expectedDurationMs(durationsMs: readonly number[]): number {
  if (durationsMs.length === 0) return DEFAULT_EXPECTED_MS;
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
