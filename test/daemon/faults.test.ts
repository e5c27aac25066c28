/**
 * The exactly-once promise under API faults: 5xx answers, timeouts, rate-limit 403s, token expiry,
 * and creates that build although the caller saw an error. Each run fires every-minute schedules
 * on two projects for a while, then stops the fires and lets everything settle; the oracle checks
 * the ledger against every build the simulator really made. Other people push to the same
 * branches within 5 s of half the creates throughout: none of their builds may ever be claimed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Faults, SimulatorOptions } from '../../src/simulator/index.ts';
import { type Harness, settled, startHarness } from '../helpers/daemon-harness.ts';
import { checkExactlyOnce, readLedgerAt } from '../helpers/ledger-oracle.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const START = '2026-06-01T10:00:30Z';
const SCHEDULES = [
  { name: 'api-main', cron: '* * * * *', project: 'acme/api', branches: ['main', 'develop'] },
  { name: 'web-main', cron: '* * * * *', project: 'acme/web', branches: ['main'] },
];

function yaml(enabled: boolean): string {
  const lines = ['schedules:'];
  for (const s of SCHEDULES) {
    lines.push(`  - name: ${s.name}`, `    cron: "${s.cron}"`, `    project: ${s.project}`);
    lines.push(`    branches: [${s.branches.join(', ')}]`, `    enabled: ${enabled}`);
  }
  return `${lines.join('\n')}\n`;
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Runs the schedules for `minutes` under the given simulator options, then settles and checks. */
async function runAndCheck(options: {
  store: StoreKind;
  minutes: number;
  simulator?: SimulatorOptions;
  faults?: Faults;
  requestTimeoutMs?: number;
  env?: Record<string, string>;
}) {
  harness = await startHarness({
    store: options.store,
    start: START,
    files: { 'fleet.yaml': yaml(true) },
    simulator: {
      buildDurationMs: 60_000,
      pushes: { rate: 0.5, spreadMs: 5000, seed: 7 },
      ...options.simulator,
    },
    requestTimeoutMs: options.requestTimeoutMs,
    env: options.env,
  });
  const h = harness;
  if (options.faults) h.sim.setFaults(options.faults);
  await h.advance(options.minutes * 60_000);
  const until = h.clock.now();
  h.writeFile('fleet.yaml', yaml(false));
  h.reload();
  // Faults off for the tail, so every open slot can reach its end within the test.
  await h.advance(5_000);
  h.sim.setFaults({});
  await h.advanceUntil(() => settled(h), { what: 'every slot settled', maxMs: 20 * 60_000 });
  const read = await readLedgerAt(h.ledgerPath);
  // Slots after `until` are the disabled tail this test wrote on purpose.
  const snapshot = { ...read, slots: read.slots.filter((s) => s.reason !== 'disabled') };
  const builds = h.sim.builds().filter((b) => b.queuedAt >= START.replace('Z', ''));
  expect(builds.filter((b) => b.pusher).length).toBeGreaterThan(0);
  const problems = checkExactlyOnce({
    snapshot,
    builds,
    schedules: SCHEDULES,
    from: new Date(START),
    until,
    latestAllowed: new Date(until.getTime() + 60_000),
  });
  if (problems.length)
    console.log(
      snapshot.slots.map(
        (x) =>
          `${x.id} ${x.schedule} ${x.slot_at} ${x.branch} ${x.state} ${x.reason} ${x.attempts} ${x.build_uuid}`,
      ),
      snapshot.attempts,
      builds.map((b) => `${b.uuid} ${b.branch} ${b.queuedAt}`),
    );
  expect(problems).toEqual([]);
  return { h, snapshot, builds };
}

describe.each(STORES)('on the %s ledger', (store: StoreKind) => {
  describe('exactly-once under API faults', { timeout: 180_000 }, () => {
    it('5xx answers: reads are retried, creates never blindly re-sent, nothing lost or doubled', async () => {
      const { snapshot, h } = await runAndCheck({
        store,
        minutes: 6,
        faults: { errorRate: 0.3, seed: 11 },
      });
      const faulted = h.sim
        .requests()
        .filter((r) => r.fault === 'error' && r.method === 'POST' && r.path.endsWith('/builds'));
      expect(faulted.length).toBeGreaterThan(0);
      // A create that got a 500 was looked for first and re-sent once, both attempts recorded.

      expect(snapshot.slots.some((s) => s.attempts === 2 && s.state === 'finished')).toBe(true);
    });

    it('timeouts: a create whose answer never came is discovered or re-sent once, never twice', async () => {
      const { h } = await runAndCheck({
        store,
        minutes: 5,
        faults: { timeoutRate: 0.25, seed: 5 },
        requestTimeoutMs: 150,
      });
      expect(h.sim.requests().some((r) => r.fault === 'timeout')).toBe(true);
    });

    it('creates that build although the caller saw an error are discovered, not re-sent', async () => {
      const { snapshot, builds, h } = await runAndCheck({
        store,
        minutes: 6,
        faults: { ghostCreateRate: 0.5, only: ['POST /builds'], seed: 3 },
        requestTimeoutMs: 300,
      });
      const ghosts = builds.filter((b) => b.ghost);
      expect(ghosts.length).toBeGreaterThan(2);
      const claimedGhosts = snapshot.slots.filter((s) =>
        ghosts.some((g) => g.uuid === s.build_uuid),
      );
      expect(claimedGhosts).toHaveLength(ghosts.length);
      // Each of them was claimed on its first attempt: the build was found, so nothing was re-sent.
      expect(claimedGhosts.every((s) => s.attempts === 1)).toBe(true);
      expect(h.logs.some((l) => l.msg === 'trigger outcome not confirmed')).toBe(true);
    });

    it('rate-limit 403s pause every call until the window resets; nothing is dropped', async () => {
      const { h } = await runAndCheck({
        store,
        minutes: 4,
        simulator: { rateLimit: { requests: 3, windowMs: 60_000 } },
      });
      const limited = h.sim.requests().filter((r) => r.status === 403);
      expect(limited.length).toBeGreaterThan(0);
      expect(h.logs.some((l) => String(l.msg).includes('rate limit'))).toBe(true);
    });

    it('tokens that expire mid-run are renewed; no call fails for it', async () => {
      const { h } = await runAndCheck({ store, minutes: 6, simulator: { tokenTtlSeconds: 100 } });
      const auths = h.sim.requests().filter((r) => r.path === '/v2/auth');
      expect(auths.length).toBeGreaterThanOrEqual(3);
    });
  });
});
