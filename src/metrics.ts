/**
 * Every Prometheus metric of the daemon, in one registry (prom-client). Counters and the lateness
 * histogram are fed by the API client's observer and the runtime's events; per-schedule gauges are
 * read from the ledger at scrape time (one GROUP BY), so they survive restarts and never drift
 * from what `status` shows. Labels stay bounded: `schedule` and `state` come from the ledger,
 * `endpoint` is a route template (`GET /organizations/:org/projects`), never a real path.
 * The same observations answer the health probes: last loop tick and last API outcome.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientObserver } from './adapters/codeship-request.ts';
import type { Schedule, SlotState } from './core/model.ts';
import { type ClockEstimate, offsetOf, widthOf } from './core/server-clock.ts';
import type { Runtime } from './daemon/runtime.ts';
import { isSweep } from './daemon/tick.ts';
import { nextFireOf } from './http/view.ts';
import type { Leadership, LedgerStore, SlotCount } from './ports.ts';

/** How the last Codeship call went, for `/readyz`. `message` names the route, never a URL or secret. */
export interface ApiCallOutcome {
  at: Date;
  ok: boolean;
  endpoint: string;
  status: number | null;
  message: string | null;
}

export interface Metrics {
  readonly registry: Registry;
  /** Pass to `createApi` so every request and rate-limit pause is counted. */
  readonly observer: ClientObserver;
  /**
   * Listens to the runtime's events and reads its ledger at scrape time; `schedules` gives the
   * loaded schedules, so each has its series (zero counts, next fire) before its first slot.
   * Returns the unsubscribe. Until a runtime is watched the ledger gauges are empty.
   */
  watch(rt: Runtime, schedules?: () => readonly Schedule[]): () => void;
  /** The last API call's outcome, or null before the first call. */
  lastApiCall(): ApiCallOutcome | null;
  /** When the scheduler loop last ticked (runtime clock), or when `watch` was called. */
  lastTickAt(): Date | null;
  /** The exposition text and its content type (prom-client's `metrics()` is async). */
  render(): Promise<{ contentType: string; body: string }>;
  /** The HTTP server closed a connection at once: MAX_HTTP_CONNECTIONS were open. */
  droppedConnection(): void;
}

/** Lateness buckets in seconds: the benchmark target is p99 < 250 ms; minutes mean trouble. */
const LATENESS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** The newest instant of `field` per schedule, over the ledger's GROUP BY rows (ISO text sorts as time). */
function latestPerSchedule(
  rows: readonly SlotCount[],
  field: 'lastSuccess' | 'lastFailure',
): Map<string, string> {
  const latest = new Map<string, string>();
  for (const row of rows) {
    const at = row[field];
    if (at && at > (latest.get(row.schedule) ?? '')) latest.set(row.schedule, at);
  }
  return latest;
}

const OPEN_STATES: ReadonlySet<string> = new Set(['pending', 'triggered', 'running']);
/** Every slot state: each loaded schedule has a `codeship_cron_slots` series for each, 0 at first. */
const SLOT_STATES = [
  'pending',
  'triggered',
  'running',
  'finished',
  'skipped',
  'failed',
] as const satisfies readonly SlotState[];

/**
 * `nextFireOf` remembered per schedule object until that instant passes: a scrape of a large
 * fleet does cron math only for the schedules that fired since the last one (a reload makes new
 * schedule objects, so an edited expression is computed afresh).
 */
function createNextFireCache(): (schedule: Schedule, now: Date) => Date | null {
  const cache = new WeakMap<Schedule, Date | null>();
  return (schedule, now) => {
    const known = cache.get(schedule);
    if (known === null || (known !== undefined && known > now)) return known;
    const next = nextFireOf(schedule, now);
    cache.set(schedule, next);
    return next;
  };
}

/**
 * An API answer that means Codeship is not usable: no answer, a 5xx, or refused credentials on
 * `/auth`. A rate-limit 403 or a 404 proves the API is reachable.
 */
function isApiFailure(endpoint: string, status: number | null): boolean {
  if (status === null || status >= 500) return true;
  return status === 401 && endpoint.endsWith(' /auth');
}

const seconds = (iso: string) => new Date(iso).getTime() / 1000;

