import { ManualClock as BaseClock } from '../../src/adapters/manual-clock.ts';

/** The simulated-time clock with test conveniences: `advance` and `set` let the code under test react. */
export class ManualClock extends BaseClock {
  /** Moves time forward (or backward, for clock-jump tests) and wakes due sleepers. */
  async advance(ms: number): Promise<void> {
    this.moveTo(this.now().getTime() + ms);
    await settle();
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
