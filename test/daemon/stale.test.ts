/**
 * Stale-branch rebuilds against the simulator with a seeded history: branches last built 1, 3, 30
 * and 90 days ago, names that match the globs and names that do not, and a busy branch whose
 * history fills more than one page. Proves which branches are triggered and which are skipped,
 * with which reason, that `max` is honoured oldest first, and what a sweep costs in API calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SeedBuild, SimulatorSeed } from '../../src/simulator/index.ts';
import { type Harness, ledgerRows, startHarness } from '../helpers/daemon-harness.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const NOW = '2026-06-10T02:59:30Z';
const DAY = 86_400_000;

function built(branch: string, daysAgo: number, extra: Partial<SeedBuild> = {}): SeedBuild {
  const queued = new Date(new Date(NOW).getTime() - daysAgo * DAY);
  return {
    branch,
    status: 'success',
    queuedAt: queued.toISOString(),
    finishedAt: new Date(queued.getTime() + 5 * 60_000).toISOString(),
    ...extra,
  };
}

function seed(): SimulatorSeed {
  const builds: SeedBuild[] = [
    built('release/1.0', 90),
    built('release/1.1', 30),
    built('release/2.0', 3),
    built('release/2.1', 1),
    built('release/0.9', 120, { status: 'error' }),
    built('hotfix/x', 200),
    built('feature/a/b', 40),
  ];
  // main is built every hour: 80 builds push the releases' history past the first page of 50.
  for (let hour = 1; hour <= 80; hour += 1) builds.push(built('main', hour / 24));
  return {
    users: [{ username: 'demo@example.com', password: 'demo-password', organizations: ['acme'] }],
    organizations: [
      {
        name: 'acme',
        projects: [
          { name: 'acme/api', type: 'pro', builds },
          { name: 'acme/web', type: 'basic', builds: [] },
        ],
      },
    ],
  };
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const rowsOf = async (h: Harness, schedule: string) =>
  (await ledgerRows(h, schedule)).map(
    (r) => `${r.branch}: ${r.state}${r.reason ? ` ${r.reason}` : ''}`,
  );

describe.each(STORES)(
  'stale-branch sweeps on the %s ledger',
  { timeout: 60_000 },
  (store: StoreKind) => {
    it('triggers branches whose newest build is older than older_than, oldest first, at most max', async () => {
      harness = await startHarness({
        store,
        start: NOW,
        simulator: { seed: seed(), buildDurationMs: 60_000 },
        files: {
          'stale.yaml': `schedules:
  - name: stale-releases
    cron: "0 3 * * *"
    project: acme/api
    branches: ["release/*", "feature/**", never-built]
    stale: { older_than: 7d, max: 3 }
`,
        },
      });
      const h = harness;
      const before = h.sim.requests().length;
      await h.advanceUntil(() => h.logs.some((l) => l.msg === 'sweep resolved'), {
        what: 'the sweep',
      });
      const sweep = h.logs.find((l) => l.msg === 'sweep resolved');
      await h.advanceUntil(
        async () => (await ledgerRows(h, 'stale-releases')).every((r) => r.state !== 'pending'),
        {
          what: 'the triggers',
        },
      );
      expect((await rowsOf(h, 'stale-releases')).sort()).toEqual([
        'feature/a/b: skipped max (stale, last built 40d ago; at most 3 per slot)',
        'never-built: triggered stale (never built)',
        'release/0.9: triggered stale (last built 120d ago)',
        'release/1.0: triggered stale (last built 90d ago)',
        'release/1.1: skipped max (stale, last built 30d ago; at most 3 per slot)',
        'release/2.0: skipped fresh (last built 3d ago)',
        'release/2.1: skipped fresh (last built 1d ago)',
      ]);
      // Oldest first (never built, then 120d, 90d); the hotfix branch and main match no pattern.
      // Reading the history cost two pages (87 builds), one project list and one auth.
      expect(sweep).toMatchObject({ considered: 7, triggered: 3, apiCalls: 2 });
      const calls = h.sim.requests().slice(before);
      const lists = calls.filter((r) => r.method === 'GET' && r.path.endsWith('/builds'));
      expect(lists.length).toBeGreaterThanOrEqual(2);
      const creates = calls.filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
      expect(creates.map((r) => (r.body as { ref: string }).ref).sort()).toEqual([
        'heads/never-built',
        'heads/release/0.9',
        'heads/release/1.0',
      ]);
    });

    it('reads only the new builds on the next sweep, and sees its own rebuilds as fresh', async () => {
      harness = await startHarness({
        store,
        start: NOW,
        simulator: { seed: seed(), buildDurationMs: 60_000 },
        files: {
          'stale.yaml': `schedules:
  - name: hourly-sweep
    cron: "0 * * * *"
    project: acme/api
    branches: ["release/*"]
    stale: { older_than: 7d, max: 10 }
`,
        },
      });
      const h = harness;
      await h.advanceUntil(() => h.logs.filter((l) => l.msg === 'sweep resolved').length === 1, {
        what: 'first sweep',
      });
      await h.advanceUntil(() => h.logs.filter((l) => l.msg === 'sweep resolved').length === 2, {
        what: 'second sweep',
        stepMs: 10_000,
        maxMs: 2 * 3600_000,
      });
      const [first, second] = h.logs.filter((l) => l.msg === 'sweep resolved');
      expect(first).toMatchObject({ triggered: 3, apiCalls: 2 });
      // One page reaches builds seen before; the three rebuilds made the branches fresh.
      expect(second).toMatchObject({ triggered: 0, apiCalls: 1 });
      const secondSlot = String(second?.slot);
      const rows = (await ledgerRows(h, 'hourly-sweep')).filter((r) => r.slot_at === secondSlot);
      expect(rows.map((r) => `${r.branch}: ${r.state} ${r.reason}`).sort()).toEqual([
        'release/0.9: skipped fresh (last built 1h ago)',
        'release/1.0: skipped fresh (last built 1h ago)',
        'release/1.1: skipped fresh (last built 1h ago)',
        'release/2.0: skipped fresh (last built 3d ago)',
        'release/2.1: skipped fresh (last built 1d ago)',
      ]);
    });

    it('records a no-match row when a glob matches no branch of the history', async () => {
      harness = await startHarness({
        store,
        start: NOW,
        simulator: { seed: seed() },
        files: {
          'web.yaml': `schedules:
  - name: web-releases
    cron: "0 3 * * *"
    project: acme/web
    branches: ["release/*"]
`,
        },
      });
      const h = harness;
      await h.advanceUntil(async () => (await ledgerRows(h, 'web-releases')).length > 0, {
        what: 'the sweep row',
      });
      expect(await rowsOf(h, 'web-releases')).toEqual([
        'release/*: skipped no-match (no branch in the build history matches release/*)',
      ]);
    });
  },
);
