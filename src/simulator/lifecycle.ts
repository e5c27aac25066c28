/**
 * Build runs and their status, derived lazily from the clock (no timers): a live run is
 * `waiting` for the first 10 % of its duration, `testing` until the end, then its outcome; a stop
 * turns a running build `stopping` for STOPPING_MS, then `stopped`.
 */

/** Every build status the API is known to send (a seed may give a build any of them). */
export const BUILD_STATUSES = [
  'initiated',
  'waiting',
  'testing',
  'stopping',
  'success',
  'error',
  'failed',
  'stopped',
  'infrastructure_failure',
  'ignored',
  'blocked',
] as const;

/** How long a stopped build shows `stopping` before `stopped`. */
const STOPPING_MS = 3_000;

/** One run of a build. Seeded runs are `fixed` (their status never moves unless stopped). */
export interface Run {
  queuedAtMs: number;
  /** A seeded status and finish time, or null for a live run driven by `durationMs`. */
  fixed: { status: string; finishedAtMs: number | null } | null;
  durationMs: number;
  outcome: 'success' | 'error';
  stopAtMs: number | null;
}

/** What a run looks like at one instant. */
export interface RunState {
  status: string;
  /** When testing started (Pro builds report it as `allocated_at`), or null while waiting. */
  allocatedAtMs: number | null;
  finishedAtMs: number | null;
}

/** The state of `run` at `nowMs`. */
export function runState(run: Run, nowMs: number): RunState {
  const allocateAtMs = run.queuedAtMs + Math.floor(run.durationMs / 10);
  if (run.stopAtMs !== null) {
    const stoppedAtMs = run.stopAtMs + STOPPING_MS;
    const allocatedAtMs = allocateAtMs <= run.stopAtMs ? allocateAtMs : null;
    return nowMs < stoppedAtMs
      ? { status: 'stopping', allocatedAtMs, finishedAtMs: null }
      : { status: 'stopped', allocatedAtMs, finishedAtMs: stoppedAtMs };
  }
  if (run.fixed !== null) {
    const { status, finishedAtMs } = run.fixed;
    const waiting = status === 'waiting' || status === 'initiated';
    return { status, allocatedAtMs: waiting ? null : allocateAtMs, finishedAtMs };
  }
  if (nowMs < allocateAtMs) return { status: 'waiting', allocatedAtMs: null, finishedAtMs: null };
  const finishAtMs = run.queuedAtMs + run.durationMs;
  if (nowMs < finishAtMs)
    return { status: 'testing', allocatedAtMs: allocateAtMs, finishedAtMs: null };
  return { status: run.outcome, allocatedAtMs: allocateAtMs, finishedAtMs: finishAtMs };
}

/** True when a stop request moves this status to `stopping`. */
export function isStoppable(status: string): boolean {
  return status === 'waiting' || status === 'testing' || status === 'initiated';
}
