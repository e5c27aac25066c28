/**
 * The same burst with node-cron 4 (the design card's package): one task per schedule, the same
 * expressions and zones, all due at the same second T. Two callbacks:
 * - `noop`: records the callback time only (node-cron's best case);
 * - `ledger`: writes the slot's intent to a SQLite ledger on a real file, one transaction per fire,
 *   as a per-task design must (the same Ledger class and settings as the daemon).
 * Counts fires of slot T, fires node-cron reported missed, dropped = N - fires, and lateness
 * (callback done - T).
 * Usage: node dist-bench/bench/node-cron-burst.js --callback noop|ledger [--quick]
 */
import { join } from 'node:path';
import cron from 'node-cron';
import { openLedger } from '../src/adapters/ledger.ts';
import {
  argValue,
  emitResult,
  isQuick,
  note,
  pause,
  percentile,
  round,
  tempDir,
} from './common.ts';
import { burstExpressions, burstSchedules } from './fleet.ts';

async function main(): Promise<void> {
  const quick = isQuick();
  const callback = argValue('callback') === 'ledger' ? 'ledger' : 'noop';
  const slots = quick ? 1_000 : 10_000;
  const leadMs = quick ? 3_000 : 6_000;
  const dueAt = new Date(Math.ceil((Date.now() + leadMs) / 1000) * 1000);
  const dueMs = dueAt.getTime();
  const schedules = burstSchedules(slots, quick ? 50 : 500, burstExpressions(dueAt, new Date()));
  const dir = tempDir('node-cron');
  const ledger = callback === 'ledger' ? openLedger(join(dir.path, 'ledger.sqlite')) : null;
  const latenessMs: number[] = [];
  let missed = 0;
  let otherFires = 0;
  let lastEventMs = Date.now();
  let disagree = 0;
  const tasks = schedules.map((s) => {
    const task = cron.schedule(
      s.cron,
      (context) => {
        if (context.date.getTime() !== dueMs) {
          otherFires += 1;
          return;
        }
        ledger?.recordSlots(
          [
            {
              schedule: s.name,
              slotAt: dueAt,
              branch: s.branch,
              project: s.project,
              fireAt: dueAt,
              state: 'pending',
            },
          ],
          new Map([[s.name, dueAt]]),
          new Date(),
        );
        latenessMs.push(Date.now() - dueMs);
        lastEventMs = Date.now();
      },
      { timezone: s.timezone, name: s.name },
    );
    task.on('execution:missed', () => {
      missed += 1;
      lastEventMs = Date.now();
    });
    if (task.getNextRun()?.getTime() !== dueMs) disagree += 1;
    return task;
  });
  const readyBeforeDueMs = dueMs - Date.now();
  // Wait past T until every task has fired or reported a miss, and 2 s have passed quietly.
  await pause(Math.max(0, dueMs - Date.now()) + 1_000);
  const giveUpAt = Date.now() + 120_000;
  while (latenessMs.length + missed < slots && Date.now() < giveUpAt) await pause(200);
  while (Date.now() - lastEventMs < 2_000 && Date.now() < giveUpAt) await pause(200);
  for (const task of tasks) await task.destroy();
  ledger?.close();
  dir.remove();
  const figures = {
    callback,
    slots,
    scheduledForDue: slots - disagree,
    fired: latenessMs.length,
    missedReported: missed,
    dropped: slots - latenessMs.length,
    otherFires,
    readyBeforeDueMs,
    latenessP50Ms: latenessMs.length ? percentile(latenessMs, 50) : null,
    latenessP99Ms: latenessMs.length ? percentile(latenessMs, 99) : null,
    latenessMaxMs: latenessMs.length ? Math.max(...latenessMs) : null,
    firedPercent: round((latenessMs.length / slots) * 100, 1),
  };
  note(`node-cron ${callback}`, JSON.stringify(figures));
  emitResult(figures);
  process.exit(0);
}

await main();
