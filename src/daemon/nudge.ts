/** A wake-up that a sleeping loop can be nudged out of early. */
import type { Clock } from '../ports.ts';

export class Nudge {
  private resolve: (() => void) | null = null;
  private pending = false;

  /** Sleeps `ms` on `clock`, or less when poked or when `signal` aborts; never rejects. */
  wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    const inner = new AbortController();
    const onAbort = () => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<void>((done) => {
      this.resolve = () => inner.abort();
      clock.sleep(ms, inner.signal).then(
        () => done(),
        () => done(),
      );
    }).finally(() => {
      this.resolve = null;
      signal.removeEventListener('abort', onAbort);
    });
  }

  /** Wakes the sleeper now, or makes its next wait return at once. */
  poke(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }
}
