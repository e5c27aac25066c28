/**
 * The built daemon while another process holds its ledger's write lock (a long backup, `sqlite3`
 * in a terminal): the process stays responsive (`/healthz` answers at once, never after a 5 s
 * busy wait), says that the ledger is locked, and records every slot once the lock is gone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { startDaemon } from './helpers/daemon-process.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';

let sim: TestSimulator | undefined;
let stopDaemon: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-lock-'));
afterAll(async () => {
  stopDaemon?.();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('stays responsive and loses no slot while another process holds the ledger lock', {
  timeout: 40_000,
}, async () => {
  sim = await startTestSimulator();
  const schedules = join(dir, 'schedules');
  mkdirSync(schedules);
  writeFileSync(
    join(schedules, 'a.yaml'),
    'schedules:\n  - { name: every-second, cron: "* * * * * *", project: acme/api, branch: main }\n',
  );
  const file = join(dir, 'ledger.sqlite');
  const daemon = startDaemon({
    env: {
      PATH: process.env.PATH,
      CODESHIP_API_URL: sim.url,
      CODESHIP_USERNAME: 'demo@example.com',
      CODESHIP_PASSWORD: 'demo-password',
      SCHEDULES_DIR: schedules,
      DATABASE_PATH: file,
      HTTP_ADDR: '127.0.0.1:0',
    },
    cwd: dir,
    logFile: join(dir, 'daemon.log'),
    label: 'lock',
  });
  stopDaemon = () => daemon.child.kill('SIGKILL');
  const listening = await daemon.waitFor((l) => l.msg === 'http server listening', 10_000);
  await daemon.waitFor((l) => l.msg === 'first tick planned', 10_000);

  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  other.prepare("INSERT INTO marks (schedule, slot_at) VALUES ('someone-else', 'x')").run();
  const lockedAt = new Date();
  let slowestMs = 0;
  const until = Date.now() + 3500;
  while (Date.now() < until) {
    const started = performance.now();
    const answer = await fetch(`${listening.url}/healthz`);
    expect(answer.status).toBe(200);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The loop never waited 5 s for the lock: probes answered in well under a second throughout.
  expect(slowestMs).toBeLessThan(1000);
  const warned = await daemon.waitFor(
    (l) => l.msg === 'ledger is locked by another process; retrying',
    5_000,
  );
  expect(warned).toMatchObject({ level: 'warn', ledger: file });
  other.exec('ROLLBACK');
  other.close();
  const releasedAt = new Date();
  await daemon.waitFor((l) => l.msg === 'ledger lock released', 10_000);

  // Every second of the locked window is in the ledger (fired late or recorded as missed).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const reader = new Database(file, { readonly: true });
  const seconds = reader
    .prepare(
      'SELECT DISTINCT slot_at FROM slots WHERE schedule = ? AND slot_at > ? AND slot_at <= ?',
    )
    .all('every-second', lockedAt.toISOString(), releasedAt.toISOString()).length;
  reader.close();
  expect(seconds).toBeGreaterThanOrEqual(
    Math.floor((releasedAt.getTime() - lockedAt.getTime()) / 1000) - 1,
  );
  daemon.child.kill('SIGTERM');
  expect((await daemon.exited).code).toBe(0);
});
