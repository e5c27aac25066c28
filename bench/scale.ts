/**
 * Scale (real time, the real CLI): `codeship-cron run` spawned against a simulator with N
 * schedules (200 distinct expressions, 5 zones, 500 projects) in 20 YAML files. Measures start-up
 * (spawn to the `first tick planned` log line), RSS one second after it, CPU over an idle window
 * (no expression fires in it) and, against the same process started with an empty folder, memory
 * per schedule.
 * Usage: node dist-bench/bench/scale.js [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.ts';
import {
  CLOCK_TICKS_PER_SECOND,
  emitResult,
  isQuick,
  note,
  pause,
  round,
  sampleProcess,
  tempDir,
} from './common.ts';
import {
  BENCH_PASSWORD,
  BENCH_USERNAME,
  fleetExpressions,
  fleetSchedules,
  fleetSeed,
  writeScheduleFiles,
} from './fleet.ts';

const CLI = resolve(fileURLToPath(new URL('../../dist/cli.js', import.meta.url)));
const SETTLE_MS = 1_000;

interface Started {
  child: ChildProcess;
  startupMs: number;
  /** Log lines after `first tick planned` (an idle daemon writes none). */
  linesAfterReady: () => number;
}

/** Spawns `codeship-cron run` and resolves when it logs `first tick planned`. */
function startDaemon(env: Record<string, string>, cwd: string): Promise<Started> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [CLI, 'run'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolvePromise, reject) => {
    let after = -1;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (after >= 0) {
        after += 1;
        return;
      }
      let entry: { msg?: string } = {};
      try {
        entry = JSON.parse(line) as { msg?: string };
      } catch {
        return;
      }
      if (entry.msg === 'first tick planned') {
        after = 0;
        resolvePromise({
          child,
          startupMs: performance.now() - spawnedAt,
          linesAfterReady: () => after,
        });
      }
    });
    child.on('exit', (code) =>
      reject(
        new Error(`codeship-cron run exited (${code}) before its first tick: ${stderr.trim()}`),
      ),
    );
  });
}

function stopDaemon(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) return resolvePromise();
    child.once('exit', () => resolvePromise());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const quick = isQuick();
  const count = quick ? 1_000 : 10_000;
  const projects = 500;
  const idleMs = quick ? 5_000 : 60_000;
  const dir = tempDir('scale');
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    seed: fleetSeed(projects, Date.now()),
  });
  try {
    // Nothing may fire from now until the idle window is over (with a margin for start-up).
    const quiet = { fromMs: Date.now(), untilMs: Date.now() + idleMs + 60_000 };
    const { expressions, redrawn } = fleetExpressions(200, quiet);
    const schedules = fleetSchedules(count, projects, expressions);
    const fullDir = join(dir.path, 'schedules');
    const emptyDir = join(dir.path, 'empty');
    mkdirSync(fullDir);
    mkdirSync(emptyDir);
    writeScheduleFiles(fullDir, schedules, 20);
    const env = (schedulesDir: string, db: string) => ({
      CODESHIP_API_URL: sim.url,
      CODESHIP_USERNAME: BENCH_USERNAME,
      CODESHIP_PASSWORD: BENCH_PASSWORD,
      SCHEDULES_DIR: schedulesDir,
      DATABASE_PATH: join(dir.path, db),
      LOG_LEVEL: 'info',
    });

    // The same process with no schedules: the baseline for memory per schedule.
    const empty = await startDaemon(env(emptyDir, 'empty.sqlite'), dir.path);
    await pause(SETTLE_MS);
    const emptyRssKiB = sampleProcess(empty.child.pid as number).rssKiB;
    await stopDaemon(empty.child);

    const full = await startDaemon(env(fullDir, 'full.sqlite'), dir.path);
    const pid = full.child.pid as number;
    await pause(SETTLE_MS);
    const afterStart = sampleProcess(pid);
    const requestsBefore = sim.requests().length;
    // The start-up check's lines come within the settle second: count only the idle window's.
    const linesBefore = full.linesAfterReady();
    await pause(idleMs);
    const afterIdle = sampleProcess(pid);
    const idleCpuPercent =
      ((afterIdle.cpuTicks - afterStart.cpuTicks) / CLOCK_TICKS_PER_SECOND / (idleMs / 1000)) * 100;
    const linesDuringIdle = full.linesAfterReady() - linesBefore;
    const apiCallsDuringIdle = sim.requests().length - requestsBefore;
    await stopDaemon(full.child);
    const combos = new Set(schedules.map((s) => `${s.timezone} ${s.cron}`)).size;
    const figures = {
      schedules: count,
      projects,
      expressions: expressions.length,
      expressionZonePairs: combos,
      expressionsRedrawn: redrawn,
      startupMs: Math.round(full.startupMs),
      emptyStartupMs: Math.round(empty.startupMs),
      rssMiB: round(afterStart.rssKiB / 1024, 1),
      rssAfterIdleMiB: round(afterIdle.rssKiB / 1024, 1),
      peakRssMiB: round(afterIdle.peakRssKiB / 1024, 1),
      emptyRssMiB: round(emptyRssKiB / 1024, 1),
      bytesPerSchedule: Math.round(((afterStart.rssKiB - emptyRssKiB) * 1024) / count),
      idleSeconds: idleMs / 1000,
      idleCpuPercent: round(idleCpuPercent, 2),
      logLinesDuringIdle: linesDuringIdle,
      apiCallsDuringIdle,
    };
    note('scale', JSON.stringify(figures));
    emitResult(figures);
  } finally {
    await sim.close();
    dir.remove();
  }
}

await main();
