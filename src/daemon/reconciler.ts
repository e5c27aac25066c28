/**
 * The reconcile loop: the one scheduler of discovery and reconciliation. It walks each project's
 * build list when its open slots are due (core/reconcile-pacing.ts pacing, with the daemon's memory of walks
 * and build durations), lets a backlog of creates have the pacer first, and serves `look()`: a
 * fresh look at one project that a decision cannot wait for (an overlap check).
 */
import { coerceError } from '../core/errors.ts';
import { probeDelayMs } from '../core/server-clock.ts';
import { MINUTE } from '../core/time.ts';
import { Loop } from './loop.ts';
import {
  createReconcileMemory,
  dueProjects,
  type ReconcileMemory,
  reconcileOnce,
} from './reconcile.ts';
import type { Runtime } from './runtime.ts';

/** Due creates that make a backlog, during which reconciliation leaves the pacer to them. */
const SEND_BACKLOG = 8;
/** Longest reconciliation waits for a backlog of creates to drain. */
const MAX_HOLD_BACK_MS = 5 * MINUTE;

export class Reconciler extends Loop {
  private memory: ReconcileMemory | null = null;
  private lastPassMs: number;

  constructor(rt: Runtime, signal: AbortSignal) {
    super(rt, signal);
    this.lastPassMs = rt.clock.now().getTime();
  }

  private async memoryOf(): Promise<ReconcileMemory> {
    this.memory ??= await createReconcileMemory(this.rt.ledger);
    return this.memory;
  }

  protected async round(): Promise<number> {
    const memory = await this.memoryOf();
    const now = this.rt.clock.now();
    // Creates first: while a backlog of them is due (the drain of a big burst), the pacer's
    // budget is theirs; but reconciliation never waits longer than MAX_HOLD_BACK_MS for it.
    const backlog = (await this.rt.ledger.dueSends(now, SEND_BACKLOG)).length >= SEND_BACKLOG;
    const sincePassMs = now.getTime() - this.lastPassMs;
    // (A last pass in the future: our clock went back, and it holds nothing back.)
    if (backlog && sincePassMs >= 0 && sincePassMs < MAX_HOLD_BACK_MS) {
      return Number.POSITIVE_INFINITY;
    }
    const plan = await dueProjects(this.rt, memory, now);
    if (plan.due.length > 0) {
      // Until the server clock is known to a few ms, each pass starts where Codeship's second
      // turns over mid-estimate, so its answers narrow it (core/server-clock.ts).
      await this.rt.clock.sleep(
        probeDelayMs(now.getTime(), this.rt.api.clockEstimate()),
        this.signal,
      );
      await reconcileOnce(this.rt, this.signal, { memory, projects: plan.due });
      this.lastPassMs = this.rt.clock.now().getTime();
    }
    const next = (await dueProjects(this.rt, memory, this.rt.clock.now())).nextAt;
    return next ? next.getTime() - this.rt.clock.now().getTime() : Number.POSITIVE_INFINITY;
  }

  protected failed(raw: unknown): void {
    if (this.signal.aborted) return;
    this.rt.logger.error({ err: coerceError(raw) }, 'reconciliation failed');
  }

  /** A pass over one project now, with the loop's memory. */
  async look(projectUuid: string, signal?: AbortSignal): Promise<void> {
    await reconcileOnce(this.rt, signal ?? this.signal, {
      memory: await this.memoryOf(),
      projects: [projectUuid],
    });
  }
}
