/**
 * One tick against a real ledger (a SQLite file and a PostgreSQL database): a same-second burst is recorded in one transaction with
 * every row as the ledger reads it back, a mark another process moved first keeps its schedule's
 * rows out, and a tick with nothing due computes no fire time.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import { loadConfig } from '../../src/config.ts';
import { jitterOffsetMs } from '../../src/core/jitter.ts';
import type { Schedule, SlotRecord } from '../../src/core/model.ts';
import { planTick } from '../../src/core/plan.ts';
import { MINUTE, SECOND } from '../../src/core/time.ts';
import type { Runtime } from '../../src/daemon/runtime.ts';
import { FireCache, runTick, type TickState } from '../../src/daemon/tick.ts';
import { createApi, createRuntime } from '../../src/deps.ts';
import type { LedgerStore } from '../../src/ports.ts';
import { closeRaw, rawRows } from '../helpers/ledger-raw.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import {
  freshLocation,
  openStore,
  STORES,
  type StoreKind,
  type StoreLocation,
  usePostgres,
} from '../helpers/stores.ts';

usePostgres();

function schedule(name: string, fields: Partial<Schedule> = {}): Schedule {
  return {
    name,
    cron: '0 * * * *',
    after: null,
    timezone: 'UTC',
    project: 'acme/api',
    branches: ['main'],
    catchupMs: 0,
    overlap: 'allow',
    unchanged: 'build',
    jitterMs: 0,
    enabled: true,
    stale: null,
    source: { file: 'schedules/test.yaml', line: 1 },
    ...fields,
  };
}

let location: StoreLocation;
let ledger: LedgerStore;
let sim: TestSimulator;
let rt: Runtime;
const logs: Record<string, unknown>[] = [];
const start = new Date('2026-06-01T09:59:50Z');

async function setUp(store: StoreKind): Promise<void> {
  location = await freshLocation(store);
  ledger = await openStore(location);
  sim = await startTestSimulator();
  const config = loadConfig({
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    ...location.env,
  });
  logs.length = 0;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const clock = new ManualClock(start);
  rt = createRuntime({
    config,
    ledger,
    api: createApi(config, logger, clock),
    clock,
    logger,
    schedule: () => undefined,
  });
}

afterEach(async () => {
  await ledger.close();
  await closeRaw(location.target);
  await sim.close();
  location.cleanup();
});

async function tickState(schedules: Schedule[]): Promise<TickState> {
  return {
    schedules,
    marks: await ledger.marks(),
    watchingSince: new Map(schedules.map((s) => [s.name, start])),
    sweepsInFlight: new Set(),
    fireCache: new FireCache(),
  };
}

describe.each(STORES)('runTick against a real %s ledger', (store: StoreKind) => {
  beforeEach(() => setUp(store));

  it('records a same-second burst in one tick, each row as the ledger reads it back', async () => {
    // 600 schedules due at 10:00: a third jittered (each its own fire time), a third with two
    // branches, and disabled ones with a mark (their slot is recorded skipped, fire_at = slot).
    const schedules = Array.from({ length: 600 }, (_, i) => {
      const name = `s-${String(i).padStart(3, '0')}`;
      if (i % 3 === 0) return schedule(name, { jitterMs: 20 * SECOND });
      if (i % 3 === 1) return schedule(name, { branches: ['main', 'develop'] });
      return schedule(name, { enabled: i % 2 === 0 });
    });
    const state = await tickState(schedules);
    for (const s of schedules) if (!s.enabled) state.marks.set(s.name, start);
    const events: SlotRecord[] = [];
    rt.events.on('recorded', (slot) => events.push(slot));

    const now = new Date('2026-06-01T10:00:25Z');
    const result = await runTick(rt, state, now);

    const disabled = schedules.filter((s) => !s.enabled).length;
    const pending = schedules.filter((s) => s.enabled).reduce((n, s) => n + s.branches.length, 0);
    expect(result.recorded).toHaveLength(pending + disabled);
    expect(events).toEqual(result.recorded);
    for (const record of result.recorded) expect(await ledger.get(record.id)).toEqual(record);
    const slotAt = '2026-06-01T10:00:00.000Z';
    const byName = new Map(result.recorded.map((r) => [`${r.schedule} ${r.branch}`, r]));
    for (const s of schedules) {
      const row = byName.get(`${s.name} ${s.branches[0]}`);
      expect(row?.slotAt.toISOString()).toBe(slotAt);
      const fireAtMs = Date.parse(slotAt) + (s.enabled ? jitterOffsetMs(s.name, s.jitterMs) : 0);
      expect(row?.fireAt.getTime(), s.name).toBe(fireAtMs);
      expect(row?.state).toBe(s.enabled ? 'pending' : 'skipped');
      expect(row?.nextAttemptAt?.getTime() ?? null).toBe(s.enabled ? fireAtMs : null);
      expect(state.marks.get(s.name)?.toISOString()).toBe(slotAt);
    }
    // The texts as stored: jittered fire times differ row by row; created_at is the tick's now.
    const stored = await rawRows<Record<string, string | null>>(
      location.target,
      'SELECT schedule, slot_at, fire_at, next_attempt_at, created_at FROM slots',
    );
    expect(new Set(stored.map((r) => r.slot_at))).toEqual(new Set([slotAt]));
    expect(new Set(stored.map((r) => r.created_at))).toEqual(new Set([now.toISOString()]));
    expect(new Set(stored.map((r) => r.fire_at)).size).toBeGreaterThan(20);
    for (const r of stored)
      if (r.next_attempt_at !== null) expect(r.next_attempt_at).toBe(r.fire_at);
    expect(logs.filter((l) => l.msg === 'slot skipped')).toHaveLength(disabled);

    // The same instant again: everything is marked, nothing is recorded twice.
    expect((await runTick(rt, state, now)).recorded).toEqual([]);
  });

  it('records nothing for a schedule whose mark another process already moved', async () => {
    const schedules = [schedule('mine'), schedule('theirs')];
    const state = await tickState(schedules);
    // Another daemon on the same file planned 10:00 for `theirs` (and recorded its row).
    const slotAt = new Date('2026-06-01T10:00:00Z');
    const theirs = { schedule: 'theirs', slotAt, branch: 'main', project: 'acme/api' };
    await ledger.recordSlots(
      [{ ...theirs, fireAt: slotAt, state: 'pending' }],
      new Map([['theirs', slotAt]]),
      slotAt,
    );

    const result = await runTick(rt, state, new Date('2026-06-01T10:00:01Z'));
    expect(result.recorded.map((r) => r.schedule)).toEqual(['mine']);
    expect((await ledger.marks()).get('mine')?.toISOString()).toBe('2026-06-01T10:00:00.000Z');
  });

  it('computes no fire time in a tick with nothing due, and wakes when planning fresh would', async () => {
    const schedules = Array.from({ length: 50 }, (_, i) =>
      schedule(`s-${i}`, {
        cron: `${i % 60} ${i % 24} * * *`,
        timezone: i % 2 ? 'Asia/Tokyo' : 'Europe/Berlin',
        jitterMs: i % 5 === 0 ? 10 * MINUTE : 0,
      }),
    );
    const state = await tickState(schedules);
    await runTick(rt, state, start);
    const computed = state.fireCache.computedCount;
    for (let i = 1; i <= 5; i += 1) {
      const now = new Date(start.getTime() + i * 30 * SECOND);
      const result = await runTick(rt, state, now);
      expect(result.recorded).toEqual([]);
      const fresh = planTick({
        schedules,
        marks: state.marks,
        watchingSince: state.watchingSince,
        now,
      });
      expect(result.wakeAt).toEqual(fresh.wakeAt);
    }
    expect(state.fireCache.computedCount).toBe(computed);
  });
});
