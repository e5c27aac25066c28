/**
 * Build identity (real time): the real daemon sends N creates to the simulator on loopback while
 * Codeship's clock runs 47 s ahead of ours and other people push to the same branches within
 * ±5 s of half the creates. Counts, from the ledger and the simulator's own record, the claims
 * that took someone else's push and our builds that no slot claimed: for the daemon as it is, and
 * for the fixed window discovery used before (30 s before to 60 s after each create, oldest
 * build first), replayed over the same attempts and the same build list.
 * `--names same` makes the pushers appear under the API user's own name, so names tell nothing
 * and only the request windows decide (README, "Build identity").
 * Usage: node dist-bench/bench/identity.js [--names other|same] [--quick]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../src/adapters/ledger.ts';
import { createLogger } from '../src/adapters/logger.ts';
import { systemClock } from '../src/adapters/system-clock.ts';
import { loadConfig } from '../src/config.ts';
import { runDaemon } from '../src/daemon/daemon.ts';
import { ScheduleSet } from '../src/daemon/schedule-set.ts';
import { createApi, createRuntime, loadConfiguredSchedules } from '../src/deps.ts';
import { startSimulator } from '../src/simulator/index.ts';
import type { SimBuild } from '../src/simulator/types.ts';
import { queryRows } from '../test/helpers/ledger-sql.ts';
import { argValue, emitResult, isQuick, note, pause, tempDir } from './common.ts';
import { BENCH_PASSWORD, BENCH_USERNAME, fleetSeed, projectName } from './fleet.ts';
import { count } from './sim-harness.ts';

const SERVER_AHEAD_MS = 47_000;
const BRANCHES = 20;

interface Attempt {
  slotId: number;
  branch: string;
  sentMs: number;
}

/**
 * The discovery of the first release, kept here only to measure against: each slot took the
 * oldest unclaimed build on its branch queued (server time, read as ours) from 30 s before its
 * first attempt to 60 s after its last, slots in the order of their first attempt.
 */
function fixedWindowClaims(attempts: readonly Attempt[], builds: readonly SimBuild[]) {
  const bySlot = new Map<number, { branch: string; firstMs: number; lastMs: number }>();
  for (const a of attempts) {
    const slot = bySlot.get(a.slotId);
    if (slot === undefined)
      bySlot.set(a.slotId, { branch: a.branch, firstMs: a.sentMs, lastMs: a.sentMs });
    else slot.lastMs = Math.max(slot.lastMs, a.sentMs);
  }
  const oldestFirst = [...builds].sort((a, b) => Date.parse(a.queuedAt) - Date.parse(b.queuedAt));
  const taken = new Set<string>();
  const claims = new Map<number, SimBuild>();
  for (const [slotId, slot] of [...bySlot].sort((a, b) => a[1].firstMs - b[1].firstMs)) {
    const build = oldestFirst.find((b) => {
      const queuedMs = Date.parse(b.queuedAt);
      return (
        !taken.has(b.uuid) &&
        b.branch === slot.branch &&
        queuedMs >= slot.firstMs - 30_000 &&
        queuedMs < slot.lastMs + 60_000
      );
    });
    if (build === undefined) continue;
    taken.add(build.uuid);
    claims.set(slotId, build);
  }
  return claims;
}

/** Wrong claims (someone else's push) and our builds left unclaimed, for a slot -> build map. */
function score(claims: ReadonlyMap<number, SimBuild | undefined>, builds: readonly SimBuild[]) {
  const claimed = new Set([...claims.values()].map((b) => b?.uuid));
  return {
    wrong: [...claims.values()].filter((b) => b?.pusher).length,
    unclaimed: builds.filter((b) => !b.pusher && !claimed.has(b.uuid)).length,
  };
}

