/**
 * A real HTTP server over real parts: the simulator on loopback (on a ManualClock), a temp-file
 * ledger, the API client with the metrics observer, and schedule files in a temp folder. No daemon
 * loops: tests drive triggers and reconciliation themselves and move the clock by hand.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ledger, openLedger } from '../../src/adapters/ledger.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import { loadConfig } from '../../src/config.ts';
import type { Runtime } from '../../src/daemon/runtime.ts';
import { ScheduleSet } from '../../src/daemon/schedule-set.ts';
import { createApi, createRuntime, loadConfiguredSchedules } from '../../src/deps.ts';
import { type HttpServer, startHttpServer } from '../../src/http/server.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type { SimulatorOptions } from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';

export const START = '2026-03-01T12:00:00.000Z';
export const PASSWORD = 'demo-password';

export const SCHEDULES_YAML = `schedules:
  - name: nightly-api
    cron: "0 2 * * *"
    timezone: Europe/Berlin
    project: acme/api
    branch: main
  - name: web-develop
    cron: "*/15 * * * *"
    project: acme/web
    branch: develop
`;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface HttpHarness {
  readonly url: string;
  readonly clock: ManualClock;
  readonly simulator: TestSimulator;
  readonly ledger: Ledger;
  readonly rt: Runtime;
  readonly metrics: Metrics;
  readonly schedules: ScheduleSet;
  readonly server: HttpServer;
  /** One request to the server; redirects are not followed. */
  request(path: string, init?: RequestInit): Promise<Answer>;
  /** Awaits `promise` while moving the clock 5 s at a time (for calls that back off on the clock). */
  drive<T>(promise: Promise<T>, maxSteps?: number): Promise<T>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  token?: string | null;
  schedulesYaml?: string;
  password?: string;
  simulator?: SimulatorOptions;
  /** More settings (HTTP_ALLOWED_HOSTS, …). */
  env?: Record<string, string>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<HttpHarness> {
  const clock = new ManualClock(START);
  const simulator = await startTestSimulator({
    now: () => clock.now().getTime(),
    ...options.simulator,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ccron-http-'));
  writeFileSync(join(dir, 'schedules.yaml'), options.schedulesYaml ?? SCHEDULES_YAML);
  const config = loadConfig({
    CODESHIP_API_URL: simulator.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: options.password ?? PASSWORD,
    CODESHIP_ORGANIZATION: 'acme',
    SCHEDULES_DIR: dir,
    DATABASE_PATH: join(dir, 'ledger.sqlite'),
    HTTP_ADDR: '127.0.0.1:0',
    DASHBOARD_TOKEN: options.token ?? undefined,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics();
  const ledger = openLedger(config.databasePath);
  const schedules = new ScheduleSet();
  schedules.apply(loadConfiguredSchedules(config).files);
  const api = createApi(config, logger, clock, metrics.observer);
  const rt = createRuntime({
    config,
    ledger,
    api,
    clock,
    logger,
    schedule: (name) => schedules.get(name),
  });
  const unwatch = metrics.watch(rt, () => schedules.all());
  const server = await startHttpServer({ config, rt, schedules, metrics, logger });
  return {
    url: server.url,
    clock,
    simulator,
    ledger,
    rt,
    metrics,
    schedules,
    server,
    async request(path, init = {}) {
      const response = await fetch(`${server.url}${path}`, { redirect: 'manual', ...init });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async drive(promise, maxSteps = 200) {
      let done = false;
      const tracked = promise.finally(() => {
        done = true;
      });
      tracked.catch(() => {}); // the caller sees the rejection when it awaits the result
      for (let step = 0; step < maxSteps && !done; step += 1) {
        // A short real pause lets loopback I/O finish between steps of the manual clock.
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (!done) await clock.advance(5000);
      }
      return tracked;
    },
    async close() {
      await server.close();
      unwatch();
      ledger.close();
      await simulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `{ authorization: 'Bearer …', content-type: json }` headers. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}
