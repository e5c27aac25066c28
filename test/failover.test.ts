/**
 * Failover (README, "Several instances on PostgreSQL"): two built daemons (`node dist/cli.js run`)
 * share one PostgreSQL ledger against the simulator. The leader is SIGKILLed while it triggers,
 * twice (the standby takes over within 15 s, the killed one comes back as a standby), then its
 * database connections are cut (`pg_terminate_backend`): it must stop sending at once, and the
 * other takes over. Finally the ledger oracle proves exactly-once against what the simulator
 * built: no duplicate build, no unclaimed build, every nominal slot in the ledger.
 * Real time throughout (spawned daemons on the real clock and a real lease).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it, onTestFailed } from 'vitest';
import {
  byMsg,
  type DaemonRun,
  type LogLine,
  startDaemon,
  timeOf,
} from './helpers/daemon-process.ts';
import {
  checkExactlyOnce,
  describeSlot,
  type ExpectedSchedule,
  openSlots,
  readLedgerAt,
} from './helpers/ledger-oracle.ts';
import { closeRaw } from './helpers/ledger-raw.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';
import { usePostgres } from './helpers/stores.ts';

const server = usePostgres();

const KILLS = 2;
const TAKEOVER_BOUND_MS = 15_000;
const SETTLE_BOUND_MS = 90_000;

const SCHEDULES: readonly (ExpectedSchedule & { project: string })[] = [
  { name: 'ha-api', cron: '* * * * * *', branches: ['main'], project: 'acme/api' },
  { name: 'ha-web', cron: '*/2 * * * * *', branches: ['main', 'develop'], project: 'acme/web' },
];

function schedulesYaml(): string {
  const entries = SCHEDULES.map((s) =>
    [
      `  - name: ${s.name}`,
      `    cron: "${s.cron}"`,
      `    project: ${s.project}`,
      `    branches: [${s.branches.join(', ')}]`,
      // A takeover catches up as a restart does: its catch-up fire leaves within ~100 ms of the
      // next regular slot of the same branch, and discovery must still give each its own build.
      '    catchup: 1h',
    ].join('\n'),
  );
  return `schedules:\n${entries.join('\n')}\n`;
}

let sim: TestSimulator | null = null;
const runs: DaemonRun[] = [];

afterEach(async () => {
  for (const run of runs)
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await sim?.close();
});

const acquired = (after: number) => (line: LogLine) =>
  line.msg === 'leadership acquired' && timeOf(line).getTime() >= after;