async function main(): Promise<void> {
  const quick = isQuick();
  const names = argValue('names') === 'same' ? 'same' : 'other';
  const creates = quick ? 100 : 1000;
  const dir = tempDir('identity');
  const startMs = Date.now();
  const sim = await startSimulator({
    seed: fleetSeed(1, startMs + SERVER_AHEAD_MS),
    clockOffsetMs: SERVER_AHEAD_MS,
    rateLimit: null,
    buildDurationMs: 2000,
    pushes: {
      rate: 0.5,
      spreadMs: 5000,
      seed: 47,
      ...(names === 'same' ? { username: BENCH_USERNAME.split('@')[0] } : {}),
    },
  });
  const lines = ['schedules:'];
  for (let b = 0; b < BRANCHES; b += 1) {
    lines.push(
      `  - name: busy-${b}`,
      '    cron: "* * * * * *"',
      `    project: ${projectName(0)}`,
      `    branch: branch-${String(b).padStart(2, '0')}`,
      '    catchup: 0',
    );
  }
  writeFileSync(join(dir.path, 'busy.yaml'), `${lines.join('\n')}\n`);
  const config = loadConfig({
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: BENCH_USERNAME,
    CODESHIP_PASSWORD: BENCH_PASSWORD,
    CODESHIP_RATE_LIMIT: '6000',
    SCHEDULES_DIR: dir.path,
    DATABASE_PATH: join(dir.path, 'ledger.sqlite'),
    DISCOVERY_WINDOW: '20s',
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger({ level: 'silent' });
  const ledger = openLedger(config.databasePath);
  const schedules = new ScheduleSet();
  schedules.apply(loadConfiguredSchedules(config).files, []);
  const rt = createRuntime({
    config,
    ledger,
    api: createApi(config, logger, systemClock),
    clock: systemClock,
    logger,
    schedule: (n) => schedules.get(n),
  });
  const controller = new AbortController();
  const reloads: (() => void)[] = [];
  const daemon = runDaemon(rt, {
    signal: controller.signal,
    schedules,
    loadSchedules: () => loadConfiguredSchedules(config),
    onReload: (listener) => reloads.push(listener),
  });
  try {
    const sent = () => count({ target: ledger.file }, 'SELECT COUNT(*) FROM attempts');
    while (sent() < creates) await pause(100);
    writeFileSync(join(dir.path, 'busy.yaml'), 'schedules: []\n');
    for (const reload of reloads) reload();
    const open = () =>
      count(
        { target: ledger.file },
        "SELECT COUNT(*) FROM slots WHERE state IN ('pending', 'triggered', 'running')",
      );
    const deadline = Date.now() + 120_000;
    while (open() > 0 && Date.now() < deadline) await pause(250);
    const builds = sim.builds().filter((b) => Date.parse(b.queuedAt) >= startMs);
    const rows = queryRows<{
      id: number;
      branch: string;
      build_uuid: string | null;
      claim: string | null;
    }>(ledger.file, 'SELECT id, branch, build_uuid, claim FROM slots WHERE attempts > 0');
    const byUuid = new Map(builds.map((b) => [b.uuid, b]));
    const ours = new Map(
      rows.map((r) => [r.id, r.build_uuid ? byUuid.get(r.build_uuid) : undefined] as const),
    );
    const attempts = queryRows<{ slot_id: number; branch: string; sent_at: string }>(
      ledger.file,
      'SELECT a.slot_id, s.branch, a.sent_at FROM attempts a JOIN slots s ON s.id = a.slot_id',
    ).map((a) => ({ slotId: a.slot_id, branch: a.branch, sentMs: Date.parse(a.sent_at) }));
    const now = score(ours, builds);
    const before = score(fixedWindowClaims(attempts, builds), builds);
    const pushes = builds.filter((b) => b.pusher).length;
    const ambiguous = rows.filter((r) => r.claim !== null && r.claim !== 'exact').length;
    note(
      `identity-${names}`,
      `${rows.length} slots sent, ${pushes} pushes by others, open at the end: ${open()}; ` +
        `now ${JSON.stringify(now)}, fixed window ${JSON.stringify(before)}, ambiguous claims ${ambiguous}, ` +
        `server clock estimate at the end ${JSON.stringify(rt.api.clockEstimate())}`,
    );
    emitResult({
      creates: sent(),
      pushes,
      wrongClaims: now.wrong,
      unclaimedOwn: now.unclaimed,
      fixedWindowWrongClaims: before.wrong,
      fixedWindowUnclaimedOwn: before.unclaimed,
      ambiguousClaims: ambiguous,
      stillOpen: open(),
    });
  } finally {
    controller.abort(new Error('bench over'));
    await daemon;
    ledger.close();
    await sim.close();
    dir.remove();
  }
}

await main();
