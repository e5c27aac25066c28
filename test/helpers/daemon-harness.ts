/**
 * Runs the real daemon in-process for integration tests: the simulator over HTTP on loopback, a
 * real ledger (a SQLite file, or with `store: 'postgres'` a fresh database on this test file's
 * throwaway PostgreSQL server: call `usePostgres()` in the file), the real client, and one
 * ManualClock shared by all of them. Time moves only
 * when the test advances it; `advanceUntil` steps the clock and lets real I/O run in between.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createCodeshipClient } from '../../src/adapters/codeship-client.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import { loadScheduleDir } from '../../src/adapters/schedule-dir.ts';
import { type Config, loadConfig, requireApi } from '../../src/config.ts';
import { runDaemon } from '../../src/daemon/daemon.ts';
import type { Runtime } from '../../src/daemon/runtime.ts';
import { ScheduleSet } from '../../src/daemon/schedule-set.ts';
import { createRuntime } from '../../src/deps.ts';
import { type HttpServer, startHttpServer } from '../../src/http/server.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { LedgerStore } from '../../src/ports.ts';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { closeRaw, rawNumber, rawRows } from './ledger-raw.ts';
import { ManualClock } from './manual-clock.ts';
import { freshLocation, openStore, type StoreKind } from './stores.ts';

export interface HarnessOptions {
  /** Wall clock at start (ISO). */
  start: string;
  /** Schedule files: name -> YAML text. */
  files: Record<string, string>;
  simulator?: SimulatorOptions;
  env?: Record<string, string>;
  requestTimeoutMs?: number;
  /** Which store (default SQLite). */
  store?: StoreKind;
  /** Reuse a ledger, a file or a URL (restart tests); default a fresh one of `store`. */
  ledgerPath?: string;
  /** Reuse a simulator (restart tests). */
  sim?: Simulator;
  clock?: ManualClock;
  /** Serve HTTP (page, probes, metrics, webhooks) on a free loopback port. */
  http?: boolean;
}

export interface Harness {
  clock: ManualClock;
  sim: Simulator;
  ledger: LedgerStore;
  rt: Runtime;
  config: Config;
  dir: string;
  /** The ledger's file (SQLite) or URL (PostgreSQL). */
  ledgerPath: string;
  /** Every log line the daemon wrote, parsed. */
  logs: Record<string, unknown>[];
  /** The HTTP server's base URL (with `http: true`). */
  httpUrl: string | null;
  reload(): void;
  writeFile(name: string, text: string): void;
  /** Steps the clock by `stepMs` until `predicate` holds; fails after `maxMs` of simulated time. */
  advanceUntil(
    predicate: () => boolean | Promise<boolean>,
    options?: { stepMs?: number; maxMs?: number; what?: string },
  ): Promise<void>;
  /** Advances simulated time by `ms` in steps, letting the daemon work in between. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /** Stops the daemon (not the simulator, unless `closeSimulator`). */
  stop(options?: { closeSimulator?: boolean; keepFiles?: boolean }): Promise<void>;
}

