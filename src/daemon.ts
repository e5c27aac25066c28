/**
 * The daemon: three cooperative loops over one ledger and one API client.
 * - tick: plans what is due (one loop for every schedule, no timer per schedule), records it,
 *   and sleeps until the next fire, at most 30 s so clock jumps and suspend are noticed;
 * - send: sends the creates of pending slots, oldest first, through the shared pacer;
 * - reconcile: discovers the builds the 202s did not name and follows them to their end.
 * `runDaemon` resolves when its signal aborts and in-flight work has settled.
 */
import type { SlotRecord } from './adapters/ledger.ts';
import { isLedgerBusy, LEDGER_RETRY_MS } from './adapters/ledger-busy.ts';
import type { ScheduleIssue } from './core/errors.ts';
import { coerceError, formatScheduleIssue } from './core/errors.ts';
import { probeDelayMs } from './core/server-clock.ts';
import { SECOND } from './core/time.ts';
import { probeServerClock } from './daemon/clock-probe.ts';
import { createReconcileMemory, dueProjects, reconcileOnce } from './daemon/reconcile.ts';
import type { Runtime } from './daemon/runtime.ts';
import type { LoadedFile, ScheduleSet } from './daemon/schedule-set.ts';
import { resolveSweep } from './daemon/sweep.ts';
import { FireCache, runTick, type Sweep, type TickState } from './daemon/tick.ts';
import { sendSlot } from './daemon/trigger.ts';

/** The loop re-reads the wall clock at least this often (PRODUCT.md, Time semantics). */
export const MAX_SLEEP_MS = 30 * SECOND;
/** Creates sent at the same time; the pacer decides the pace, this only hides latency. */
const SEND_CONCURRENCY = 4;
/** Due creates that make a backlog, during which reconciliation leaves the pacer to them. */
const SEND_BACKLOG = 2 * SEND_CONCURRENCY;
/** Longest reconciliation waits for a backlog of creates to drain. */
const MAX_HOLD_BACK_MS = 5 * 60 * SECOND;

export interface DaemonOptions {
  signal: AbortSignal;
  schedules: ScheduleSet;
  /** Reads the schedule folder again (for reloads). */
  loadSchedules: () => { files: LoadedFile[]; issues: ScheduleIssue[] };
  /** Registers a reload trigger (SIGHUP, folder watcher). */
  onReload?: (listener: () => void) => void;
  /** Called once the first tick is recorded (systemd READY=1). */
  onReady?: () => void;
  /** Called after every tick (systemd watchdog). */
  onTick?: () => void;
}

/**
 * A pause on the real clock (a lock held by another process is released in real time, whatever
 * clock the daemon runs on); resolves early when `signal` aborts.
 */
