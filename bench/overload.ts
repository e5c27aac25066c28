/**
 * Overload (simulated time): one schedule firing every second on three branches asks for 180
 * creates a minute, three times the API's 60 requests a minute. Runs 10 simulated minutes (2 with
 * --quick) and reports the send backlog sampled every 10 s (it must stay flat: at most one unsent
 * slot per schedule and branch plus the creates in flight), the lateness of what fires (nominal
 * slot → create sent), the slots superseded, and the API calls spent.
 * Usage: node dist-bench/bench/overload.js [--quick]
 */

import { join } from 'node:path';
import { MINUTE, SECOND } from '../src/core/time.ts';
import { queryRows } from '../test/helpers/ledger-sql.ts';
import { emitResult, isQuick, note, percentile, round, tempDir } from './common.ts';
import { fleetSeed, projectName, writeScheduleFiles } from './fleet.ts';
import { count, startSimulatedDaemon } from './sim-harness.ts';

const BRANCHES = ['main', 'develop', 'release'];
const SAMPLE_MS = 10 * SECOND;

async function main(): Promise<void> {
  const quick = isQuick();
  const minutes = quick ? 2 : 10;
  const start = new Date('2025-06-02T02:00:00.500Z');
  const dir = tempDir('overload');
  try {
    writeScheduleFiles(
      dir.path,
      BRANCHES.map((branch) => ({
        name: `every-second-${branch}`,
        cron: '* * * * * *',
        timezone: 'UTC',
        project: projectName(0),
        branch,
      })),
      1,
    );
    const run = await startSimulatedDaemon({
      start,
      seed: fleetSeed(1, start.getTime(), 5),
      schedulesDir: dir.path,
      databasePath: join(dir.path, 'ledger.sqlite'),
      buildDurationMs: MINUTE,
    });
    const q = (sql: string) => count(run, sql);
    const backlog: number[] = [];
    for (let elapsed = 0; elapsed < minutes * MINUTE; elapsed += SAMPLE_MS) {
      await run.runUntil(() => false, SAMPLE_MS);
      backlog.push(q(`SELECT COUNT(*) FROM slots WHERE state = 'pending' AND outcome_unknown = 0`));
    }
    const lateness = queryRows<{ ms: number }>(
      run.target,
      `SELECT (julianday(intent_at) - julianday(slot_at)) * 86400000.0 AS ms
       FROM slots WHERE intent_at IS NOT NULL AND manual = 0`,
    ).map((r) => r.ms);
    const requests = run.sim.requests();
    const half = Math.floor(backlog.length / 2);
    const figures = {
      minutes,
      demandPerMinute: BRANCHES.length * 60,
      slots: q('SELECT COUNT(*) FROM slots'),
      sent: lateness.length,
      superseded: q(`SELECT COUNT(*) FROM slots WHERE reason = 'superseded (backlog)'`),
      backlogMax: Math.max(...backlog),
      backlogFirstHalfMax: Math.max(...backlog.slice(0, half)),
      backlogSecondHalfMax: Math.max(...backlog.slice(half)),
      backlogSamples: backlog.join(' '),
      latenessP50Ms: round(percentile(lateness, 50), 0),
      latenessMaxMs: round(Math.max(...lateness), 0),
      apiCalls: requests.length,
      apiCallsPerMinute: round(requests.length / minutes, 1),
      rateLimit403: requests.filter((r) => r.status === 403).length,
    };
    await run.stop();
    note('overload', JSON.stringify(figures));
    emitResult(figures);
  } finally {
    dir.remove();
  }
}

await main();
