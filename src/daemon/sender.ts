/**
 * The send loop: the only place a create is sent for a scheduled slot. It sends the creates of
 * pending slots that are due, oldest first, a few at a time through the shared pacer: first
 * sends, creates postponed because they never left, and the one re-send discovery decided on.
 */
import { coerceError } from '../core/errors.ts';
import type { SlotRecord } from '../core/model.ts';
import { Loop } from './loop.ts';
import type { Runtime } from './runtime.ts';
import { sendSlot } from './trigger.ts';

/** Creates sent at the same time; the pacer decides the pace, this only hides latency. */
const SEND_CONCURRENCY = 4;
/** Slots read per round. */
const BATCH = 200;

export class Sender extends Loop {
  private readonly onSent: () => void;

  /** `onSent` is called after a round that sent anything (discovery has work). */
  constructor(rt: Runtime, signal: AbortSignal, onSent: () => void) {
    super(rt, signal);
    this.onSent = onSent;
  }

  protected async round(): Promise<number> {
    const due: SlotRecord[] = await this.rt.ledger.dueSends(this.rt.clock.now(), BATCH);
    const queue = [...due];
    const worker = async () => {
      while (!this.signal.aborted) {
        const slot = queue.shift();
        if (!slot) return;
        await sendSlot(this.rt, slot, this.signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, queue.length) }, worker));
    if (due.length > 0) this.onSent();
    return due.length === BATCH ? 0 : Number.POSITIVE_INFINITY;
  }

  protected failed(raw: unknown): void {
    this.rt.logger.error({ err: coerceError(raw) }, 'send loop failed');
  }
}
