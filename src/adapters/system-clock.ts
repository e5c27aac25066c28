import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../ports.ts';

/** The real clock: wall time from `Date`, sleeps from abortable timers. */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  sleep: async (ms, signal) => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, { signal });
  },
};
