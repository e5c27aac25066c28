/**
 * The status page at fleet scale (real time, the real CLI, Chromium): `codeship-cron run` with
 * HTTP_ADDR on 10,000 schedules (the scale fleet) whose ledger holds their history (30 slots each,
 * about 3 % of schedules failing), and Debian's Chromium through playwright-core loading `/`.
 * Measures first contentful paint and DOMContentLoaded of the first load, a second after start-up
 * (cold: every next fire computed once) and the median of later loads, the server's time to the last
 * byte, the page's size, and `GET /api/schedules?limit=100`.
 * Usage: node dist-bench/bench/page.js [--quick]   (quick: 2 slots per schedule, 2 loads)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openLedger } from '../src/adapters/ledger.ts';
import { createPrng } from '../src/simulator/ids.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { emitResult, isQuick, median, note, pause, round, tempDir } from './common.ts';
import {
  BENCH_PASSWORD,
  BENCH_USERNAME,
  type BenchSchedule,
  fleetExpressions,
  fleetSchedules,
  fleetSeed,
  writeScheduleFiles,
} from './fleet.ts';

const CLI = resolve(fileURLToPath(new URL('../../dist/cli.js', import.meta.url)));
const CHROMIUM = '/usr/bin/chromium';
const HOUR = 3_600_000;
const SETTLE_MS = 1_000;

/**
 * Writes `perSchedule` hourly slots per schedule through the ledger port, each with a finished
 * build of 3 to 12 minutes; about 3 % of schedules have a failed newest build, 10 % of older
 * builds failed. The seed file lives in /dev/shm when there is one: the page reads it, and
 * 300,000 fsynced claims on a disk would take minutes before the measurement begins.
 */
