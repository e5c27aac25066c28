/**
 * The send loop: the only place a create is sent for a scheduled slot. It sends the creates of
 * pending slots that are due, oldest first, a few at a time through the shared pacer: first
 * sends, creates postponed because they never left, and the one re-send discovery decided on.
 *
 * Overload (README, "Overload"): before each round, and again before each send once the clock
 * has moved, the ledger supersedes every never-attempted scheduled slot that a newer due slot of
 * its schedule and branch made stale, so the backlog never holds two unsent slots of one schedule
 * and branch and what fires is fresh; a backlog larger than a minute's budget is logged, at most
 * once a minute.
 */
import { coerceError } from '../core/errors.ts';
import type { SlotRecord } from '../core/model.ts';
import { MINUTE, SECOND } from '../core/time.ts';
import { Loop } from './loop.ts';
import type { Runtime } from './runtime.ts';
import { sendSlot } from './trigger.ts';

/** Creates sent at the same time; the pacer decides the pace, this only hides latency. */
const SEND_CONCURRENCY = 4;
/** Slots read per round. */
const BATCH = 200;
/** Within a round, the backlog is bounded again before a send once the clock moved this far. */
const SUPERSEDE_EVERY_MS = SECOND;
/** The backlog warning is logged at most this often. */
const BACKLOG_WARNING_EVERY_MS = MINUTE;

export class Sender extends Loop {
  private readonly onSent: () => void;
  /** Slots a worker took and is sending (in the pacer or on the wire): never superseded. */
  private readonly inFlight = new Set<number>();
  private inRound = false;
  /** Slots superseded during the current round: a worker skips them in the round's queue. */
  private readonly dropped = new Set<number>();
  private supersededAtMs = Number.NEGATIVE_INFINITY;
  /** Due slots not yet taken by a worker (replaced by each round's fresh read). */
  private queue: SlotRecord[] = [];
  /** Ends the wait of a round whose workers are sending (see `round`). */
  private wake: (() => void) | null = null;
  /** Send workers under way; a round starts more, up to SEND_CONCURRENCY. */
  private readonly workers = new Set<Promise<void>>();
  private warnedAtMs = Number.NEGATIVE_INFINITY;

  /** `onSent` is called after a round that sent anything (discovery has work). */
  constructor(rt: Runtime, signal: AbortSignal, onSent: () => void) {
    super(rt, signal);
    this.onSent = onSent;
  }

  /**
   * New pending slots (a tick recorded some): during a round, whose workers may all wait in the
   * pacer, the backlog is bounded at once rather than when a worker comes back.
   */
  override notify(): void {
    super.notify();
    this.wake?.();
    if (this.inRound) {
      this.supersede().catch((raw) => this.failed(raw));
    }
  }

  protected async round(): Promise<number> {
    this.inRound = true;
    try {
      const next = await this.sendDue();
      if (this.workers.size === 0) return next;
      // Sends under way: the round lasts until one ends or new work is announced (not on the
      // clock, so a hung create never looks like an idle sender), then reads what is due again.
      let onAbort = () => {};
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        onAbort = () => resolve();
        for (const worker of this.workers) void worker.then(onAbort);
        if (this.signal.aborted) resolve();
        else this.signal.addEventListener('abort', onAbort, { once: true });
      });
      this.signal.removeEventListener('abort', onAbort);
      this.wake = null;
      return 0;
    } finally {
      this.inRound = false;
    }
  }

  /**
   * Reads what is due and hands it to the send workers, without waiting for their sends: a create
   * that hangs until its request times out holds only its own worker, and the next round (a tick
   * recorded slots, a send finished) gives what fell due meanwhile to the others.
   */
  private async sendDue(): Promise<number> {
    this.dropped.clear();
    await this.supersede();
    await this.warnBacklog();
    const due: SlotRecord[] = await this.rt.ledger.dueSends(this.rt.clock.now(), BATCH);
    this.queue = due.filter((slot) => !this.inFlight.has(slot.id));
    // Idle workers take from the new queue; more start while it holds more than they can take.
    while (
      this.workers.size < SEND_CONCURRENCY &&
      this.workers.size - this.inFlight.size < this.queue.length
    ) {
      const worker: Promise<void> = this.work().then((ok) => {
        this.workers.delete(worker);
        // A worker ran out of work: whatever is due now (a re-send, a batch beyond this one,
        // slots recorded meanwhile) is read again. After an error the loop's own pace applies.
        if (ok && !this.signal.aborted) this.notify();
      });
      this.workers.add(worker);
    }
    // While workers send, their end reads the next batch; a read now would find the same slots.
    return due.length === BATCH && this.workers.size === 0 ? 0 : Number.POSITIVE_INFINITY;
  }

  /** One send worker: takes slots from the shared queue until it is empty; false after an error. */
  private async work(): Promise<boolean> {
    let sent = false;
    try {
      while (!this.signal.aborted) {
        if (this.rt.clock.now().getTime() - this.supersededAtMs >= SUPERSEDE_EVERY_MS) {
          await this.supersede();
        }
        const slot = this.queue.shift();
        if (!slot) return true;
        if (this.dropped.has(slot.id) || this.inFlight.has(slot.id)) continue;
        this.inFlight.add(slot.id);
        try {
          await sendSlot(this.rt, slot, this.signal);
          sent = true;
        } finally {
          this.inFlight.delete(slot.id);
        }
      }
    } catch (raw) {
      this.failed(raw);
      return false;
    } finally {
      if (sent) this.onSent();
    }
    return true;
  }

  /** Runs the loop; on stop, waits for the sends under way (their outcome must be recorded). */
  override async run(): Promise<void> {
    await super.run();
    while (this.workers.size > 0) await Promise.all([...this.workers]);
  }

  /** Applies the ledger's backlog rule now; logs and announces what it superseded. */
  private async supersede(): Promise<SlotRecord[]> {
    const now = this.rt.clock.now();
    this.supersededAtMs = now.getTime();
    const rows = await this.rt.ledger.supersedeBacklog(now, [...this.inFlight, ...this.rt.sending]);
    if (rows.length === 0) return rows;
    for (const row of rows) this.dropped.add(row.id);
    const bySchedule: Record<string, number> = {};
    for (const row of rows) bySchedule[row.schedule] = (bySchedule[row.schedule] ?? 0) + 1;
    this.rt.logger.debug({ superseded: rows.length, bySchedule }, 'slots superseded (backlog)');
    this.rt.events.emit('superseded', rows);
    for (const row of rows) this.rt.events.emit('settled', row);
    return rows;
  }

  /** Warns, at most once a minute, while more creates wait than a minute's budget can send. */
  private async warnBacklog(): Promise<void> {
    const nowMs = this.rt.clock.now().getTime();
    if (nowMs - this.warnedAtMs < BACKLOG_WARNING_EVERY_MS) return;
    const backlog = await this.rt.ledger.sendBacklog();
    const budgetPerMinute = this.rt.rateLimitPerMinute;
    if (backlog <= budgetPerMinute) return;
    this.warnedAtMs = nowMs;
    this.rt.logger.warn(
      { backlog, budgetPerMinute },
      "send backlog exceeds the next minute's API budget",
    );
  }

  protected failed(raw: unknown): void {
    this.rt.logger.error({ err: coerceError(raw) }, 'send loop failed');
  }
}
