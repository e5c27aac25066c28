/**
 * The daemon: three loop objects over one ledger and one API client (README, "The ledger and
 * exactly-once"), plus the server clock probe.
 * - the ticker plans what is due, records it, and starts sweeps;
 * - the sender is the only place a scheduled slot's create is sent;
 * - the reconciler discovers the builds the 202s did not name and follows them to their end.
 * `runDaemon` resolves when its signal aborts and every loop's work has settled.
 */
import type { ScheduleIssue } from '../core/errors.ts';
import { coerceError, formatScheduleIssue } from '../core/errors.ts';
import type { Schedule } from '../core/model.ts';
import { Chains } from './chains.ts';
import { probeServerClock } from './clock-probe.ts';
import { createHintHandler } from './hints.ts';
import { Reconciler } from './reconciler.ts';
import type { Runtime } from './runtime.ts';
import type { LoadedFile, ScheduleSet } from './schedule-set.ts';
import { Sender } from './sender.ts';
import { FireCache, type TickState } from './tick.ts';
import { Ticker } from './ticker.ts';

/** A due slot fires if it is at most this late (core/plan.ts). */
const STALE_GRACE_MS = 90_000;
/** Unsent slots looked at on start (the backlog rule keeps one per schedule and branch). */
const STALE_SCAN_LIMIT = 10_000;

export { MAX_SLEEP_MS } from './loop.ts';

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
  /** UPSTREAM_POLL: how often chains read their upstream projects; 0 or absent: never. */
  upstreamPollMs?: number;
}

/** Runs the daemon until `options.signal` aborts. */
export async function runDaemon(rt: Runtime, options: DaemonOptions): Promise<void> {
  const { signal, schedules } = options;
  const startedAt = rt.clock.now();
  const state: TickState = {
    schedules: schedules.all(),
    marks: await rt.ledger.marks(),
    watchingSince: new Map(schedules.all().map((s) => [s.name, startedAt])),
    sweepsInFlight: new Set(),
    fireCache: new FireCache(),
  };
  const reconciler = new Reconciler(rt, signal);
  const sender = new Sender(rt, signal, () => reconciler.notify());
  const ticker = new Ticker(rt, signal, state, {
    onPending: () => sender.notify(),
    onReady: options.onReady,
    onTick: options.onTick,
  });
  const chains = new Chains(rt, signal, {
    schedules: () => state.schedules,
    watchingSince: state.watchingSince,
    pollMs: options.upstreamPollMs ?? 0,
    onPending: () => sender.notify(),
  });

  options.onReload?.(() => {
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
    ticker.notify();
    chains.reloaded();
  });
  // A create sent outside the sender (a manual trigger) asks discovery to look soon; a re-send
  // decided by discovery is the sender's to make.
  const onAttempt = () => reconciler.notify();
  const onResend = () => sender.notify();
  rt.events.on('attempt', onAttempt);
  rt.events.on('resend', onResend);
  const previousLook = rt.look;
  rt.look = (projectUuid, lookSignal) => reconciler.look(projectUuid, lookSignal);
  const previousHint = rt.hint;
  rt.hint = createHintHandler(rt, reconciler, chains, signal);

  // Best effort: a ledger busy or unreachable now leaves them to the sender, as before.
  await skipStalePending(rt, schedules.all(), startedAt).catch((raw: unknown) =>
    rt.logger.warn({ err: coerceError(raw) }, 'unsent slots from before the start not checked'),
  );
  rt.logger.info({ schedules: schedules.size, ledger: rt.ledger.location }, 'daemon started');
  rt.events.emit('schedules', { count: schedules.size, issues: 0 });
  try {
    await Promise.all([
      ticker.run(),
      sender.run(),
      reconciler.run(),
      chains.run(),
      probeServerClock(rt, signal).catch(() => undefined),
    ]);
  } finally {
    rt.events.off('attempt', onAttempt);
    rt.events.off('resend', onResend);
    rt.look = previousLook;
    rt.hint = previousHint;
  }
  if (signal.reason instanceof Error && signal.reason.name === 'LeadershipEnded') {
    rt.logger.info({}, 'daemon loops stopped: standing by');
  } else {
    rt.logger.info({}, 'daemon stopped');
  }
}

/**
 * Scheduled slots a previous process recorded but never sent (it died or lost its lease between
 * the tick and the create, or Codeship was unreachable) are slots missed by downtime like any
 * other (README, "Time semantics"): sent now only if the catch-up rules would fire them (due at
 * most 90 s ago, or inside the schedule's `catchup` window), else recorded `skipped: missed`. A
 * `catchup: 0` schedule killed right after recording its 02:00 slot must not build it at 09:00.
 * Manual triggers and chain slots are left alone; so are attempts that may have reached Codeship.
 */
async function skipStalePending(
  rt: Runtime,
  schedules: readonly Schedule[],
  now: Date,
): Promise<void> {
  const byName = new Map(schedules.map((s) => [s.name, s]));
  for (const slot of await rt.ledger.dueSends(now, STALE_SCAN_LIMIT)) {
    if (slot.state !== 'pending' || slot.attempts !== 0 || slot.manual || slot.cause !== null)
      continue;
    const schedule = byName.get(slot.schedule);
    if (!schedule) continue;
    const lateMs = now.getTime() - slot.fireAt.getTime();
    const ageMs = now.getTime() - slot.slotAt.getTime();
    if (lateMs <= STALE_GRACE_MS || (schedule.catchupMs > 0 && ageMs <= schedule.catchupMs))
      continue;
    await rt.ledger.closeSlot(slot.id, 'skipped', 'missed', now);
    rt.logger.warn(
      { schedule: slot.schedule, slot: slot.slotAt.toISOString(), branch: slot.branch },
      'slot never sent before the restart and outside its catch-up window: skipped',
    );
  }
}
