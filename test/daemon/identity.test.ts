/**
 * Build identity through the daemon (README, "Build identity"): Codeship's clock runs 47 s ahead
 * of ours and other people push to the same branch seconds before or after our creates; every
 * claim in the ledger must be one of our builds, and every build we started must be claimed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSeed } from '../../src/simulator/index.ts';
import { type Harness, ledgerRows, settled, startHarness } from '../helpers/daemon-harness.ts';
import { checkExactlyOnce, readLedgerAt } from '../helpers/ledger-oracle.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const START = '2026-06-01T10:00:30Z';
const SERVER_AHEAD_MS = 47_000;
const SCHEDULES = [
  { name: 'busy-develop', cron: '* * * * *', project: 'acme/api', branches: ['develop', 'main'] },
];
const yaml = (enabled: boolean) => `schedules:
  - name: busy-develop
    cron: "* * * * *"
    project: acme/api
    branches: [develop, main]
    enabled: ${enabled}
`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

describe.each(STORES)('on the %s ledger', (store: StoreKind) => {
  describe('build identity', { timeout: 120_000 }, () => {
    it("claims only our own builds with the server's clock 47 s ahead and pushes around every create", async () => {
      harness = await startHarness({
        store,
        start: START,
        files: { 'busy.yaml': yaml(true) },
        simulator: {
          buildDurationMs: 30_000,
          clockOffsetMs: SERVER_AHEAD_MS,
          pushes: { rate: 1, spreadMs: 3000, seed: 47 },
        },
      });
      const h = harness;
      await h.advance(8 * 60_000);
      const until = h.clock.now();
      h.writeFile('busy.yaml', yaml(false));
      h.reload();
      await h.advance(5_000);
      // Someone pushes right now too, by the admin endpoint, on a branch we build.
      h.sim.push('acme/api', 'develop');
      await h.advanceUntil(() => settled(h), {
        what: 'every slot settled',
        maxMs: 10 * 60_000,
      });

      const read = await readLedgerAt(h.ledgerPath);
      const snapshot = { ...read, slots: read.slots.filter((s) => s.reason !== 'disabled') };
      const builds = h.sim
        .builds()
        .filter((b) => Date.parse(b.queuedAt) >= Date.parse(START) + SERVER_AHEAD_MS - 5000);
      const pushes = builds.filter((b) => b.pusher);
      expect(pushes.length).toBeGreaterThanOrEqual(16);
      const problems = checkExactlyOnce({
        snapshot,
        builds,
        schedules: SCHEDULES,
        from: new Date(START),
        until,
        latestAllowed: new Date(until.getTime() + 60_000),
        serverOffsetMs: SERVER_AHEAD_MS,
      });
      expect(problems).toEqual([]);
      const rows = (await ledgerRows(h)).filter((r) => r.state === 'finished');
      expect(rows.length).toBe(16);
      const ours = new Map(builds.filter((b) => !b.pusher).map((b) => [b.uuid, b]));
      for (const row of rows) {
        const build = ours.get(row.build_uuid as string);
        expect(
          build,
          `slot ${row.slot_at} ${row.branch} claimed a build we did not start`,
        ).toBeDefined();
        // The ledger keeps the claimed build's commit and how the claim was made.
        expect(row.commit_sha).toBe(build?.commitSha);
        expect(row.claim).toMatch(/^(exact|nearest of \d+)$/);
      }
    });

    it('learns the display name Codeship shows for our builds; the login in the history excludes none', async () => {
      // The history has builds by `demo` (a person pushing under the API user's login); builds
      // started through the API show "Demo Bot". Names must not exclude our own builds (before,
      // none was ever claimed: each slot failed after 10 minutes), and once two claims showed
      // "Demo Bot", a push under another name is no candidate.
      const seed = defaultSeed(Date.parse(START) + SERVER_AHEAD_MS);
      seed.users = seed.users.map((user) => ({ ...user, displayName: 'Demo Bot' }));
      harness = await startHarness({
        store,
        start: START,
        files: { 'busy.yaml': yaml(true) },
        simulator: {
          seed,
          buildDurationMs: 30_000,
          clockOffsetMs: SERVER_AHEAD_MS,
          pushes: { rate: 0.5, spreadMs: 3000, seed: 2 },
        },
      });
      const h = harness;
      expect(h.sim.builds().some((b) => b.username === 'demo')).toBe(true);
      await h.advance(6 * 60_000);
      h.writeFile('busy.yaml', yaml(false));
      h.reload();
      await h.advanceUntil(() => settled(h), { what: 'every slot settled', maxMs: 15 * 60_000 });
      expect(h.rt.match.learnedNames.get('demo bot')).toBeGreaterThanOrEqual(2);
      const ours = new Set(
        h.sim
          .builds()
          .filter((b) => !b.pusher && b.username === 'Demo Bot')
          .map((b) => b.uuid),
      );
      const rows = (await ledgerRows(h)).filter((r) => r.reason !== 'disabled');
      expect(rows.length).toBe(12);
      // Every slot built once: claimed, never failed, never sent twice.
      for (const row of rows) expect(row).toMatchObject({ state: 'finished', attempts: 1 });
      // From the second minute on, with the name learned, every claim is one of our builds.
      const later = rows.filter((r) => String(r.slot_at) >= '2026-06-01T10:03:00.000Z');
      expect(later.length).toBe(8);
      for (const row of later)
        expect(ours.has(String(row.build_uuid)), String(row.slot_at)).toBe(true);
    });
  });
});
