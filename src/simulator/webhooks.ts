/**
 * Codeship notification webhooks: when a build starts testing and when it finishes, an unsigned
 * JSON POST to its project's URLs and the global ones. Build status is derived from the clock,
 * so `scan()` (run on a timer, on each request and by `flush()`) compares each open build with
 * what was last announced. Deliveries run in the background with a short timeout, never retried;
 * seeded faults drop, duplicate and delay them; a failure is only counted and recorded.
 */
import { setMaxListeners } from 'node:events';
import { request as httpRequest } from 'node:http';
import { createPrng } from './ids.ts';
import { type RunState, runState } from './lifecycle.ts';
import type { BuildRecord, World } from './state.ts';
import type {
  WebhookDelivery,
  WebhookEvent,
  WebhookPayload,
  WebhookReport,
  Webhooks,
} from './types.ts';
import { validateWebhooks } from './webhook-settings.ts';

/** How long a receiver has to answer a POST. */
export const WEBHOOK_TIMEOUT_MS = 2_000;
/** How many delivery records `report()` keeps. */
const KEPT_RECORDS = 500;

/** What has been announced of a build: nothing yet, its start, or (then forgotten) its finish. */
export type Phase = 'queued' | 'started' | 'finished';

const TERMINAL = new Set([
  'success',
  'error',
  'failed',
  'stopped',
  'infrastructure_failure',
  'ignored',
  'blocked',
]);

/** Where a run is: finished (a final status), started (it reached testing), or still queued. */
export function phaseOf(state: RunState): Phase {
  if (state.finishedAtMs !== null || TERMINAL.has(state.status)) return 'finished';
  return state.allocatedAtMs !== null ? 'started' : 'queued';
}

/** One event to announce: what, when it happened (server clock) and the status it carries. */
export interface DueEvent {
  event: WebhookEvent;
  atMs: number;
  status: string;
}

/**
 * The events a build owes, given what was announced (`notified`) and its state at `nowMs`:
 * `start` (status `testing`, at its allocation) once it has reached testing, then `finish` (its
 * final status, at its finish) once it has one. A build stopped while waiting never started, so
 * it only finishes; one that started and finished between two scans gets both, in order.
 */
export function dueEvents(
  notified: Phase,
  state: RunState,
  nowMs: number,
): { events: DueEvent[]; phase: Phase } {
  const phase = phaseOf(state);
  const events: DueEvent[] = [];
  if (notified === 'queued' && state.allocatedAtMs !== null && phase !== 'queued') {
    events.push({ event: 'start', atMs: state.allocatedAtMs, status: 'testing' });
  }
  if (notified !== 'finished' && phase === 'finished') {
    events.push({ event: 'finish', atMs: state.finishedAtMs ?? nowMs, status: state.status });
  }
  return { events, phase: phase === 'queued' ? notified : phase };
}

/**
 * The body Codeship POSTs for a build in `status`: legacy numeric ids, `project_name` and
 * `project_full_name` both the project's name (as in Codeship's documented example), a 5-digit
 * `short_commit_id` (ditto), the build's username as `committer`.
 */
export function webhookPayload(build: BuildRecord, status: string): WebhookPayload {
  const { project } = build;
  return {
    build: {
      build_url: `https://app.codeship.com/projects/${project.id}/builds/${build.id}`,
      commit_url: `${project.repositoryUrl}/commit/${build.commitSha}`,
      project_id: project.id,
      build_id: build.id,
      status,
      project_name: project.name,
      project_full_name: project.name,
      commit_id: build.commitSha,
      short_commit_id: build.commitSha.slice(0, 5),
      message: build.commitMessage,
      committer: build.username,
      branch: build.branch,
    },
  };
}

type Outcome = { statusCode: number | null; error: string | null };