it('fails over on SIGKILL and on a cut connection: no build twice, none lost, takeover within 15 s', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-test-'));
  const logFile = join(dir, 'daemons.log');
  onTestFailed(() => console.error(`failover test failed; daemon logs kept in ${logFile}`));
  const schedulesDir = join(dir, 'schedules');
  mkdirSync(schedulesDir);
  writeFileSync(join(schedulesDir, 'ha.yaml'), schedulesYaml());
  const url = await server().createDatabase('failover');
  const startedAtMs = Date.now();
  sim = await startTestSimulator({
    buildDurationMs: 3000,
    rateLimit: null,
    faults: { latencyMs: 100, only: ['POST /builds'] },
  });
  const envOf = (instance: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? '',
    CODESHIP_API_URL: (sim as TestSimulator).url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    CODESHIP_ORGANIZATION: 'acme',
    CODESHIP_RATE_LIMIT: '6000',
    SCHEDULES_DIR: schedulesDir,
    DATABASE_URL: url,
    INSTANCE_NAME: instance,
    DISCOVERY_WINDOW: '10s',
    LOG_LEVEL: process.env.FAILOVER_LOG_LEVEL ?? 'info',
  });
  let generation = 0;
  const start = (instance: string) => {
    generation += 1;
    const run = startDaemon({
      env: envOf(instance),
      cwd: dir,
      logFile,
      label: `${instance}#${generation}`,
    });
    runs.push(run);
    return run;
  };

  // A leads, B stands by.
  let [leaderName, standbyName] = ['a', 'b'];
  let leader = start(leaderName);
  await leader.waitFor(byMsg('leadership acquired'), 15_000);
  const firstStartedAt = timeOf(await leader.waitFor(byMsg('daemon started'), 10_000));
  // Until every schedule has a mark, a new leader could not know it ever ran (no catch-up for a
  // schedule that never fired), so the first leader lives at least that long.
  const marked = Date.now() + 10_000;
  while ((await readLedgerAt(url)).marks.size < SCHEDULES.length && Date.now() < marked)
    await sleep(100);
  let standby = start(standbyName);
  await standby.waitFor(byMsg('standing by'), 10_000);
  const takeovers: number[] = [];

  for (let kill = 0; kill < KILLS; kill += 1) {
    const killAfter = Date.now();
    await leader.waitFor(
      (line) => line.msg === 'build triggered' && timeOf(line).getTime() >= killAfter,
      15_000,
    );
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    expect(await leader.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const took = await standby.waitFor(acquired(killedAt), TAKEOVER_BOUND_MS + 5000);
    takeovers.push(timeOf(took).getTime() - killedAt);
    // The killed instance comes back, as the standby.
    [leader, standby] = [standby, start(leaderName)];
    [leaderName, standbyName] = [standbyName, leaderName];
    await standby.waitFor(byMsg('standing by'), 10_000);
  }

  // The leader's connections are cut: it stops sending at once; the standby takes over.
  await sleep(1500);
  const cutAt = Date.now();
  const cut = await server().query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
    [`codeship-cron:${leaderName}`],
  );
  expect(cut.rowCount).toBeGreaterThan(0);
  const lost = await leader.waitFor(
    (line) => line.msg === 'leadership lost' && timeOf(line).getTime() >= cutAt - 50,
    10_000,
  );
  const lostAfterCutMs = timeOf(lost).getTime() - cutAt;
  // Its loops stop; the process stays, a standby now, and says so.
  await leader.waitFor(byMsg('daemon loops stopped: standing by'), 10_000);
  expect(leader.lines.filter(byMsg('daemon stopped'))).toEqual([]);
  const took = await standby.waitFor(acquired(cutAt), TAKEOVER_BOUND_MS);
  const partitionTakeoverMs = timeOf(took).getTime() - cutAt;
  await sleep(3000);

  // Removed schedules let the ledger settle; then both stop.
  rmSync(join(schedulesDir, 'ha.yaml'));
  const removedAt = Date.now();
  standby.child.kill('SIGHUP');
  leader.child.kill('SIGHUP');
  await standby.waitFor(
    (line) => line.msg === 'schedules reloaded' && line.schedules === 0,
    10_000,
  );
  const deadline = Date.now() + SETTLE_BOUND_MS;
  let open = openSlots(await readLedgerAt(url));
  while (open.length > 0 && Date.now() < deadline) {
    await sleep(250);
    open = openSlots(await readLedgerAt(url));
  }
  for (const run of [leader, standby]) run.child.kill('SIGTERM');
  const ends = await Promise.all([leader.exited, standby.exited]);

  // The cut leader sent nothing after it knew it lost (a create already under way may end).
  const cutLeaderLines = leader.lines.filter(
    (l) => l.time && timeOf(l).getTime() > timeOf(lost).getTime() + 2000,
  );
  const lateTriggers = cutLeaderLines.filter((l) => l.msg === 'build triggered');
  const reacquired = cutLeaderLines.some((l) => l.msg === 'leadership acquired');

  const snapshot = await readLedgerAt(url);
  await closeRaw(url);
  const projectUuids = new Set(snapshot.slots.map((s) => s.project_uuid).filter((u) => u !== null));
  const builds = sim
    .builds()
    .filter((b) => Date.parse(b.queuedAt) >= startedAtMs && projectUuids.has(b.projectUuid));
  const problems = checkExactlyOnce({
    snapshot,
    builds,
    schedules: SCHEDULES,
    from: firstStartedAt,
    until: new Date(removedAt - 3000),
    latestAllowed: new Date(removedAt + 1000),
  });
  const stats = {
    takeoversMs: takeovers,
    partition: { lostAfterCutMs, takeoverMs: partitionTakeoverMs },
    slots: snapshot.slots.length,
    builds: builds.length,
    resent: snapshot.slots.filter((s) => s.attempts === 2).length,
    totalMs: Date.now() - startedAtMs,
  };
  console.log(`failover test: ${JSON.stringify(stats)}`);
  expect({ stillOpen: open.map(describeSlot), problems }).toEqual({ stillOpen: [], problems: [] });
  for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
  expect(partitionTakeoverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
  expect(lostAfterCutMs).toBeLessThan(2000);
  if (!reacquired) expect(lateTriggers).toEqual([]);
  expect(ends).toEqual([
    { code: 0, signal: null },
    { code: 0, signal: null },
  ]);
  rmSync(dir, { recursive: true, force: true });
});