const realPause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The daemon's loops (tick, send, reconcile, chains, server clock probe) each sleep on the clock when idle. */
const LOOPS = 5;

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(options.start);
  const sim =
    options.sim ??
    (await startSimulator({
      host: '127.0.0.1',
      port: 0,
      now: () => clock.now().getTime(),
      ...options.simulator,
    }));
  const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-daemon-'));
  const schedulesDir = join(dir, 'schedules');
  mkdirSync(schedulesDir);
  for (const [name, text] of Object.entries(options.files))
    writeFileSync(join(schedulesDir, name), text);
  const kind: StoreKind =
    options.store ?? (options.ledgerPath?.startsWith('postgres') ? 'postgres' : 'sqlite');
  const ledgerPath =
    options.ledgerPath ??
    (kind === 'postgres' ? (await freshLocation('postgres')).target : join(dir, 'ledger.sqlite'));
  const config = loadConfig({
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    CODESHIP_ORGANIZATION: 'acme',
    SCHEDULES_DIR: schedulesDir,
    ...(kind === 'postgres' ? { DATABASE_URL: ledgerPath } : { DATABASE_PATH: ledgerPath }),
    DISCOVERY_WINDOW: '120s',
    ...(options.http ? { HTTP_ADDR: '127.0.0.1:0' } : {}),
    ...options.env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const ledger = await openStore({ kind, target: ledgerPath, env: {}, cleanup: () => undefined });
  const api = createCodeshipClient({
    api: requireApi(config),
    clock,
    logger,
    requestTimeoutMs: options.requestTimeoutMs ?? 1000,
  });
  const schedules = new ScheduleSet();
  const load = () => loadScheduleDir(schedulesDir, { defaultTimezone: 'UTC' });
  const first = load();
  schedules.apply(first.files, []);
  const rt = createRuntime({
    config,
    ledger,
    api,
    clock,
    logger,
    schedule: (n) => schedules.get(n),
    requestTimeoutMs: options.requestTimeoutMs ?? 1000,
  });
  let server: HttpServer | null = null;
  let unwatch: (() => void) | null = null;
  if (options.http) {
    const metrics = createMetrics();
    unwatch = metrics.watch(rt, () => schedules.all());
    server = await startHttpServer({ config, rt, schedules, metrics, logger });
  }
  const controller = new AbortController();
  const reloaders: (() => void)[] = [];
  const done = runDaemon(rt, {
    signal: controller.signal,
    schedules,
    loadSchedules: () => {
      const loaded = load();
      return { files: loaded.files, issues: [] };
    },
    onReload: (listener) => reloaders.push(listener),
    upstreamPollMs: config.upstreamPollMs,
  });
  /**
   * Waits (in real time, briefly) until every loop sleeps on the clock twice in a row: then no
   * HTTP call or ledger write is in flight, and only moving time can make progress.
   */
  const idle = async () => {
    let last = '';
    for (let i = 0, calm = 0, still = 0; i < 400 && calm < 2 && still < 8; i += 1) {
      await realPause(1);
      calm = clock.sleeping >= LOOPS ? calm + 1 : 0;
      // Loops may also all wait in the pacer (one sleeper): then nothing moves for a while.
      const now = `${clock.sleeping}/${sim.requests().length}/${logs.length}`;
      still = now === last && clock.sleeping > 0 ? still + 1 : 0;
      last = now;
    }
  };
  const harness: Harness = {
    clock,
    sim,
    ledger,
    rt,
    config,
    dir,
    ledgerPath,
    logs,
    httpUrl: server?.url ?? null,
    reload: () => {
      for (const listener of reloaders) listener();
    },
    writeFile: (name, text) => writeFileSync(join(schedulesDir, name), text),
    async advanceUntil(predicate, { stepMs = 1000, maxMs = 30 * 60_000, what = 'condition' } = {}) {
      for (let elapsed = 0; elapsed <= maxMs; elapsed += stepMs) {
        await idle();
        if (await predicate()) return;
        await clock.advance(stepMs);
      }
      throw new Error(`${what} not reached within ${maxMs} ms of simulated time`);
    },
    async advance(ms, stepMs = 1000) {
      for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
        await clock.advance(Math.min(stepMs, ms - elapsed));
        await idle();
      }
    },
    async stop({ closeSimulator = true, keepFiles = false } = {}) {
      controller.abort();
      await done;
      await server?.close();
      unwatch?.();
      await ledger.close();
      if (!keepFiles) await closeRaw(ledgerPath);
      if (closeSimulator) await sim.close();
      if (!keepFiles) rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 400 && !logs.some((l) => l.msg === 'first tick planned'); i += 1)
    await realPause(5);
  return harness;
}

/** Rows of the ledger, oldest first, as plain objects (snake_case, as stored), read raw. */
export function ledgerRows(
  h: Pick<Harness, 'ledgerPath'>,
  schedule?: string,
): Promise<Record<string, unknown>[]> {
  return schedule
    ? rawRows(h.ledgerPath, 'SELECT * FROM slots WHERE schedule = ? ORDER BY slot_at, id', schedule)
    : rawRows(h.ledgerPath, 'SELECT * FROM slots ORDER BY slot_at, id');
}

/** True when no slot still needs the API (nothing pending, triggered or running). */
export async function settled(h: Pick<Harness, 'ledgerPath'>): Promise<boolean> {
  const open = await rawNumber(
    h.ledgerPath,
    "SELECT count(*) AS n FROM slots WHERE state IN ('pending', 'triggered', 'running')",
  );
  return open === 0;
}
