/**
 * `run` as a service: opens the ledger, loads and watches the schedules, starts the daemon,
 * speaks to systemd (readiness, watchdog, stopping), and shuts down within a grace period.
 * `demo` reuses it against the bundled simulator.
 */
import { watchScheduleFolder } from '../adapters/folder-watch.ts';
import type { Logger } from '../adapters/logger.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { createNotifier } from '../adapters/systemd-notify.ts';
import type { Config, Env } from '../config.ts';
import { coerceError, formatScheduleIssue } from '../core/errors.ts';
import { SECOND } from '../core/time.ts';
import {
  createApi,
  createRootLogger,
  createRuntime,
  instanceName,
  loadConfiguredSchedules,
  openConfiguredLedger,
} from '../deps.ts';
import type { HttpServer } from '../http/server.ts';
import type { Metrics } from '../metrics.ts';
import type { Clock, CodeshipApi } from '../ports.ts';
import { logStartCheck } from './api-check.ts';
import { MAX_SLEEP_MS, runDaemon } from './daemon.ts';
import { alwaysLeader, LeaseLeadership } from './leadership.ts';
import type { Runtime } from './runtime.ts';
import { ScheduleSet } from './schedule-set.ts';

/** The daemon's own shutdown grace; the systemd unit's TimeoutStopSec is longer. */
export const SHUTDOWN_GRACE_MS = 20 * SECOND;

export interface ServiceOptions {
  config: Config;
  env: Env;
  signal: AbortSignal;
  onReload: (listener: () => void) => void;
  logger?: Logger;
  clock?: Clock;
  api?: CodeshipApi;
  /** Check the schedules against the API at start and log the problems (default true). */
  checkAtStart?: boolean;
  /** Called with the runtime once it exists (the HTTP server and the demo hook in here). */
  onStart?: (
    rt: Runtime,
    schedules: ScheduleSet,
    httpUrl: string | null,
  ) => Promise<(() => Promise<void>) | undefined> | undefined;
}

/** Settings that leave chains deaf, said once at start (README, "Chains"). */
function warnChainSetup(config: Config, schedules: ScheduleSet, logger: Logger): void {
  if (config.webhookSecret && !config.http) {
    logger.warn({}, 'WEBHOOK_SECRET is set but HTTP_ADDR is not: there is no webhook route');
  }
  const followsProjects = schedules
    .all()
    .some((s) => s.after?.upstreams.some((u) => u.kind === 'project'));
  if (followsProjects && config.upstreamPollMs === 0 && !(config.webhookSecret && config.http)) {
    logger.warn(
      {},
      'UPSTREAM_POLL=0 without webhooks (WEBHOOK_SECRET and HTTP_ADDR): chains after projects learn of their builds only at start and from reconciliation',
    );
  }
}

