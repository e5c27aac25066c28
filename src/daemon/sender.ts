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
    if (this.inRound) {
      this.supersede().catch((raw) => this.failed(raw));
    }
  }

  protected async round(): Promise<number> {
    this.inRound = true;
    try {
      return await this.sendDue();
    } finally {
      this.inRound = false;
    }
  }

  private async sendDue(): Promise<number> {
    this.dropped.clear();
    await this.supersede();
    await this.warnBacklog();
    const due: SlotRecord[] = await this.rt.ledger.dueSends(this.rt.clock.now(), BATCH);
    const queue = [...due];
    const worker = async () => {
      while (!this.signal.aborted) {
        if (this.rt.clock.now().getTime() - this.supersededAtMs >= SUPERSEDE_EVERY_MS) {
          await this.supersede();
        }
        const slot = queue.shift();
        if (!slot) return;
        if (this.dropped.has(slot.id)) continue;
        this.inFlight.add(slot.id);
        try {
          await sendSlot(this.rt, slot, this.signal);
        } finally {
          this.inFlight.delete(slot.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, queue.length) }, worker));
    if (due.length > 0) this.onSent();
    return due.length === BATCH ? 0 : Number.POSITIVE_INFINITY;
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
