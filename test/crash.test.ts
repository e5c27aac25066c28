/**
 * Crash test (issue 4): the built daemon is SIGKILLed at random moments while it triggers builds
 * against a faulty simulator, restarted on the same ledger, and finally stopped with SIGTERM once
 * every slot has settled. The oracle (`ledger-oracle.ts`) then proves exactly-once against what
 * the simulator really built. Real time is unavoidable (a spawned daemon on the real clock): the
 * schedules fire every second or two and the whole test stays within about a minute.
 * Reproduce a failure with `CRASH_SEED=<seed printed> npx vitest run test/crash.test.ts`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it, onTestFailed } from 'vitest';
import { createPrng } from '../src/simulator/ids.ts';
import { byMsg, startDaemon, timeOf } from './helpers/daemon-process.ts';
import {
  checkExactlyOnce,
  describeSlot,
  type ExpectedSchedule,
  openSlots,
  readLedger,
  suspectClaims,
} from './helpers/ledger-oracle.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';

const KILLS = 5;
/** The kill (0-based) that waits for a "build triggered" line and kills right after it. */
const KILL_AFTER_TRIGGER = 2;
const SETTLE_BOUND_MS = 75_000;
/**
 * Here a create reaches the simulator within ~200 ms of its recorded attempt (150 ms injected
 * latency, no rate limit), while two creates of one branch are at least 1 s apart: a claimed build
 * queued later than this after every attempt of its slot was likely made by another slot's create
 * (reported with a failure, not asserted: see `suspectClaims`).
 */
const ATTRIBUTION_WINDOW_MS = 1500;
/** How far the simulator's clock runs ahead of the daemon's. */
const SERVER_AHEAD_MS = 47_000;

const SCHEDULES: readonly (ExpectedSchedule & { project: string; extra?: string })[] = [
  { name: 'crash-api', cron: '* * * * * *', branches: ['main'], project: 'acme/api' },
  { name: 'crash-web', cron: '*/2 * * * * *', branches: ['main', 'develop'], project: 'acme/web' },
  {
    name: 'crash-docs',
    cron: '*/2 * * * * *',
    branches: ['main'],
    project: 'acme/docs',
    extra: 'overlap: skip',
  },
];

/** How many times each value occurs. */
function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function schedulesYaml(): string {
  const entries = SCHEDULES.map((s) =>
    [
      `  - name: ${s.name}`,
      `    cron: "${s.cron}"`,
      `    project: ${s.project}`,
      `    branches: [${s.branches.join(', ')}]`,
      '    catchup: 1h',
      ...(s.extra ? [`    ${s.extra}`] : []),
    ].join('\n'),
  );
  return `schedules:\n${entries.join('\n')}\n`;
}

let dir = '';
let sim: TestSimulator | null = null;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await sim?.close();
});