/** Runs the daemon until `signal` aborts; returns the exit code. */
export async function runService(options: ServiceOptions): Promise<number> {
  const { config, signal } = options;
  const clock = options.clock ?? systemClock;
  const logger =
    options.logger ??
    createRootLogger(
      config,
      options.env.INVOCATION_ID ? { invocation: options.env.INVOCATION_ID } : {},
    );
  const ledger = await openConfiguredLedger(config);
  const schedules = new ScheduleSet();
  const load = () => loadConfiguredSchedules(config);
  const first = load();
  const report = schedules.apply(first.files, first.issues);
  for (const issue of report.issues)
    logger.error({ problem: formatScheduleIssue(issue) }, 'schedule file invalid');
  warnChainSetup(config, schedules, logger);
  // Metrics are read only through HTTP_ADDR: without it, neither prom-client is loaded nor its
  // default collectors run (their event-loop monitor wakes the process 100 times a second).
  const metrics: Metrics | null = config.http
    ? (await import('../metrics.ts')).createMetrics()
    : null;
  // An injected `api` (tests) is not observed: its requests are not counted.
  const api = options.api ?? createApi(config, logger, clock, metrics?.observer);
  // A shared ledger (PostgreSQL) has a leader lease: this process leads only while it holds it.
  const leased = ledger.lease
    ? new LeaseLeadership(ledger.lease, logger.child({ component: 'leadership' }))
    : null;
  const rt = createRuntime({
    config,
    ledger,
    api,
    clock,
    logger: logger.child({ component: 'daemon' }),
    schedule: (n) => schedules.get(n),
    leadership: leased ?? alwaysLeader(instanceName(config)),
  });
  const unwatchMetrics = metrics?.watch(rt, () => schedules.all());
  let http: HttpServer | undefined;
  try {
    if (config.http && metrics) {
      const { startHttpServer } = await import('../http/server.ts');
      http = await startHttpServer({ config, rt, schedules, metrics, logger });
    }
  } catch (error) {
    ledger.close(); // a port in use stops start-up with a clear message (ERR_HTTP_LISTEN)
    throw error;
  }
  const notifier = createNotifier({ env: options.env, logger });
  const reloadListeners: (() => void)[] = [];
  const reload = () => {
    for (const listener of reloadListeners) listener();
    if (reloadListeners.length === 0) {
      // A standby runs no daemon: it keeps its schedules current for the term it may lead.
      const loaded = load();
      const applied = schedules.apply(loaded.files, loaded.issues);
      for (const issue of applied.issues)
        logger.error({ problem: formatScheduleIssue(issue) }, 'schedule file invalid');
      logger.info({ schedules: schedules.size }, 'schedules reloaded');
    }
  };
  options.onReload(reload);
  const watcher = watchScheduleFolder(config.schedulesDir, logger, reload);
  let lastTickAt = Date.now();
  const watchdog = notifier.watchdogIntervalMs
    ? setInterval(() => {
        // Ping only while the loop is alive: a stuck loop lets systemd restart us. A standby
        // runs no loop: its event loop being alive to run this timer is the proof.
        if (!rt.leadership.isLeader() || Date.now() - lastTickAt < 2 * MAX_SLEEP_MS + SECOND)
          void notifier.watchdog();
      }, notifier.watchdogIntervalMs)
    : null;
  watchdog?.unref();
  const stopExtras = await options.onStart?.(rt, schedules, http?.url ?? null);
  const lead = (termSignal: AbortSignal) =>
    runDaemonTerm(termSignal).finally(() => {
      reloadListeners.length = 0;
    });
  const runDaemonTerm = (termSignal: AbortSignal) =>
    runDaemon(rt, {
      signal: termSignal,
      schedules,
      loadSchedules: load,
      // One daemon run at a time listens for reloads (a new leadership term replaces the last).
      onReload: (listener) => reloadListeners.splice(0, reloadListeners.length, listener),
      onReady: () => void notifier.ready(`${schedules.size} schedules`),
      onTick: () => {
        lastTickAt = Date.now();
      },
      upstreamPollMs: config.upstreamPollMs,
    });
  const daemon = leased
    ? leadTerms(leased, signal, lead, () => void notifier.ready('standby'))
    : lead(signal);
  // After the daemon started: the check never delays the first tick, and waits behind its calls.
  const checked =
    options.checkAtStart === false
      ? null
      : logStartCheck(api, schedules.all(), logger.child({ component: 'check' }), signal);
  let code = 0;
  let stopping: Promise<void> | undefined;
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      daemon.then(resolve, resolve);
    });
    // Queued behind a message in flight (a watchdog ping waiting on its barrier): awaited below,
    // so the process never exits before systemd has heard it.
    stopping = notifier.stopping();
    logger.info({ graceMs: SHUTDOWN_GRACE_MS }, 'stopping');
    const timedOut = await Promise.race([
      daemon.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), SHUTDOWN_GRACE_MS).unref()),
    ]);
    if (timedOut) {
      logger.error(
        { graceMs: SHUTDOWN_GRACE_MS },
        'shutdown grace period over; in-flight creates stay recorded as outcome unknown',
      );
      code = 1;
    }
  } catch (error) {
    logger.fatal({ err: coerceError(error) }, 'daemon crashed');
    code = 1;
  } finally {
    if (watchdog) clearInterval(watchdog);
    await stopping;
    await checked;
    watcher.close();
    await stopExtras?.();
    await http?.close();
    unwatchMetrics?.();
    ledger.close();
    logger.flush();
  }
  return code;
}

/** Why a term's signal aborts when leadership ends while the process keeps running. */
export class LeadershipEnded extends Error {
  override name = 'LeadershipEnded';
  constructor() {
    super('leadership ended');
  }
}

/**
 * A shared ledger's daemon (README, "Several instances on PostgreSQL"): keeps the lease (or waits
 * for it) until `signal` aborts, and runs the daemon's loops for each term it leads, stopping
 * them as soon as leadership is lost. A new term starts like a restart: catch-up from the marks,
 * pending slots resolved by discovery first. Resolves once `signal` aborted and the lease is
 * released.
 */
async function leadTerms(
  leadership: LeaseLeadership,
  signal: AbortSignal,
  lead: (termSignal: AbortSignal) => Promise<void>,
  onStandby: () => void,
): Promise<void> {
  const keeping = leadership.run(signal);
  let readySent = false;
  try {
    while (!signal.aborted) {
      if (!leadership.isLeader()) {
        if (!readySent) onStandby();
        readySent = true;
        await new Promise<void>((resolve) => {
          const off = leadership.onChange((leading) => {
            if (leading) done();
          });
          const done = () => {
            off();
            signal.removeEventListener('abort', done);
            resolve();
          };
          signal.addEventListener('abort', done, { once: true });
          if (leadership.isLeader() || signal.aborted) done();
        });
        continue;
      }
      readySent = true;
      const term = new AbortController();
      const end = () => term.abort();
      signal.addEventListener('abort', end, { once: true });
      const off = leadership.onChange((leading) => {
        // The process goes on as a standby: its loops stop, it does not.
        if (!leading) term.abort(new LeadershipEnded());
      });
      if (!leadership.isLeader()) end();
      try {
        await lead(term.signal);
      } finally {
        off();
        signal.removeEventListener('abort', end);
      }
    }
  } finally {
    await keeping;
  }
}