function realDelay(ms: number, signal: AbortSignal): Promise<void> {
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

/** A wake-up that sleeping loops can be nudged out of early. */
class Nudge {
  private resolve: (() => void) | null = null;
  private pending = false;
  wait(rt: Runtime, ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    const inner = new AbortController();
    const onAbort = () => inner.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<void>((done) => {
      this.resolve = () => inner.abort();
      rt.clock.sleep(ms, inner.signal).then(
        () => done(),
        () => done(),
      );
    }).finally(() => {
      this.resolve = null;
      signal.removeEventListener('abort', onAbort);
    });
  }
  poke(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }
}

/** Runs the daemon until `options.signal` aborts. */
export async function runDaemon(rt: Runtime, options: DaemonOptions): Promise<void> {
  const { signal, schedules } = options;
  const startedAt = rt.clock.now();
  const state: TickState = {
    schedules: schedules.all(),
    marks: rt.ledger.marks(),
    watchingSince: new Map(schedules.all().map((s) => [s.name, startedAt])),
    sweepsInFlight: new Set(),
    fireCache: new FireCache(),
  };
  const tickNudge = new Nudge();
  const sendNudge = new Nudge();
  const reconcileNudge = new Nudge();
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>) => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  const reload = () => {
    const loaded = options.loadSchedules();
    const report = schedules.apply(loaded.files, loaded.issues);
    const now = rt.clock.now();
    for (const name of report.added) state.watchingSince.set(name, now);
    state.schedules = schedules.all();
    for (const issue of report.issues) {
      rt.logger.error({ problem: formatScheduleIssue(issue) }, 'schedule file invalid');
    }
    rt.logger.info(
      {
        schedules: schedules.size,
        added: report.added,
        removed: report.removed,
        kept: report.kept,
      },
      'schedules reloaded',
    );
    rt.events.emit('schedules', { count: schedules.size, issues: report.issues.length });
    tickNudge.poke();
  };
  options.onReload?.(reload);
  // A create sent outside the send loop (a manual trigger) gets its build discovered promptly too.
  const onAttempt = () => reconcileNudge.poke();
  rt.events.on('attempt', onAttempt);

  const runSweep = async (sweep: Sweep) => {
    try {
      await resolveSweep(rt, sweep, state.marks, signal);
    } catch (raw) {
      const error = coerceError(raw);
      rt.logger.error(
        { schedule: sweep.schedule.name, err: error },
        'sweep failed; it will be retried as catch-up',
      );
    } finally {
      state.sweepsInFlight.delete(sweep.schedule.name);
      sendNudge.poke();
    }
  };

  // A locked ledger is retried soon, on a timer (see ledger-busy.ts), and said once per lock.
  let lockedSince: number | null = null;
  const retryAfter = (raw: unknown, fallbackMs: number): number => {
    if (!isLedgerBusy(raw)) return fallbackMs;
    if (lockedSince === null) {
      lockedSince = Date.now();
      rt.logger.warn(
        { ledger: rt.ledger.file, retryMs: LEDGER_RETRY_MS },
        'ledger is locked by another process; retrying',
      );
    }
    return LEDGER_RETRY_MS;
  };
  const unlocked = () => {
    if (lockedSince === null) return;
    rt.logger.info({ lockedMs: Date.now() - lockedSince }, 'ledger lock released');
    lockedSince = null;
  };

  const tickLoop = async () => {
    let first = true;
    while (!signal.aborted) {
      const now = rt.clock.now();
      let wakeAt: Date | null = null;
      let retryMs: number | null = null;
      try {
        const result = runTick(rt, state, now);
        wakeAt = result.wakeAt;
        for (const sweep of result.sweeps) track(runSweep(sweep));
        rt.events.emit('tick', { at: now, recorded: result.recorded.length, wakeAt });
        if (result.recorded.some((slot) => slot.state === 'pending')) sendNudge.poke();
        unlocked();
      } catch (raw) {
        retryMs = retryAfter(raw, MAX_SLEEP_MS);
        if (retryMs === MAX_SLEEP_MS) rt.logger.error({ err: coerceError(raw) }, 'tick failed');
      }
      if (first) {
        first = false;
        rt.logger.info({ schedules: state.schedules.length, wakeAt }, 'first tick planned');
        options.onReady?.();
      }
      options.onTick?.();
      const untilWake = wakeAt ? wakeAt.getTime() - rt.clock.now().getTime() : MAX_SLEEP_MS;
      if (retryMs !== null && retryMs < MAX_SLEEP_MS) await realDelay(retryMs, signal);
      else await tickNudge.wait(rt, Math.max(0, Math.min(untilWake, MAX_SLEEP_MS)), signal);
    }
  };

  const sendLoop = async () => {
    while (!signal.aborted) {
      let due: SlotRecord[] = [];
      let retryMs = MAX_SLEEP_MS;
      try {
        due = rt.ledger.dueSends(rt.clock.now(), 200);
        const queue = [...due];
        const worker = async () => {
          while (!signal.aborted) {
            const slot = queue.shift();
            if (!slot) return;
            await sendSlot(rt, slot, signal);
          }
        };
        await track(
          Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, queue.length) }, worker)),
        );
        if (due.length > 0) reconcileNudge.poke();
      } catch (raw) {
        retryMs = retryAfter(raw, MAX_SLEEP_MS);
        if (retryMs === MAX_SLEEP_MS)
          rt.logger.error({ err: coerceError(raw) }, 'send loop failed');
      }
      if (retryMs < MAX_SLEEP_MS) await realDelay(retryMs, signal);
      else if (due.length === 200) continue;
      else await sendNudge.wait(rt, MAX_SLEEP_MS, signal);
    }
  };

  const reconcileLoop = async () => {
    const memory = createReconcileMemory(rt.ledger);
    let lastPassMs = rt.clock.now().getTime();
    while (!signal.aborted) {
      const now = rt.clock.now();
      let nextAt: Date | null = null;
      let retryMs = MAX_SLEEP_MS;
      try {
        // Creates first: while a backlog of them is due (the drain of a big burst), the pacer's
        // budget is theirs; but reconciliation never waits longer than MAX_HOLD_BACK_MS for it.
        const backlog = rt.ledger.dueSends(now, SEND_BACKLOG).length >= SEND_BACKLOG;
        if (!backlog || now.getTime() - lastPassMs >= MAX_HOLD_BACK_MS) {
          const plan = dueProjects(rt, memory, now);
          if (plan.due.length > 0) {
            // Until the server clock is known to a few ms, each pass starts where Codeship's
            // second turns over mid-estimate, so its answers narrow it (core/server-clock.ts).
            await rt.clock.sleep(probeDelayMs(now.getTime(), rt.api.clockEstimate()), signal);
            await track(reconcileOnce(rt, signal, { memory, projects: plan.due }));
            lastPassMs = rt.clock.now().getTime();
          }
          nextAt = dueProjects(rt, memory, rt.clock.now()).nextAt;
        }
      } catch (raw) {
        retryMs = retryAfter(raw, MAX_SLEEP_MS);
        if (retryMs === MAX_SLEEP_MS)
          rt.logger.error({ err: coerceError(raw) }, 'reconciliation failed');
      }
      const untilMs = nextAt ? nextAt.getTime() - rt.clock.now().getTime() : MAX_SLEEP_MS;
      if (retryMs < MAX_SLEEP_MS) await realDelay(retryMs, signal);
      else await reconcileNudge.wait(rt, Math.max(0, Math.min(untilMs, MAX_SLEEP_MS)), signal);
    }
  };

  rt.logger.info({ schedules: schedules.size, ledger: rt.ledger.file }, 'daemon started');
  rt.events.emit('schedules', { count: schedules.size, issues: 0 });
  await Promise.all([
    tickLoop(),
    sendLoop(),
    reconcileLoop(),
    probeServerClock(rt, signal).catch(() => undefined),
  ]);
  await Promise.allSettled([...inFlight]);
  rt.events.off('attempt', onAttempt);
  rt.logger.info({}, 'daemon stopped');
}
