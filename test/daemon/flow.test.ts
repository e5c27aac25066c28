import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, ledgerRows, settled, startHarness } from '../helpers/daemon-harness.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const NIGHTLY = `schedules:
  - name: every-minute-api
    cron: "* * * * *"
    project: acme/api
    branches: [main, develop]
  - name: every-two-minutes-web
    cron: "*/2 * * * *"
    project: acme/web
    branch: main
`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Builds the simulator created since `since`, on the given branches. */
function newBuilds(h: Harness, since: string) {
  return h.sim.builds().filter((b) => b.queuedAt >= since);
}

describe.each(STORES)('on the %s ledger', (store: StoreKind) => {
  describe('daemon flow against the simulator', { timeout: 120_000 }, () => {
    it('fires each slot once, discovers its build and follows it to the final status', async () => {
      harness = await startHarness({
        store,
        start: '2026-06-01T10:00:30Z',
        files: { 'a.yaml': NIGHTLY },
        simulator: { buildDurationMs: 90_000 },
      });
      const h = harness;
      // Slots 10:01, 10:02, 10:03 (api: 2 branches each), 10:02 (web).
      await h.advance(3 * 60_000);
      // Stop further fires (a reload with the schedules disabled), then let every build finish.
      h.writeFile('a.yaml', NIGHTLY.replaceAll('    project:', '    enabled: false\n    project:'));
      h.reload();
      await h.advanceUntil(() => settled(h), {
        what: 'every build finished',
        maxMs: 5 * 60_000,
      });
      const rows = (await ledgerRows(h)).filter((r) => r.state !== 'skipped');
      expect(
        rows
          .map((r) => `${r.slot_at} ${r.schedule} ${r.branch} ${r.state} ${r.build_status}`)
          .sort(),
      ).toEqual([
        '2026-06-01T10:01:00.000Z every-minute-api develop finished success',
        '2026-06-01T10:01:00.000Z every-minute-api main finished success',
        '2026-06-01T10:02:00.000Z every-minute-api develop finished success',
        '2026-06-01T10:02:00.000Z every-minute-api main finished success',
        '2026-06-01T10:02:00.000Z every-two-minutes-web main finished success',
        '2026-06-01T10:03:00.000Z every-minute-api develop finished success',
        '2026-06-01T10:03:00.000Z every-minute-api main finished success',
      ]);
      const builds = newBuilds(h, '2026-06-01T10:00:30');
      expect(builds).toHaveLength(7);
      // One build per slot, each claimed by exactly one slot, on the slot's branch.
      const claimed = new Map(rows.map((r) => [r.build_uuid, r]));
      for (const build of builds) expect(claimed.get(build.uuid)?.branch).toBe(build.branch);
      expect(new Set(rows.map((r) => r.build_uuid)).size).toBe(7);
      // The intent was on disk before the create: every triggered_at is at or after its created_at.
      for (const row of rows) expect(String(row.triggered_at) >= String(row.created_at)).toBe(true);
      // Logs: one line per trigger and per outcome, with schedule, slot, branch and build UUID.
      const triggered = h.logs.filter((l) => l.msg === 'build triggered');
      const finished = h.logs.filter((l) => l.msg === 'build finished');
      expect(triggered).toHaveLength(7);
      expect(finished).toHaveLength(7);
      expect(finished[0]).toMatchObject({
        schedule: expect.any(String),
        slot: expect.any(String),
        branch: expect.any(String),
        buildUuid: expect.any(String),
      });
    });

    it('maps two concurrent triggers of one branch to two builds in order', async () => {
      harness = await startHarness({
        store,
        start: '2026-06-01T10:00:50Z',
        files: {
          'a.yaml': `schedules:
  - { name: first, cron: "* * * * *", project: acme/api, branch: main }
  - { name: second, cron: "* * * * *", project: acme/api, branch: main }
`,
        },
        simulator: { buildDurationMs: 30_000 },
      });
      const h = harness;
      await h.advance(15_000);
      h.writeFile(
        'a.yaml',
        'schedules:\n  - { name: first, cron: "* * * * *", project: acme/api, branch: main, enabled: false }\n',
      );
      h.reload();
      await h.advanceUntil(() => settled(h), { what: 'both builds finished' });
      const rows = (await ledgerRows(h)).filter((r) => r.state !== 'skipped');
      expect(rows.map((r) => [r.schedule, r.state])).toEqual([
        ['first', 'finished'],
        ['second', 'finished'],
      ]);
      const builds = newBuilds(h, '2026-06-01T10:00:50');
      expect(builds).toHaveLength(2);
      // One build each, one-to-one (both were sent in the same instant: either mapping is right).
      expect(new Set(rows.map((r) => r.build_uuid))).toEqual(new Set(builds.map((b) => b.uuid)));
    });
  });
});
