/**
 * Overload (README, "Overload"): a schedule firing every second on two branches under the API's
 * 60 requests a minute asks for twice what can be sent. The backlog stays bounded (one unsent
 * slot per schedule and branch, plus the creates in flight), older unsent slots are recorded
 * `skipped: superseded (backlog)`, and no build is lost or doubled. On restart, the same rule
 * applies to the pending slots found; an attempt of unknown outcome is left to discovery.
 */
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { type Harness, ledgerRows, settled, startHarness } from '../helpers/daemon-harness.ts';
import { checkExactlyOnce, readLedgerAt } from '../helpers/ledger-oracle.ts';
import { rawRows } from '../helpers/ledger-raw.ts';
import {
  freshLocation,
  openStore,
  STORES,
  type StoreKind,
  usePostgres,
} from '../helpers/stores.ts';

usePostgres();

const START = '2026-06-01T10:00:00.500Z';
const SCHEDULE = {
  name: 'every-second',
  cron: '* * * * * *',
  project: 'acme/api',
  branches: ['main', 'develop'],
};

const yaml = (enabled: boolean) => `schedules:
  - name: ${SCHEDULE.name}
    cron: "${SCHEDULE.cron}"
    project: ${SCHEDULE.project}
    branches: [${SCHEDULE.branches.join(', ')}]
    catchup: 0
    enabled: ${enabled}
`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Pending slots not waiting on an unknown outcome and not being sent right now. */
async function unsent(h: Harness): Promise<number> {
  const pending = await rawRows<{ id: number }>(
    h.ledgerPath,
    "SELECT id FROM slots WHERE state = 'pending' AND outcome_unknown = 0",
  );
  return pending.filter((row) => !h.rt.sending.has(Number(row.id))).length;
}

describe.each(STORES)('overload on the %s ledger', { timeout: 120_000 }, (store: StoreKind) => {
  it('bounds the backlog of a schedule firing every second on two branches at 60 requests a minute', async () => {
    harness = await startHarness({
      store,
      start: START,
      files: { 'overload.yaml': yaml(true) },
      simulator: { buildDurationMs: 20_000, rateLimit: { requests: 60, windowMs: 60_000 } },
    });
    const h = harness;
    let maxUnsent = 0;
    for (let second = 0; second < 150; second += 1) {
      await h.advance(1000);
      maxUnsent = Math.max(maxUnsent, await unsent(h));
    }
    const until = h.clock.now();
    h.writeFile('overload.yaml', yaml(false));
    h.reload();
    await h.advanceUntil(() => settled(h), {
      what: 'every slot settled',
      maxMs: 20 * 60_000,
    });

    // One unsent slot per branch. On PostgreSQL a sample may fall between the tick's commit of a
    // branch's new slot and the backlog rule's commit superseding the older one (real I/O, not
    // the test's clock): then a branch briefly shows two.
    expect(maxUnsent).toBeLessThanOrEqual(store === 'postgres' ? 4 : 2);
    const rows = (await ledgerRows(h, SCHEDULE.name)).filter((r) => r.reason !== 'disabled');
    const superseded = rows.filter((r) => r.reason === 'superseded (backlog)');
    const built = rows.filter((r) => r.state === 'finished');
    expect(superseded.length).toBeGreaterThan(100);
    expect(built.length).toBeGreaterThan(50);
    for (const row of superseded) {
      expect(row).toMatchObject({ state: 'skipped', attempts: 0, build_uuid: null, manual: 0 });
    }
    // Every branch keeps firing: neither starves the other.
    for (const branch of SCHEDULE.branches) {
      expect(built.filter((r) => r.branch === branch).length).toBeGreaterThan(20);
    }
    const read = await readLedgerAt(h.ledgerPath);
    const snapshot = { ...read, slots: read.slots.filter((s) => s.reason !== 'disabled') };
    const problems = checkExactlyOnce({
      snapshot,
      builds: h.sim.builds().filter((b) => b.queuedAt >= START.slice(0, 19)),
      schedules: [SCHEDULE],
      from: new Date(START),
      until,
      latestAllowed: new Date(until.getTime() + 60_000),
    });
    expect(problems).toEqual([]);
    expect(
      h.logs.filter((l) => l.msg === "send backlog exceeds the next minute's API budget"),
    ).toEqual([]);
  });

  it('warns at most once a minute while the backlog outgrows a minute’s budget', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    harness = await startHarness({
      store,
      start: '2026-06-01T10:00:50Z',
      files: {
        'burst.yaml': `schedules:\n${names.map((n) => `  - { name: ${n}, cron: "* * * * *", project: acme/api, branch: main }`).join('\n')}\n`,
      },
      env: { CODESHIP_RATE_LIMIT: '5' },
      simulator: { buildDurationMs: 5_000 },
    });
    const h = harness;
    await h.advance(150_000, 2000);
    const warnings = h.logs.filter(
      (l) => l.msg === "send backlog exceeds the next minute's API budget",
    );
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect(warnings[0]).toMatchObject({ level: 'warn', budgetPerMinute: 5 });
    expect(warnings[0]?.backlog).toBeGreaterThan(5);
    // 150 s of simulated time with a backlog throughout: one warning a minute at most.
  });

  it('applies the rule to pending slots found at restart, leaving an unknown outcome to discovery', async () => {
    const at = (s: number) => new Date(Date.parse('2026-06-01T10:00:00Z') + s * 1000);
    const location = await freshLocation(store);
    onTestFinished(() => location.cleanup());
    const seed = await openStore(location);
    const slot = (s: number, branch: string, manual = false) => ({
      schedule: 'ten-seconds',
      slotAt: at(s),
      branch,
      project: 'acme/api',
      fireAt: at(s),
      state: 'pending' as const,
      manual,
    });
    const rows = await seed.recordSlots(
      [
        slot(0, 'main'),
        slot(10, 'main'),
        slot(20, 'main'),
        slot(0, 'develop'),
        slot(10, 'develop'),
        slot(5, 'main', true),
      ],
      new Map([['ten-seconds', at(20)]]),
      at(20),
    );
    // The develop slot's create went out and its answer was never recorded (the process died).
    const develop = rows.find((r) => r.branch === 'develop');
    expect(
      await seed.beginAttempt(develop?.id as number, 'unknown-uuid', 0, at(21)),
    ).not.toBeNull();
    await seed.close();

    harness = await startHarness({
      store,
      start: '2026-06-01T10:00:25Z',
      ledgerPath: location.target,
      files: {
        'ten.yaml': `schedules:\n  - { name: ten-seconds, cron: "*/10 * * * * *", project: acme/api, branches: [main, develop], catchup: 0 }\n`,
      },
    });
    const h = harness;
    await h.advance(2000);
    const state = (await ledgerRows(h, 'ten-seconds'))
      .filter((r) => Date.parse(`${String(r.slot_at)}`) <= Date.parse('2026-06-01T10:00:20Z'))
      .map(
        (r) =>
          `${String(r.slot_at).slice(17, 19)} ${r.branch}${r.manual ? ' manual' : ''} ${r.state}${r.reason === 'superseded (backlog)' ? ' superseded' : ''}`,
      );
    expect(state).toEqual([
      '00 main skipped superseded',
      '00 develop pending',
      '05 main manual triggered',
      '10 main skipped superseded',
      '10 develop triggered',
      '20 main triggered',
    ]);
  });
});