function seedLedger(file: string, schedules: readonly BenchSchedule[], perSchedule: number): void {
  const ledger = openLedger(file);
  const random = createPrng(4_242);
  const now = Date.now();
  try {
    for (let start = 0; start < schedules.length; start += 1000) {
      const part = schedules.slice(start, start + 1000);
      const slots = ledger.recordSlots(
        part.flatMap((s) =>
          Array.from({ length: perSchedule }, (_, k) => {
            const at = new Date(now - (perSchedule - k) * HOUR);
            return {
              schedule: s.name,
              slotAt: at,
              branch: s.branch,
              project: s.project,
              fireAt: at,
              state: 'pending' as const,
            };
          }),
        ),
        new Map(),
        new Date(now),
      );
      const failing = new Set(part.filter(() => random() < 0.03).map((s) => s.name));
      slots.forEach((slot, k) => {
        const newest = k % perSchedule === perSchedule - 1;
        const failed = newest ? failing.has(slot.schedule) : random() < 0.1;
        const queuedAt = new Date(slot.fireAt.getTime() + 2000);
        ledger.claimBuild(
          slot.id,
          {
            uuid: `${slot.id.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
            commitSha: 'c0ffee0000000000000000000000000000000000',
            status: failed ? 'failed' : 'success',
            queuedAt,
            finishedAt: new Date(queuedAt.getTime() + (3 + random() * 9) * 60_000),
            final: true,
          },
          new Date(now),
          'exact',
        );
      });
    }
  } finally {
    ledger.close();
  }
}

/** Spawns `codeship-cron run` and resolves with the status page's URL once the first tick is planned. */
function startDaemon(
  env: Record<string, string>,
  cwd: string,
): Promise<{ child: ChildProcess; url: string }> {
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
    let url: string | null = null;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let entry: { msg?: string; url?: string } = {};
      try {
        entry = JSON.parse(line) as { msg?: string; url?: string };
      } catch {
        return;
      }
      if (entry.msg === 'http server listening') url = entry.url ?? null;
      if (entry.msg === 'first tick planned' && url !== null) resolvePromise({ child, url });
    });
    child.on('exit', (code) =>
      reject(new Error(`codeship-cron run exited (${code}) before it served: ${stderr.trim()}`)),
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

interface Load {
  firstPaintMs: number;
  domContentLoadedMs: number;
  serverMs: number;
  bytes: number;
  cards: number;
}

async function main(): Promise<void> {
  const quick = isQuick();
  const count = 10_000;
  const perSchedule = quick ? 2 : 30;
  const loads = quick ? 2 : 6;
  const projects = 500;
  const dir = tempDir('page');
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/codeship-cron-bench-page-') : null;
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    seed: fleetSeed(projects, Date.now()),
  });
  let daemon: ChildProcess | null = null;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const quiet = { fromMs: Date.now(), untilMs: Date.now() + 10 * 60_000 };
    const { expressions } = fleetExpressions(200, quiet);
    const schedules = fleetSchedules(count, projects, expressions);
    const schedulesDir = join(dir.path, 'schedules');
    mkdirSync(schedulesDir);
    writeScheduleFiles(schedulesDir, schedules, 20);
    const database = join(shm ?? dir.path, 'ledger.sqlite');
    const seedStart = performance.now();
    seedLedger(database, schedules, perSchedule);
    note(
      'page',
      `ledger seeded: ${count * perSchedule} slots in ${Math.round(performance.now() - seedStart)} ms`,
    );
    const started = await startDaemon(
      {
        CODESHIP_API_URL: sim.url,
        CODESHIP_USERNAME: BENCH_USERNAME,
        CODESHIP_PASSWORD: BENCH_PASSWORD,
        SCHEDULES_DIR: schedulesDir,
        DATABASE_PATH: database,
        HTTP_ADDR: '127.0.0.1:0',
        LOG_LEVEL: 'info',
      },
      dir.path,
    );
    daemon = started.child;
    // As an operator would: the page is opened once the daemon has settled after its first tick.
    await pause(SETTLE_MS);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const measured: Load[] = [];
    for (let i = 0; i < loads; i += 1) {
      await page.goto(`${started.url}/`, { waitUntil: 'load' });
      // The paint entry is recorded once the frame is presented (polled: the page's CSP forbids
      // the eval behind waitForFunction).
      for (let tries = 0; tries < 100; tries += 1) {
        const painted = await page.evaluate(
          "performance.getEntriesByName('first-contentful-paint').length > 0",
        );
        if (painted) break;
        await pause(50);
      }
      const timing =
        (await page.evaluate(`new Promise((done) => requestAnimationFrame(() => setTimeout(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        done({
          firstPaintMs: paint ? paint.startTime : -1,
          domContentLoadedMs: nav.domContentLoadedEventEnd,
          serverMs: nav.responseEnd - nav.requestStart,
          bytes: nav.decodedBodySize,
          cards: document.querySelectorAll('section.card').length,
        });
      }, 0)))`)) as Load;
      measured.push(timing);
    }
    const apiMs: number[] = [];
    let apiBytes = 0;
    for (let i = 0; i < 3; i += 1) {
      const t = performance.now();
      const response = await fetch(`${started.url}/api/schedules?limit=100`);
      apiBytes = (await response.arrayBuffer()).byteLength;
      apiMs.push(performance.now() - t);
    }
    const [cold, ...warm] = measured as [Load, ...Load[]];
    const figures = {
      schedules: count,
      slotsPerSchedule: perSchedule,
      cards: cold.cards,
      coldFirstPaintMs: Math.round(cold.firstPaintMs),
      coldDomContentLoadedMs: Math.round(cold.domContentLoadedMs),
      coldServerMs: Math.round(cold.serverMs),
      firstPaintMs: Math.round(median(warm.map((l) => l.firstPaintMs))),
      domContentLoadedMs: Math.round(median(warm.map((l) => l.domContentLoadedMs))),
      serverMs: Math.round(median(warm.map((l) => l.serverMs))),
      pageKiB: round(cold.bytes / 1024, 1),
      apiMs: Math.round(median(apiMs)),
      apiKiB: round(apiBytes / 1024, 1),
    };
    note('page', JSON.stringify(figures));
    emitResult(figures);
  } finally {
    await browser.close();
    if (daemon) await stopDaemon(daemon);
    await sim.close();
    dir.remove();
    if (shm) rmSync(shm, { recursive: true, force: true });
  }
}

await main();