/** Makes a fresh registry with every metric (tests make one each; the daemon makes one). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  // A coarse event-loop monitor: the default one wakes the process 100 times a second.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  let ledger: LedgerStore | null = null;
  let serverClock: (() => ClockEstimate | null) | null = null;
  let lastApi: ApiCallOutcome | null = null;
  let lastTick: Date | null = null;
  let now: () => Date = () => new Date();
  let loaded: () => readonly Schedule[] = () => [];
  const nextFire = createNextFireCache();
  /** One GROUP BY per scrape (taken by `render`), shared by the gauges that read it. */
  let snapshot: SlotCount[] = [];
  const ledgerRows = (): SlotCount[] => snapshot;
  const registers = [registry];

  let leadership: Leadership | null = null;
  new Gauge({
    name: 'codeship_cron_leader',
    help: 'Whether this instance leads (runs the tick, send and reconcile loops): 1, or 0 on a standby; labelled with the instance name (INSTANCE_NAME).',
    labelNames: ['instance'] as const,
    registers,
    collect() {
      this.reset();
      if (leadership) this.set({ instance: leadership.instance }, leadership.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'codeship_cron_slots',
    help: 'Slots in the ledger by schedule and state.',
    labelNames: ['schedule', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const schedule of loaded()) {
        for (const state of SLOT_STATES) this.set({ schedule: schedule.name, state }, 0);
      }
      for (const row of ledgerRows()) this.set({ schedule: row.schedule, state: row.state }, row.n);
    },
  });
  new Gauge({
    name: 'codeship_cron_next_fire_timestamp_seconds',
    help: 'When a schedule fires next: its next nominal slot plus its jitter offset (Unix seconds); none while disabled.',
    labelNames: ['schedule'] as const,
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const schedule of loaded()) {
        const next = nextFire(schedule, at);
        if (next) this.set({ schedule: schedule.name }, next.getTime() / 1000);
      }
    },
  });
  new Gauge({
    name: 'codeship_cron_schedule_info',
    help: 'Each loaded schedule (value 1) with its project and kind: cron (fixed branches), sweep (globs or stale:) or chain (after:).',
    labelNames: ['schedule', 'project', 'kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const schedule of loaded()) {
        const kind = schedule.after ? 'chain' : isSweep(schedule) ? 'sweep' : 'cron';
        this.set({ schedule: schedule.name, project: schedule.project, kind }, 1);
      }
    },
  });
  new Gauge({
    name: 'codeship_cron_last_success_timestamp_seconds',
    help: 'When the newest successful build of a schedule finished (Unix seconds).',
    labelNames: ['schedule'] as const,
    registers,
    collect() {
      this.reset();
      for (const [schedule, at] of latestPerSchedule(ledgerRows(), 'lastSuccess')) {
        this.set({ schedule }, seconds(at));
      }
    },
  });
  new Gauge({
    name: 'codeship_cron_last_failure_timestamp_seconds',
    help: 'When a schedule last failed: a failed slot or a build that finished other than success (Unix seconds).',
    labelNames: ['schedule'] as const,
    registers,
    collect() {
      this.reset();
      for (const [schedule, at] of latestPerSchedule(ledgerRows(), 'lastFailure')) {
        this.set({ schedule }, seconds(at));
      }
    },
  });
  new Gauge({
    name: 'codeship_cron_pending_builds',
    help: 'Slots not yet settled: waiting to be sent, waiting for their build to be found, or following a running build.',
    registers,
    collect() {
      let open = 0;
      for (const row of ledgerRows()) if (OPEN_STATES.has(row.state)) open += row.n;
      this.set(open);
    },
  });
  new Gauge({
    name: 'codeship_cron_send_backlog',
    help: 'Slots waiting to be sent: pending creates not yet attempted or postponed (README, "Overload").',
    registers,
    async collect() {
      this.set(ledger ? await ledger.sendBacklog() : 0);
    },
  });
  const superseded = new Counter({
    name: 'codeship_cron_superseded_total',
    help: 'Scheduled slots never sent because a newer slot of the same schedule and branch was due: skipped "superseded (backlog)".',
    labelNames: ['schedule'] as const,
    registers,
  });
  new Gauge({
    name: 'codeship_cron_last_tick_timestamp_seconds',
    help: 'When the scheduler loop last ticked (Unix seconds).',
    registers,
    collect() {
      if (lastTick) this.set(lastTick.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'codeship_cron_server_clock_offset_seconds',
    help: "Codeship's clock minus ours, best estimate from the Date headers of recent answers (build identity).",
    registers,
    collect() {
      const estimate = serverClock?.();
      if (estimate) this.set(offsetOf(estimate) / 1000);
    },
  });
  new Gauge({
    name: 'codeship_cron_server_clock_uncertainty_seconds',
    help: 'Width of the interval the server clock offset is known to lie in (about one round trip).',
    registers,
    collect() {
      const estimate = serverClock?.();
      if (estimate) this.set(widthOf(estimate) / 1000);
    },
  });
  new Gauge({
    name: 'codeship_cron_api_up',
    help: '1 when the last Codeship API call was answered without a server or connection error (1 before the first call, as /readyz says).',
    registers,
    collect() {
      this.set(lastApi === null || lastApi.ok ? 1 : 0);
    },
  });
  const lateness = new Histogram({
    name: 'codeship_cron_trigger_lateness_seconds',
    help: 'From a slot nominal instant to the send of its accepted create (scheduled slots only; includes jitter).',
    buckets: LATENESS_BUCKETS,
    registers,
  });
  const requests = new Counter({
    name: 'codeship_cron_api_requests_total',
    help: 'Codeship API requests by endpoint (route template) and HTTP status ("error" when no answer came).',
    labelNames: ['endpoint', 'status'] as const,
    registers,
  });
  const webhooks = new Counter({
    name: 'codeship_cron_webhooks_total',
    help: 'Codeship notification webhooks received, by result: accepted, bad_secret, bad_request, too_large',
    labelNames: ['result'],
    registers,
  });
  for (const result of ['accepted', 'bad_secret', 'bad_request', 'too_large']) {
    webhooks.inc({ result }, 0);
  }
  const droppedConnections = new Counter({
    name: 'codeship_cron_http_connections_dropped_total',
    help: 'Connections the HTTP server closed at once because MAX_HTTP_CONNECTIONS (128) were open (a webhook burst, a flood)',
    registers,
  });
  const pauses = new Counter({
    name: 'codeship_cron_rate_limit_pauses_total',
    help: 'Times a rate-limit answer paused every API call.',
    registers,
  });

  const observer: ClientObserver = {
    request({ endpoint, status }) {
      requests.inc({ endpoint, status: status === null ? 'error' : String(status) });
      const failed = isApiFailure(endpoint, status);
      lastApi = {
        at: now(),
        ok: !failed,
        endpoint,
        status,
        message: failed
          ? `${endpoint} ${status === null ? 'got no answer (connection error or timeout)' : `answered ${status}`}`
          : null,
      };
    },
    rateLimited() {
      pauses.inc();
    },
  };

  return {
    registry,
    observer,
    watch(rt, schedules) {
      ledger = rt.ledger;
      leadership = rt.leadership;
      serverClock = () => rt.api.clockEstimate();
      if (schedules) loaded = schedules;
      now = () => rt.clock.now();
      lastTick = rt.clock.now();
      const onTick = ({ at }: { at: Date }) => {
        lastTick = at;
      };
      const onAttempt = ({
        slot,
        result,
      }: {
        slot: { manual: boolean; slotAt: Date; intentAt: Date | null; cause: unknown };
        result: string;
      }) => {
        // A chain's slot is not on a timetable: its instant is the upstream's finish.
        if (result !== 'accepted' || slot.manual || slot.cause) return;
        const sentAt = slot.intentAt ?? rt.clock.now();
        lateness.observe(Math.max(0, (sentAt.getTime() - slot.slotAt.getTime()) / 1000));
      };
      const onSuperseded = (rows: readonly { schedule: string }[]) => {
        for (const row of rows) superseded.inc({ schedule: row.schedule });
      };
      const onWebhook = ({ result }: { result: string }) => webhooks.inc({ result });
      rt.events.on('tick', onTick);
      rt.events.on('attempt', onAttempt);
      rt.events.on('superseded', onSuperseded);
      rt.events.on('webhook', onWebhook);
      return () => {
        rt.events.off('tick', onTick);
        rt.events.off('attempt', onAttempt);
        rt.events.off('superseded', onSuperseded);
        rt.events.off('webhook', onWebhook);
      };
    },
    droppedConnection: () => droppedConnections.inc(),
    lastApiCall: () => lastApi,
    lastTickAt: () => lastTick,
    async render() {
      snapshot = ledger ? await ledger.slotCounts() : [];
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
