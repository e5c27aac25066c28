/**
 * Caps "Trigger now": every press spends API calls (and starts a real build), so a stuck button,
 * a double click or a script loop must not drain the rate limit. One trigger per schedule at a
 * time, and at most `perMinute` accepted presses in any 60 s window of the runtime's clock.
 */
import { HttpError } from './respond.ts';

/** Presses accepted per minute across all schedules. */
export const TRIGGERS_PER_MINUTE = 10;

export interface TriggerGuard {
  /** Admits a trigger of `schedule` (returns its release) or throws 409 (already running) / 429. */
  admit(schedule: string): () => void;
}

/** A guard allowing `perMinute` triggers in any 60 s window of `nowMs`. */
export function createTriggerGuard(
  nowMs: () => number,
  perMinute = TRIGGERS_PER_MINUTE,
): TriggerGuard {
  const running = new Set<string>();
  let accepted: number[] = [];
  return {
    admit(schedule) {
      if (running.has(schedule))
        throw new HttpError(409, `a trigger of ${schedule} is already in progress`);
      const now = nowMs();
      accepted = accepted.filter((at) => now - at < 60_000);
      if (accepted.length >= perMinute) {
        const retryAfterS = Math.max(
          1,
          Math.ceil((60_000 - (now - (accepted[0] as number))) / 1000),
        );
        throw new HttpError(
          429,
          `too many triggers: at most ${perMinute} per minute, try again in ${retryAfterS} s`,
          {
            'retry-after': String(retryAfterS),
          },
        );
      }
      accepted.push(now);
      running.add(schedule);
      return () => running.delete(schedule);
    },
  };
}
