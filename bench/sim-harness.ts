/**
 * Simulated time for the API-economy and drain scenarios: the real daemon (runDaemon, the got
 * client, the pacer, the SQLite ledger) and the simulator share one manual clock, and a driver
 * jumps the clock to the next instant anything sleeps until, once the daemon has settled. Nothing
 * happens between wake-ups, so hours of simulated time take seconds, and the API calls counted are
 * the ones the daemon would make in real time.
 */

import { createCodeshipClient } from '../src/adapters/codeship-client.ts';
import { createLogger } from '../src/adapters/logger.ts';
import { loadConfig, requireApi } from '../src/config.ts';
import { runDaemon } from '../src/daemon/daemon.ts';
import { ScheduleSet } from '../src/daemon/schedule-set.ts';
import { createRuntime, loadConfiguredSchedules, openConfiguredLedger } from '../src/deps.ts';
import type { CodeshipApi, LedgerStore } from '../src/ports.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import type { SimulatorSeed } from '../src/simulator/types.ts';
import { queryNumber } from '../test/helpers/ledger-sql.ts';
import { ManualClock } from '../test/helpers/manual-clock.ts';
import { BENCH_PASSWORD, BENCH_USERNAME } from './fleet.ts';

/** The shared simulated clock; it only ever moves forward here. */
export class BenchClock extends ManualClock {
  /** Moves time to `atMs` (never backward) and wakes the sleepers that are due. */
  advanceTo(atMs: number): void {
    this.moveTo(Math.max(this.now().getTime(), atMs));
  }
}

/** Lets pending promise callbacks and a few turns of I/O run. */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Counts API calls in progress (waiting in the pacer or on the wire) without changing them. */
/** The ledger, its asynchronous answers counted in `counter` like API calls. */
function instrumentLedger(
  ledger: LedgerStore,
  counter: { inFlight: number; progress: number },
): LedgerStore {
  return new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        counter.inFlight += 1;
        counter.progress += 1;
        return result.finally(() => {
          counter.inFlight -= 1;
          counter.progress += 1;
        });
      };
    },
  });
}

function instrument(
  client: CodeshipApi,
  counter: { inFlight: number; progress: number },
): CodeshipApi {
  const track = <T>(promise: Promise<T>): Promise<T> => {
    counter.inFlight += 1;
    counter.progress += 1;
    return promise.finally(() => {
      counter.inFlight -= 1;
      counter.progress += 1;
    });
  };
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'listBuilds') {
        return (...args: unknown[]) => {
          const inner = (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args);
          return {
            [Symbol.asyncIterator]() {
              const it = inner[Symbol.asyncIterator]();
              return {
                next: () => track(it.next()),
                return: (v?: unknown) =>
                  it.return ? track(it.return(v)) : Promise.resolve({ done: true, value: v }),
              };
            },
          };
        };
      }
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? track(result) : result;
      };
    },
  });
}

export interface SimulatedDaemon {
  clock: BenchClock;
  sim: Simulator;
  ledger: LedgerStore;
  /** Rate-limit answers the client received (its observer). */
  rateLimited(): number;
  /** The ledger's file (SQLite) or URL (PostgreSQL), for raw reads (`test/helpers/ledger-raw.ts`). */
  target: string;
  /** Runs until `done()` or until `maxMs` of simulated time have passed; returns the simulated ms spent. */
  runUntil(done: () => boolean | Promise<boolean>, maxMs: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the simulator (60 requests a minute, `buildDurationMs` builds) and the daemon on one
 * BenchClock starting at `start`, with the schedules of `schedulesDir` and a ledger at `databasePath`.
 */
export async function startSimulatedDaemon(options: {
  start: Date;
  seed: SimulatorSeed;
  schedulesDir: string;
  databasePath: string;
  /** A PostgreSQL ledger instead of the SQLite file (DATABASE_URL). */
  databaseUrl?: string;
  buildDurationMs: number;
}): Promise<SimulatedDaemon> {
  const clock = new BenchClock(options.start);
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    seed: options.seed,
    now: () => clock.now().getTime(),
    buildDurationMs: options.buildDurationMs,
  });
  const config = loadConfig({
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: BENCH_USERNAME,
    CODESHIP_PASSWORD: BENCH_PASSWORD,
    SCHEDULES_DIR: options.schedulesDir,
    DATABASE_PATH: options.databasePath,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger({ level: 'silent' });
  const counter = { inFlight: 0, progress: 0 };
  let rateLimited = 0;
  const client = createCodeshipClient({
    api: requireApi(config),
    clock,
    logger,
    observer: {
      rateLimited: () => {
        rateLimited += 1;
      },
    },
  });
  const api = instrument(client, counter);
  // A networked store (PostgreSQL) answers later: its calls count as in flight, so simulated
  // time never moves while the daemon waits on the ledger (SQLite answers at once).
  const ledger = instrumentLedger(await openConfiguredLedger(config), counter);
  const schedules = new ScheduleSet();
  const loaded = loadConfiguredSchedules(config);
  const report = schedules.apply(loaded.files, loaded.issues);
  if (report.issues.length > 0)
    throw new Error(`bench schedules invalid: ${JSON.stringify(report.issues[0])}`);
  const rt = createRuntime({
    config,
    ledger,
    api,
    clock,
    logger,
    schedule: (n) => schedules.get(n),
  });
  const controller = new AbortController();
  const daemon = runDaemon(rt, {
    signal: controller.signal,
    schedules,
    loadSchedules: () => loadConfiguredSchedules(config),
  });

  const queued = () => {
    const q = client.pacer.stats().queued;
    return q.trigger + q.normal + q.reconcile;
  };
  /** Waits until every call in progress waits on the clock (pacer) and no callback is pending. */
  const quiesce = async () => {
    let idleChecks = 0;
    let lastProgress = counter.progress;
    let stableSinceMs = performance.now();
    for (;;) {
      await settle();
      if (counter.inFlight <= queued()) {
        idleChecks += 1;
        if (idleChecks >= 2) return;
        continue;
      }
      idleChecks = 0;
      if (counter.progress !== lastProgress) {
        lastProgress = counter.progress;
        stableSinceMs = performance.now();
      } else if (performance.now() - stableSinceMs > 300) {
        // A call waits on the clock by another path (the token, a back-off): time must move.
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };

  return {
    clock,
    sim,
    ledger,
    target: options.databaseUrl ?? options.databasePath,
    rateLimited: () => rateLimited,
    async runUntil(done, maxMs) {
      const startMs = clock.now().getTime();
      const endMs = startMs + maxMs;
      for (;;) {
        await quiesce();
        const nowMs = clock.now().getTime();
        if ((await done()) || nowMs >= endMs) return nowMs - startMs;
        const wake = clock.nextWakeMs() ?? nowMs + 30_000;
        clock.advanceTo(Math.min(endMs, Math.max(wake, nowMs + 1)));
      }
    },
    async stop() {
      controller.abort(new Error('bench over'));
      await daemon;
      await ledger.close();
      await sim.close();
    },
  };
}

/** Counts a ledger query's single number. */
export function count(run: { target: string }, sql: string, ...params: unknown[]): number {
  return queryNumber(run.target, sql, ...params);
}
