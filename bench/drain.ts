/**
 * Drain under the real limit (simulated time): N slots fall due at 02:00:00 at once, the simulator
 * enforces 60 requests a minute (its default, like Codeship), the daemon paces at its default 60.
 * Measures the simulated minutes until every slot was triggered (202), the slots lost (recorded in
 * the ledger but never given a build in the simulator, or given two) and the rate-limit 403s.
 * With `--store postgres` the ledger is a database on a throwaway PostgreSQL server.
 * Usage: node dist-bench/bench/drain.js [--quick] [--store postgres]
 */

import { join } from 'node:path';
import { MINUTE } from '../src/core/time.ts';
import { closeRaw, rawNumber, rawRows } from '../test/helpers/ledger-raw.ts';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres-server.ts';
import { emitResult, isQuick, note, round, tempDir } from './common.ts';
import { type BenchSchedule, fleetSeed, projectName, writeScheduleFiles } from './fleet.ts';
import { startSimulatedDaemon } from './sim-harness.ts';

async function main(): Promise<void> {
  const quick = isQuick();
  const postgres = process.argv.includes('postgres');
  const pgServer: PostgresServer | null = postgres ? await startPostgres() : null;
  const slots = quick ? 60 : 600;
  const projects = quick ? 3 : 30;
  const start = new Date('2025-06-02T01:59:30Z');
  const dueMs = Date.parse('2025-06-02T02:00:00Z');
  const schedules: BenchSchedule[] = Array.from({ length: slots }, (_, i) => ({
    name: `d-${String(i).padStart(4, '0')}`,
    cron: '0 0 2 * * *',
    timezone: 'UTC',
    project: projectName(i % projects),
    branch: `branch-${String(Math.floor(i / projects)).padStart(3, '0')}`,
  }));
  const dir = tempDir('drain');
  try {
    writeScheduleFiles(dir.path, schedules, 1);
    const run = await startSimulatedDaemon({
      start,
      seed: fleetSeed(projects, start.getTime(), 20),
      schedulesDir: dir.path,
      databasePath: join(dir.path, 'ledger.sqlite'),
      databaseUrl: pgServer ? await pgServer.createDatabase('drain') : undefined,
      buildDurationMs: 10 * MINUTE,
    });
    const q = (sql: string) => rawNumber(run.target, sql);
    const recorded = () => q('SELECT COUNT(*) FROM slots');
    const triggeredOrOver = () =>
      q(
        `SELECT COUNT(*) FROM slots WHERE triggered_at IS NOT NULL OR state IN ('failed', 'skipped')`,
      );
    await run.runUntil(
      async () => (await recorded()) >= slots && (await triggeredOrOver()) >= slots,
      60 * MINUTE,
    );
    const lastTriggerMs = Date.parse(
      (
        await rawRows<{ at: string | null }>(
          run.target,
          'SELECT MAX(triggered_at) AS at FROM slots',
        )
      )[0]?.at ?? '',
    );
    // Let reconciliation discover the builds (triggers went first), then compare with the simulator.
    await run.runUntil(
      async () =>
        (await q(
          "SELECT COUNT(*) FROM slots WHERE build_uuid IS NULL AND state NOT IN ('failed', 'skipped')",
        )) === 0,
      30 * MINUTE,
    );
    const requests = run.sim.requests();
    const rateLimit403 = requests.filter((r) => r.status === 403).length;
    const created = run.sim.builds().filter((b) => Date.parse(b.queuedAt) >= dueMs - MINUTE);
    const perSlot = new Map<string, number>();
    for (const b of created)
      perSlot.set(
        `${b.projectUuid}/${b.branch}`,
        (perSlot.get(`${b.projectUuid}/${b.branch}`) ?? 0) + 1,
      );
    const claimed = await q('SELECT COUNT(*) FROM slots WHERE build_uuid IS NOT NULL');
    const failed = await q(`SELECT COUNT(*) FROM slots WHERE state = 'failed'`);
    const triggered = await q('SELECT COUNT(*) FROM slots WHERE triggered_at IS NOT NULL');
    const figures = {
      store: postgres ? 'postgres' : 'sqlite',
      slots,
      projects,
      recorded: await recorded(),
      triggered,
      minutesToTriggerAll: triggered >= slots ? round((lastTriggerMs - dueMs) / MINUTE, 2) : null,
      // A slot is lost when the simulator never got its build, or got it twice.
      lost: slots - [...perSlot.values()].filter((n) => n === 1).length,
      duplicates: created.length - perSlot.size,
      claimed,
      failed,
      rateLimit403,
      clientRateLimited: run.rateLimited(),
      requests: requests.length,
    };
    await closeRaw(run.target);
    await run.stop();
    note('drain', JSON.stringify(figures));
    emitResult(figures);
  } finally {
    await pgServer?.stop();
    dir.remove();
  }
}

await main();
