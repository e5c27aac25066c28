/**
 * API economy (simulated time): N builds across 5 projects, 10-minute builds, the real daemon
 * against the simulator. Counts the API calls spent on discovery and reconciliation (GETs of build
 * lists and single builds) per build, beyond its create. Two firing patterns:
 * - `batch`: every schedule fires at 02:00:00 (a nightly fleet);
 * - `staggered`: one schedule fires per minute (builds overlap ~10 deep all the time).
 * Usage: node dist-bench/bench/economy.js --pattern batch|staggered [--quick]
 */
import { join } from 'node:path';
import { MINUTE } from '../src/core/time.ts';
import type { RequestRecord } from '../src/simulator/types.ts';
import { argValue, emitResult, isQuick, note, round, tempDir } from './common.ts';
import { type BenchSchedule, fleetSeed, projectName, writeScheduleFiles } from './fleet.ts';
import { count, startSimulatedDaemon } from './sim-harness.ts';

const PROJECTS = 5;
const BUILD_MS = 10 * MINUTE;
/** Per-build polling every 30 s over a 10-minute build: the alternative the contract names. */
const POLLING_CALLS_PER_BUILD = BUILD_MS / 30_000;

type Kind = 'create' | 'list' | 'get' | 'auth' | 'projects' | 'other';

function kindOf(r: RequestRecord): Kind {
  if (r.path.endsWith('/auth')) return 'auth';
  if (/\/projects$/.test(r.path)) return 'projects';
  if (/\/builds$/.test(r.path)) return r.method === 'POST' ? 'create' : 'list';
  if (/\/builds\/[^/]+$/.test(r.path) && r.method === 'GET') return 'get';
  return 'other';
}

async function main(): Promise<void> {
  const quick = isQuick();
  const pattern = argValue('pattern') === 'staggered' ? 'staggered' : 'batch';
  const builds = quick ? 20 : 100;
  const start = new Date('2025-06-02T01:58:00Z');
  const firstMs = Date.parse('2025-06-02T02:00:00Z');
  const schedules: BenchSchedule[] = Array.from({ length: builds }, (_, i) => {
    const at = new Date(firstMs + (pattern === 'staggered' ? i * MINUTE : 0));
    return {
      name: `e-${String(i).padStart(3, '0')}`,
      cron: `0 ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`,
      timezone: 'UTC',
      project: projectName(i % PROJECTS),
      branch: `branch-${String(Math.floor(i / PROJECTS)).padStart(3, '0')}`,
    };
  });
  const dir = tempDir('economy');
  try {
    writeScheduleFiles(dir.path, schedules, 1);
    const run = await startSimulatedDaemon({
      start,
      seed: fleetSeed(PROJECTS, start.getTime(), 60),
      schedulesDir: dir.path,
      databasePath: join(dir.path, 'ledger.sqlite'),
      buildDurationMs: BUILD_MS,
    });
    const settledCount = () =>
      count(run, `SELECT COUNT(*) FROM slots WHERE state IN ('finished', 'failed', 'skipped')`);
    const spentMs = await run.runUntil(() => settledCount() >= builds, 6 * 60 * MINUTE);
    const kinds: Record<Kind, number> = {
      create: 0,
      list: 0,
      get: 0,
      auth: 0,
      projects: 0,
      other: 0,
    };
    for (const r of run.sim.requests()) kinds[kindOf(r)] += 1;
    const finished = count(
      run,
      `SELECT COUNT(*) FROM slots WHERE state = 'finished' AND build_uuid IS NOT NULL`,
    );
    const failed = count(run, `SELECT COUNT(*) FROM slots WHERE state = 'failed'`);
    await run.stop();
    const reconcileCalls = kinds.list + kinds.get;
    note(
      'economy',
      `${pattern}: ${finished}/${builds} finished in ${round(spentMs / MINUTE)} simulated min; calls ${JSON.stringify(kinds)}`,
    );
    emitResult({
      pattern,
      builds,
      finished,
      failed,
      simulatedMinutes: round(spentMs / MINUTE, 1),
      creates: kinds.create,
      listCalls: kinds.list,
      getCalls: kinds.get,
      authCalls: kinds.auth,
      projectCalls: kinds.projects,
      otherCalls: kinds.other,
      callsPerBuild: round(reconcileCalls / builds, 2),
      allOverheadPerBuild: round(
        (reconcileCalls + kinds.auth + kinds.projects + kinds.other) / builds,
        2,
      ),
      pollingCallsPerBuild: POLLING_CALLS_PER_BUILD,
    });
  } finally {
    dir.remove();
  }
}

await main();
