import type { Clock } from '../../src/ports.ts';

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
}

/**
 * A clock tests move by hand. `sleep` registers a sleeper; `advance` moves time, wakes every
 * sleeper that is due, and lets promise callbacks and I/O run so the code under test can react.
 */
export class ManualClock implements Clock {
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
      const sleeper: Sleeper = { wakeAt: this.nowMs + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Number of callers currently sleeping. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Moves time forward (or backward, for clock-jump tests) and wakes due sleepers. */
  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    const due = this.sleepers.filter((s) => s.wakeAt <= this.nowMs);
    this.sleepers = this.sleepers.filter((s) => s.wakeAt > this.nowMs);
    for (const sleeper of due) sleeper.resolve();
    await settle();
  }

  /** Sets the wall clock to an instant (a jump), waking sleepers that are now due. */
  async set(at: Date | string): Promise<void> {
    await this.advance(new Date(at).getTime() - this.nowMs);
  }
}

/** Lets pending promise callbacks and one turn of I/O run. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
