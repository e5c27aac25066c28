/**
 * The tick loop: plans what is due for every schedule (one loop, no timer per schedule), records
 * it, starts the sweeps among it, and sleeps until the next fire, at most 30 s so clock jumps and
 * suspend are noticed (README, "Time semantics").
 */
import { coerceError } from '../core/errors.ts';
import { Loop } from './loop.ts';
import type { Runtime } from './runtime.ts';
import { resolveSweep } from './sweep.ts';
import { runTick, type Sweep, type TickState } from './tick.ts';

/** How often the ledger hears that this daemon is alive (`trigger` waits on it only then). */
const HEARTBEAT_MS = 10_000;

export interface TickerHooks {
  /** Pending slots were recorded: the sender has work. */
  onPending: () => void;
  /** Called once the first tick is recorded (systemd READY=1). */
  onReady?: () => void;
  /** Called after every tick (systemd watchdog). */
  onTick?: () => void;
}

export class Ticker extends Loop {
  private first = true;
  private lastBeatMs: number | null = null;
  private readonly sweeps = new Set<Promise<void>>();
  private readonly state: TickState;
  private readonly hooks: TickerHooks;

  constructor(rt: Runtime, signal: AbortSignal, state: TickState, hooks: TickerHooks) {
    super(rt, signal);
    this.state = state;
    this.hooks = hooks;
  }

  protected async round(): Promise<number> {
    const now = this.rt.clock.now();
    let wakeAt: Date | null = null;
    if (this.lastBeatMs === null || Math.abs(now.getTime() - this.lastBeatMs) >= HEARTBEAT_MS) {
      await this.rt.ledger.heartbeat(now);
      this.lastBeatMs = now.getTime();
    }
    try {
      const result = await runTick(this.rt, this.state, now);
      wakeAt = result.wakeAt;
      for (const sweep of result.sweeps) this.startSweep(sweep);
      this.rt.events.emit('tick', { at: now, recorded: result.recorded.length, wakeAt });
      if (result.recorded.some((slot) => slot.state === 'pending')) this.hooks.onPending();
    } finally {
      if (this.first) {
        this.first = false;
        this.rt.logger.info(
          { schedules: this.state.schedules.length, wakeAt },
          'first tick planned',
        );
        this.hooks.onReady?.();
      }
      this.hooks.onTick?.();
    }
    return wakeAt ? wakeAt.getTime() - this.rt.clock.now().getTime() : Number.POSITIVE_INFINITY;
  }

  protected failed(raw: unknown): void {
    this.rt.logger.error({ err: coerceError(raw) }, 'tick failed');
  }

  /** Runs until stopped, then waits for the sweeps it started. */
  override async run(): Promise<void> {
    await super.run();
    await Promise.allSettled([...this.sweeps]);
  }

  private startSweep(sweep: Sweep): void {
    const run: Promise<void> = resolveSweep(this.rt, sweep, this.state.marks, this.signal)
      .then(() => undefined)
      .catch((raw) => {
        if (this.signal.aborted) {
          // Stopping: routine, and the sweep's slot is caught up at the next start.
          this.rt.logger.info(
            { schedule: sweep.schedule.name },
            'sweep interrupted by shutdown; it will be retried as catch-up',
          );
          return;
        }
        this.rt.logger.error(
          { schedule: sweep.schedule.name, err: coerceError(raw) },
          'sweep failed; it will be retried as catch-up',
        );
      })
      .finally(() => {
        this.state.sweepsInFlight.delete(sweep.schedule.name);
        this.sweeps.delete(run);
        this.hooks.onPending();
      });
    this.sweeps.add(run);
  }
}
