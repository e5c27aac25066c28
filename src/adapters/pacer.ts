/**
 * The one rate limiter every Codeship call of a process goes through (`/auth` included): at most
 * `ratePerMinute` request starts in any sliding 60 s window, measured on the injected Clock, with
 * three priority queues (`trigger` > `normal` > `reconcile` > `poll`, FIFO within each). A rate-limit
 * answer from the server pauses every queue until the server's window must have reset.
 */
import type { CallPriority, Clock } from '../ports.ts';

/** The server's rate-limit window; a 403 at `t` means its window is over by `t + WINDOW_MS`. */
const WINDOW_MS = 60_000;
/**
 * Pacing uses a window this much longer than the server's: a request's send time (ours) and
 * arrival time (the server's) differ by its latency, which is not the same for every request, so
 * an exactly-60 s window could put request 61 inside the server's first window.
 */
const SAFETY_MS = 1000;
export const PACING_WINDOW_MS = WINDOW_MS + SAFETY_MS;

const PRIORITIES = [
  'trigger',
  'normal',
  'reconcile',
  'poll',
] as const satisfies readonly CallPriority[];

interface PacerStats {
  /** Request starts granted since the pacer was made. */
  readonly started: number;
  /** Starts inside the current sliding window. */
  readonly inWindow: number;
  readonly queued: Readonly<Record<CallPriority, number>>;
  /** Set while a rate-limit answer holds every call back. */
  readonly pausedUntil: Date | null;
}

export interface Pacer {
  /**
   * Resolves when the caller may start one request now (the start is counted at once), or rejects
   * with the signal's reason if it is aborted while waiting. `front` puts the caller at the head of
   * its queue: for a call that already waited and was turned away by the server.
   */
  acquire(priority: CallPriority, signal?: AbortSignal, front?: boolean): Promise<void>;
  /**
   * The server answered "Rate Limit Exceeded": hold every call until 60 s from now and treat the
   * window as full so the next answer cannot be another 403. Returns the pause in ms.
   */
  rateLimited(): number;
  stats(): PacerStats;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Makes a pacer allowing `ratePerMinute` starts in any 60 s window of `clock` time. */
export function createPacer(options: { ratePerMinute: number; clock: Clock }): Pacer {
  const { clock } = options;
  const limit = Math.max(1, Math.floor(options.ratePerMinute));
  const queues: Record<CallPriority, Waiter[]> = {
    trigger: [],
    normal: [],
    reconcile: [],
    poll: [],
  };
  /** Start instants (ms) inside the window, oldest first. */
  let starts: number[] = [];
  let started = 0;
  let pausedUntilMs = 0;
  let pumping = false;
  /** Aborts the pump's sleep when nobody waits any more, so no sleeper is left behind. */
  let pumpSleep: AbortController | null = null;

  const nowMs = () => clock.now().getTime();
  const queuedCount = () => PRIORITIES.reduce((sum, p) => sum + queues[p].length, 0);

  function prune(now: number): void {
    // The clock may jump backwards: a start "in the future" still counts, as made now (it is at
    // most a window old), so it ages out one window from now, not when the clock is back there;
    // a pause likewise ends at most one window from now.
    for (let i = starts.length - 1; i >= 0 && (starts[i] as number) > now; i -= 1) starts[i] = now;
    pausedUntilMs = Math.min(pausedUntilMs, now + PACING_WINDOW_MS);
    while (starts.length > 0 && (starts[0] as number) <= now - PACING_WINDOW_MS) starts.shift();
  }

  /** Ms until a start is allowed (0 = now). */
  function waitMs(now: number): number {
    prune(now);
    const pauseWait = pausedUntilMs - now;
    const windowWait = starts.length < limit ? 0 : (starts[0] as number) + PACING_WINDOW_MS - now;
    return Math.max(0, pauseWait, windowWait);
  }

  function next(): Waiter | undefined {
    for (const priority of PRIORITIES) {
      const waiter = queues[priority].shift();
      if (waiter) return waiter;
    }
    return undefined;
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queuedCount() > 0) {
        const now = nowMs();
        const wait = waitMs(now);
        if (wait > 0) {
          pumpSleep = new AbortController();
          try {
            await clock.sleep(wait, pumpSleep.signal);
          } catch {
            // Aborted because the queues emptied; the loop condition ends the pump.
          } finally {
            pumpSleep = null;
          }
          continue;
        }
        const waiter = next();
        if (!waiter) break;
        starts.push(now);
        started += 1;
        waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
    } finally {
      pumping = false;
    }
  }

  return {
    acquire(priority, signal, front = false) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const queue = queues[priority];
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const index = queue.indexOf(waiter);
            if (index >= 0) queue.splice(index, 1);
            if (queuedCount() === 0) pumpSleep?.abort();
            reject(signal?.reason);
          },
        };
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        if (front) queue.unshift(waiter);
        else queue.push(waiter);
        void pump();
      });
    },
    rateLimited() {
      const now = nowMs();
      pausedUntilMs = Math.max(pausedUntilMs, now + PACING_WINDOW_MS);
      // Whatever we counted, the server says its window is full: after the pause, start afresh
      // from a window that is full as of now, so the sliding limit and the server agree.
      starts = Array.from({ length: limit }, () => now);
      return pausedUntilMs - now;
    },
    stats() {
      const now = nowMs();
      prune(now);
      return {
        started,
        inWindow: starts.length,
        queued: {
          trigger: queues.trigger.length,
          normal: queues.normal.length,
          reconcile: queues.reconcile.length,
          poll: queues.poll.length,
        },
        pausedUntil: pausedUntilMs > now ? new Date(pausedUntilMs) : null,
      };
    },
  };
}