/** One POST with a timeout and no connection reuse; resolves (never rejects) with the outcome. */
function post(url: string, body: string, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    try {
      const request = httpRequest(
        url,
        {
          method: 'POST',
          agent: false,
          signal,
          timeout: WEBHOOK_TIMEOUT_MS,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'codeship-simulator-webhooks',
          },
        },
        (response) => {
          response.resume();
          const statusCode = response.statusCode ?? null;
          const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
          resolve({ statusCode, error: ok ? null : `answered ${statusCode}` });
        },
      );
      request.on('timeout', () =>
        request.destroy(new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`)),
      );
      request.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ statusCode: null, error: error.code ?? error.message }),
      );
      request.end(body);
    } catch (error) {
      resolve({ statusCode: null, error: (error as Error).message });
    }
  });
}

function zeroCounts(): WebhookReport['counts'] {
  return {
    events: 0,
    deliveries: 0,
    dropped: 0,
    duplicated: 0,
    sent: 0,
    delivered: 0,
    failed: 0,
    pending: 0,
    cancelled: 0,
  };
}

/** Announces build starts and finishes of one simulator's world. */
export class WebhookNotifier {
  private readonly world: World;
  private settings: Webhooks | null = null;
  private random: () => number = createPrng(1);
  /** Builds not yet announced as finished, in creation order, with what was announced. */
  private readonly open = new Map<BuildRecord, Phase>();
  private records: WebhookDelivery[] = [];
  private counts = zeroCounts();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborter = new AbortController();

  /** Builds already there (the seed's history) count as announced as they are now. */
  constructor(world: World, settings: Webhooks | null) {
    this.world = world;
    // Every delay and POST underway listens to this one signal; there may be many at once.
    setMaxListeners(0, this.aborter.signal);
    this.set(settings);
    for (const project of world.projects.values()) {
      for (const build of project.builds) {
        const phase = phaseOf(runState(build.run, world.now()));
        if (phase !== 'finished') this.open.set(build, phase);
      }
    }
    world.onBuildAdded((build) => this.open.set(build, 'queued'));
  }

  /** Replaces the global settings and restarts the fault PRNG from `settings.seed`. */
  set(settings: Webhooks | null): void {
    const valid = validateWebhooks(settings);
    this.settings =
      valid === null ? null : { ...valid, ...(valid.urls ? { urls: [...valid.urls] } : {}) };
    this.random = createPrng(valid?.seed ?? 1);
  }

  /** The settings, counts and recent records (copies). */
  report(): WebhookReport {
    const settings = this.settings === null ? null : structuredClone(this.settings);
    return {
      settings,
      counts: { ...this.counts },
      deliveries: this.records.map((r) => structuredClone(r)),
    };
  }

  /** Forgets counts and records; deliveries still underway settle into fresh counts. */
  reset(): void {
    this.records = [];
    const pending = this.counts.pending;
    this.counts = { ...zeroCounts(), pending };
  }

  /** Announces every start and finish that happened since the last scan, oldest first. */
  scan(): void {
    if (this.aborter.signal.aborted) return;
    const nowMs = this.world.now();
    const due: (DueEvent & { build: BuildRecord })[] = [];
    for (const [build, notified] of this.open) {
      if (!this.world.isVisible(build)) continue;
      const { events, phase } = dueEvents(notified, this.world.stateOf(build), nowMs);
      if (phase === 'finished') this.open.delete(build);
      else this.open.set(build, phase);
      for (const event of events) due.push({ ...event, build });
    }
    due.sort(
      (a, b) =>
        a.atMs - b.atMs ||
        a.build.seq - b.build.seq ||
        Number(a.event === 'finish') - Number(b.event === 'finish'),
    );
    for (const event of due) this.emit(event);
  }

  /** Scans, then waits until every delivery begun (delays included) has settled. */
  async flush(): Promise<WebhookReport> {
    this.scan();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    return this.report();
  }

  /** Stops scanning and cancels deliveries still waiting or underway. */
  async close(): Promise<void> {
    this.aborter.abort();
    await Promise.all([...this.inFlight]);
  }

  private emit({ build, event, atMs, status }: DueEvent & { build: BuildRecord }): void {
    const urls = [...new Set([...build.project.webhooks, ...(this.settings?.urls ?? [])])];
    if (urls.length === 0) return;
    this.counts.events++;
    const payload = webhookPayload(build, status);
    const { drop = 0, duplicate = 0, delayMs = [0, 0] } = this.settings ?? {};
    const [minMs, maxMs] = delayMs;
    for (const url of urls) {
      this.counts.deliveries++;
      // Four draws per delivery whatever happens, so one decision never shifts the others.
      const [dropRoll, duplicateRoll, ...delayRolls] = [1, 2, 3, 4].map(() => this.random());
      const delays = delayRolls.map((roll) => Math.round(minMs + roll! * (maxMs - minMs)));
      const base = {
        event,
        url,
        buildUuid: build.uuid,
        at: new Date(atMs).toISOString(),
        statusCode: null,
        error: null,
        payload,
      };
      if (dropRoll! < drop) {
        this.counts.dropped++;
        this.keep({ ...base, copy: 1, delayMs: 0, outcome: 'dropped' });
        continue;
      }
      const copies = duplicateRoll! < duplicate ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let copy = 1; copy <= copies; copy++) {
        const record: WebhookDelivery = {
          ...base,
          copy: copy as 1 | 2,
          delayMs: delays[copy - 1]!,
          outcome: 'pending',
        };
        this.keep(record);
        this.send(record);
      }
    }
  }

  private keep(record: WebhookDelivery): void {
    this.records.push(record);
    if (this.records.length > KEPT_RECORDS) this.records.shift();
  }

  private send(record: WebhookDelivery): void {
    this.counts.sent++;
    this.counts.pending++;
    const signal = this.aborter.signal;
    const body = JSON.stringify(record.payload);
    const delivery = (async () => {
      if (record.delayMs > 0) await abortableSleep(record.delayMs, signal);
      const outcome: Outcome = signal.aborted
        ? { statusCode: null, error: 'simulator closed' }
        : await post(record.url, body, signal);
      this.counts.pending--;
      record.statusCode = outcome.statusCode;
      record.error = outcome.error;
      record.outcome = signal.aborted
        ? 'cancelled'
        : outcome.error === null
          ? 'delivered'
          : 'failed';
      this.counts[record.outcome]++;
    })();
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }
}

/** Waits `ms` real milliseconds, or less when `signal` aborts; never rejects. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
