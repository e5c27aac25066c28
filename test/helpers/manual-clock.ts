import type { Clock } from '../../src/ports.ts';

interface Sleeper {
  wakeAtMs: number;
  resolve: () => void;
}

/**
 * A clock moved by hand, for simulated time: the tests and the benchmarks (bench/) run the real
 * daemon, client, pacer and simulator on one of these. `sleep` registers a sleeper; moving time wakes every
 * sleeper that is due.
 */
class BaseClock implements Clock {
  private nowMs: number;
  private sleepers: Sleeper[] = [];

  constructor(start: Date | string) {
    this.nowMs = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      // A woken sleeper lets go of the signal, so long-lived signals collect no listeners.
      const sleeper: Sleeper = {
        wakeAtMs: this.nowMs + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves every sleeper's wake-up instant by `byMs` (see ManualClock.step). */
  protected shiftSleepers(byMs: number): void {
    for (const sleeper of this.sleepers) sleeper.wakeAtMs += byMs;
  }

  /** Number of callers currently sleeping. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Earliest wake-up instant of any sleeper, or null when nobody sleeps. */
  nextWakeMs(): number | null {
    let next: number | null = null;
    for (const s of this.sleepers) if (next === null || s.wakeAtMs < next) next = s.wakeAtMs;
    return next;
  }

  /**
   * Sets the clock to `atMs` (forward or backward: clock-jump tests) and wakes the sleepers that
   * are due. Their callbacks run once the caller yields.
   */
  moveTo(atMs: number): void {
    this.nowMs = atMs;
    const due = this.sleepers.filter((s) => s.wakeAtMs <= this.nowMs);
    this.sleepers = this.sleepers.filter((s) => s.wakeAtMs > this.nowMs);
    for (const sleeper of due) sleeper.resolve();
  }
}

/** The simulated-time clock with test conveniences: `advance` and `set` let the code under test react. */
export class ManualClock extends BaseClock {
  /** Moves time forward (or backward, for clock-jump tests) and wakes due sleepers. */
  async advance(ms: number): Promise<void> {
    this.moveTo(this.now().getTime() + ms);
    await settle();
  }

  /**
   * Steps the wall clock to an instant the way an NTP step moves a real one: sleepers keep the
   * time they had left (real timers are not wall-clock deadlines), so a step back delays nobody.
   */
  async step(at: Date | string): Promise<void> {
    const byMs = new Date(at).getTime() - this.now().getTime();
    this.shiftSleepers(byMs);
    await this.set(at);
  }

  /** Sets the wall clock to an instant (a jump), waking sleepers that are now due. */
  async set(at: Date | string): Promise<void> {
    await this.advance(new Date(at).getTime() - this.now().getTime());
  }
}

/** Lets pending promise callbacks and one turn of I/O run. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