it('survives SIGKILL mid-triggering: every build claimed once, every slot recorded, clean stop', {
  timeout: 150_000,
}, async () => {
  const seed = Number(process.env.CRASH_SEED) || Math.floor(Math.random() * 2 ** 31);
  const random = createPrng(seed);
  dir = mkdtempSync(join(tmpdir(), 'crash-test-'));
  const logFile = join(dir, 'daemon.log');
  let suspects: string[] = [];
  onTestFailed(() => {
    console.error(
      `crash test failed with CRASH_SEED=${seed}; ledger, simulator and daemon logs kept in ${dir}`,
    );
    if (suspects.length > 0)
      console.error(`claims that look misattributed:\n  ${suspects.join('\n  ')}`);
  });
  const schedulesDir = join(dir, 'schedules');
  mkdirSync(schedulesDir);
  writeFileSync(join(schedulesDir, 'crash.yaml'), schedulesYaml());
  const startedAtMs = Date.now();
  sim = await startTestSimulator({
    buildDurationMs: 3000,
    rateLimit: null,
    // Codeship's clock 47 s ahead of ours, and other people pushing within 5 s of half the
    // creates: every claim must still be one of our own builds (README, "Build identity").
    clockOffsetMs: SERVER_AHEAD_MS,
    pushes: { rate: 0.5, spreadMs: 5000, seed },
    // ghost: built but the answer is lost; error/reset: not built and the answer is lost too.
    faults: {
      ghostCreateRate: 0.2,
      errorRate: 0.05,
      resetRate: 0.05,
      latencyMs: 150,
      only: ['POST /builds'],
      seed,
    },
  });
  const ledgerPath = join(dir, 'ledger.sqlite');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    CODESHIP_ORGANIZATION: 'acme',
    CODESHIP_RATE_LIMIT: '6000',
    SCHEDULES_DIR: schedulesDir,
    DATABASE_PATH: ledgerPath,
    DISCOVERY_WINDOW: '10s',
    LOG_LEVEL: 'info',
  };

  // Kill loop: each run is SIGKILLed while it triggers; one right after a "build triggered" line.
  let firstStartedAt: Date | null = null;
  const killDelays: string[] = [];
  for (let kill = 0; kill < KILLS; kill += 1) {
    const run = startDaemon({ env, cwd: dir, logFile, label: `run${kill}` });
    children.push(run.child);
    const started = await run.waitFor(byMsg('daemon started'), 10_000);
    if (kill === 0) {
      firstStartedAt = timeOf(started);
      // Until every schedule has a mark, a restart could not know it ever ran (no catch-up for
      // a schedule that never fired), so the first run lives at least that long.
      const deadline = Date.now() + 10_000;
      while (readLedger(ledgerPath).marks.size < SCHEDULES.length && Date.now() < deadline)
        await sleep(100);
    }
    if (kill === KILL_AFTER_TRIGGER) {
      await run.waitFor(byMsg('build triggered'), 15_000);
      killDelays.push('after "build triggered"');
    } else {
      const delayMs = Math.round(500 + random() * 2500);
      killDelays.push(`${delayMs} ms`);
      await sleep(delayMs);
    }
    run.child.kill('SIGKILL');
    const end = await run.exited;
    expect(
      end,
      `run ${kill} died by itself instead of by our SIGKILL; stderr: ${run.stderr()}`,
    ).toEqual({
      code: null,
      signal: 'SIGKILL',
    });
  }

  // Final run: no new faults (a held create would make shutdown wait 30 s), the kills' leftovers
  // are resolved, then the schedules are removed so the ledger can settle, then SIGTERM.
  sim.setFaults({});
  const final = startDaemon({ env, cwd: dir, logFile, label: 'final' });
  children.push(final.child);
  await final.waitFor(byMsg('first tick planned'), 10_000);
  await sleep(3000);
  rmSync(join(schedulesDir, 'crash.yaml'));
  final.child.kill('SIGHUP');
  const removed = await final.waitFor(
    (line) => line.msg === 'schedules reloaded' && line.schedules === 0,
    10_000,
  );
  const removedAt = timeOf(removed);
  const settleDeadline = Date.now() + SETTLE_BOUND_MS;
  let open = openSlots(readLedger(ledgerPath));
  while (open.length > 0 && Date.now() < settleDeadline) {
    await sleep(250);
    open = openSlots(readLedger(ledgerPath));
  }
  const settledAfterMs = Date.now() - removedAt.getTime();
  final.child.kill('SIGTERM');
  const end = await final.exited;

  const snapshot = readLedger(ledgerPath);
  const projectUuids = new Set(snapshot.slots.map((s) => s.project_uuid).filter((u) => u !== null));
  const builds = sim
    .builds()
    .filter(
      (b) =>
        Date.parse(b.queuedAt) >= startedAtMs + SERVER_AHEAD_MS && projectUuids.has(b.projectUuid),
    );
  const problems = checkExactlyOnce({
    snapshot,
    builds,
    schedules: SCHEDULES,
    from: firstStartedAt as Date,
    // A slot due just before the removal may not have been ticked yet: it may or may not exist.
    until: new Date(removedAt.getTime() - 2000),
    latestAllowed: removedAt,
    serverOffsetMs: SERVER_AHEAD_MS,
  });
  suspects = suspectClaims(snapshot, builds, ATTRIBUTION_WINDOW_MS, SERVER_AHEAD_MS);
  const byState: Record<string, number> = {};
  for (const slot of snapshot.slots) {
    const key = `${slot.state}${slot.reason ? `:${slot.reason.split(' ')[0]}` : ''}`;
    byState[key] = (byState[key] ?? 0) + 1;
  }
  const stats = {
    seed,
    killDelays,
    totalMs: Date.now() - startedAtMs,
    settledAfterMs,
    slots: snapshot.slots.length,
    byState,
    builds: builds.length,
    ghostBuilds: builds.filter((b) => b.ghost).length,
    pushes: builds.filter((b) => b.pusher).length,
    claims: countBy(snapshot.slots.map((s) => s.claim ?? 'none')),
    resent: snapshot.slots.filter((s) => s.attempts === 2).length,
    suspectClaims: suspects.length,
  };
  console.log(`crash test: ${JSON.stringify(stats)}`);

  // Kept with the ledger and the daemon logs for a post-mortem when an assertion fails.
  const creates = sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
  writeFileSync(join(dir, 'simulator.json'), JSON.stringify({ builds, creates }, null, 1));
  expect(
    { stillOpen: open.map(describeSlot), problems },
    `exactly-once violations, and slots still open ${SETTLE_BOUND_MS} ms after the schedules were removed (seed ${seed})`,
  ).toEqual({ stillOpen: [], problems: [] });
  // Others pushed during the run (how many depends on the seed and on how many creates built).
  expect(stats.pushes).toBeGreaterThan(0);
  expect(end, `final run did not stop cleanly on SIGTERM; stderr: ${final.stderr()}`).toEqual({
    code: 0,
    signal: null,
  });
  expect(final.lines.some(byMsg('daemon stopped'))).toBe(true);
  rmSync(dir, { recursive: true, force: true });
});
