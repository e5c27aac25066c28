/**
 * Burst (real time): N schedules whose slots all fall on the same second T, 200 distinct
 * (expression, zone) series over 5 zones, loaded from YAML files, run by the real daemon
 * (runDaemon, system clock) with the ledger on a real file and a simulator without rate limit.
 * Measures how many slots the tick at T recorded and their lateness from nominal instant to intent:
 * `created_at - slot_at` as the ledger states it, and the instant the tick's transaction had
 * committed (the intent is durable only then) minus T.
 * With `--store postgres` the ledger is a database on a throwaway PostgreSQL server started for
 * the run (`test/helpers/postgres-server.ts`, Debian's `postgresql` binaries; fsync off there, so
 * the figure is the store's own cost, not a disk's).
 * Usage: node dist-bench/bench/burst.js [--quick] [--store postgres]
 */

import { join } from 'node:path';
import { createLogger } from '../src/adapters/logger.ts';
import { systemClock } from '../src/adapters/system-clock.ts';
import { loadConfig, requireApi } from '../src/config.ts';
import { runDaemon } from '../src/daemon/daemon.ts';
import { ScheduleSet } from '../src/daemon/schedule-set.ts';
import {
  createApi,
  createRuntime,
  loadConfiguredSchedules,
  openConfiguredLedger,
} from '../src/deps.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { closeRaw, rawNumber, rawRows } from '../test/helpers/ledger-raw.ts';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres-server.ts';
import { emitResult, isQuick, median, note, percentile, round, tempDir } from './common.ts';
import {
  BENCH_PASSWORD,
  BENCH_USERNAME,
  burstExpressions,
  burstSchedules,
  fleetSeed,
  writeScheduleFiles,
} from './fleet.ts';

async function main(): Promise<void> {
  const quick = isQuick();
  const postgres = process.argv.includes('postgres');
  const pgServer: PostgresServer | null = postgres ? await startPostgres() : null;
  const slots = quick ? 1_000 : 10_000;
  const projects = quick ? 50 : 500;
  // Time to write, parse and plan the files before T (start-up of 10,000 schedules is ~1 s).
  const leadMs = quick ? 3_000 : 6_000;
  const dueAt = new Date(Math.ceil((Date.now() + leadMs) / 1000) * 1000);
  const byZone = burstExpressions(dueAt, new Date());
  const dir = tempDir('burst');
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    seed: fleetSeed(projects, Date.now()),
    rateLimit: null,
  });
  try {
    writeScheduleFiles(dir.path, burstSchedules(slots, projects, byZone), 20);
    const config = loadConfig({
      CODESHIP_API_URL: sim.url,
      CODESHIP_USERNAME: BENCH_USERNAME,
      CODESHIP_PASSWORD: BENCH_PASSWORD,
      CODESHIP_RATE_LIMIT: '10000',
      SCHEDULES_DIR: dir.path,
      DATABASE_PATH: join(dir.path, 'ledger.sqlite'),
      ...(pgServer ? { DATABASE_URL: await pgServer.createDatabase('burst') } : {}),
      LOG_LEVEL: 'warn',
    });
    const target = config.databaseUrl ?? config.databasePath;
    requireApi(config);
    const logger = createLogger({ level: 'warn' });
    const ledger = await openConfiguredLedger(config);
    const schedules = new ScheduleSet();
    const loaded = loadConfiguredSchedules(config);
    schedules.apply(loaded.files, loaded.issues);
    if (schedules.size !== slots)
      throw new Error(`expected ${slots} schedules, loaded ${schedules.size}`);
    const rt = createRuntime({
      config,
      ledger,
      api: createApi(config, logger),
      clock: systemClock,
      logger,
      schedule: (n) => schedules.get(n),
    });
    const controller = new AbortController();
    let readyAtMs: number | null = null;
    let committedAtMs: number | null = null;
    let recordedInTick = 0;
    const burstTick = new Promise<void>((resolve) => {
      rt.events.on('tick', (event) => {
        if (event.recorded === 0) return;
        // Emitted once runTick returned: the transaction holding every intent has committed.
        committedAtMs = Date.now();
        recordedInTick = event.recorded;
        resolve();
      });
    });
    const timeout = setTimeout(
      () => controller.abort(new Error('burst never came')),
      leadMs + 60_000,
    );
    const daemon = runDaemon(rt, {
      signal: controller.signal,
      schedules,
      loadSchedules: () => loadConfiguredSchedules(config),
      onReady: () => {
        readyAtMs = Date.now();
      },
    });
    await Promise.race([burstTick, daemon]);
    clearTimeout(timeout);
    controller.abort(new Error('bench over'));
    await daemon;
    const rows = await rawRows<{ slot_at: string; created_at: string }>(
      target,
      'SELECT slot_at, created_at FROM slots WHERE slot_at = ?',
      dueAt.toISOString(),
    );
    const latenessMs = rows.map((r) => Date.parse(r.created_at) - Date.parse(r.slot_at));
    const totalRows = await rawNumber(target, 'SELECT COUNT(*) AS n FROM slots');
    await closeRaw(target);
    await ledger.close();
    const commitLatenessMs =
      committedAtMs === null ? null : (committedAtMs as number) - dueAt.getTime();
    const figures = {
      store: postgres ? 'postgres' : 'sqlite',
      slots,
      series: [...byZone.values()].reduce((n, list) => n + list.length, 0),
      recorded: rows.length,
      otherRows: totalRows - rows.length,
      recordedInTick,
      dropped: slots - rows.length,
      readyBeforeDueMs: readyAtMs === null ? null : dueAt.getTime() - (readyAtMs as number),
      createdLatenessP50Ms: round(percentile(latenessMs, 50), 1),
      createdLatenessP99Ms: round(percentile(latenessMs, 99), 1),
      createdLatenessMaxMs: round(Math.max(...latenessMs), 1),
      createdLatenessMedianMs: round(median(latenessMs), 1),
      committedLatenessMs: commitLatenessMs,
    };
    note('burst', JSON.stringify(figures));
    emitResult(figures);
  } finally {
    await sim.close();
    await pgServer?.stop();
    dir.remove();
  }
}

await main();
