/**
 * What the daemon's loops share: `run()` resolves once `stop()` was called (or the daemon's
 * signal aborted) and the loop's own work has settled; `notify()` wakes it early.
 */
import { isLedgerBusy, LEDGER_RETRY_MS } from '../adapters/ledger-busy.ts';
import { Nudge } from './nudge.ts';
import type { Runtime } from './runtime.ts';

/** When each runtime's ledger was first found locked by another process (null: not locked). */
const lockedSince = new WeakMap<Runtime, number>();

/**
 * A pause on the real clock (a lock held by another process is released in real time, whatever
 * clock the daemon runs on); resolves early when `signal` aborts.
 */
export function realDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The loop re-reads the wall clock at least this often (README, "Time semantics"). */
export const MAX_SLEEP_MS = 30_000;

export abstract class Loop {
  protected readonly nudge = new Nudge();
  protected readonly controller = new AbortController();
  protected readonly rt: Runtime;

  constructor(rt: Runtime, signal: AbortSignal) {
    this.rt = rt;
    if (signal.aborted) this.controller.abort(signal.reason);
    else signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Aborted when the loop is to stop. */
  protected get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Runs one round; returns how long to sleep before the next (at most MAX_SLEEP_MS is used). */
  protected abstract round(): Promise<number>;

  /** Runs rounds until stopped. */
  async run(): Promise<void> {
    while (!this.signal.aborted) {
      let sleepMs = MAX_SLEEP_MS;
      try {
        sleepMs = await this.round();
        this.unlocked();
      } catch (raw) {
        if (isLedgerBusy(raw)) {
          // Another process holds the ledger's write lock: retried soon, said once per lock.
          this.locked();
          await realDelay(LEDGER_RETRY_MS, this.signal);
          continue;
        }
        this.failed(raw);
      }
      if (this.signal.aborted) break;
      const waitMs = Math.max(0, Math.min(sleepMs, MAX_SLEEP_MS));
      await this.nudge.wait(this.rt.clock, waitMs, this.signal);
    }
  }

  private locked(): void {
    if (lockedSince.has(this.rt)) return;
    lockedSince.set(this.rt, Date.now());
    this.rt.logger.warn(
      { ledger: this.rt.ledger.location, retryMs: LEDGER_RETRY_MS },
      'ledger is locked by another process; retrying',
    );
  }

  private unlocked(): void {
    const since = lockedSince.get(this.rt);
    if (since === undefined) return;
    lockedSince.delete(this.rt);
    this.rt.logger.info({ lockedMs: Date.now() - since }, 'ledger lock released');
  }

  /** Logs a round that threw; the loop goes on. */
  protected abstract failed(raw: unknown): void;

  /** Wakes the loop now (new work for it). */
  notify(): void {
    this.nudge.poke();
  }

  stop(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error('daemon stopping'));
    this.nudge.poke();
  }
}
