/**
 * `unchanged: skip` through the daemon and the simulator (README, "Schedules"): a head commit is
 * built once; later slots say why they were skipped; a push by someone else makes the next slot
 * build again, and so does a failed build.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RemoteBuild } from '../../src/core/model.ts';
import { unchangedReason } from '../../src/core/unchanged.ts';
import { type Harness, ledgerRows, startHarness } from '../helpers/daemon-harness.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const yaml = `schedules:
  - name: quiet-main
    cron: "*/10 * * * *"
    project: acme/api
    branch: main
    unchanged: skip
  - name: flaky
    cron: "*/10 * * * *"
    project: acme/api
    branch: fail-nightly
    unchanged: skip
`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const summary = async (h: Harness, schedule: string) =>
  (await ledgerRows(h, schedule)).map(
    (r) =>
      `${String(r.slot_at).slice(11, 16)} ${r.state}${r.build_status ? `: ${r.build_status}` : ''}${r.reason ? ` (${r.reason})` : ''}`,
  );

describe.each(STORES)(
  'unchanged: skip on the %s ledger',
  { timeout: 60_000 },
  (store: StoreKind) => {
    it('builds each head once, skips while it stays, builds after a push and after a failure', async () => {
      harness = await startHarness({
        store,
        start: '2026-06-01T10:05:00Z',
        files: { 'a.yaml': yaml },
        simulator: { buildDurationMs: 60_000 },
      });
      const h = harness;
      await h.advanceUntil(
        async () =>
          (await summary(h, 'quiet-main')).length >= 2 && (await summary(h, 'flaky')).length >= 2,
        {
          what: 'two slots each',
        },
      );
      await h.advance(2 * 60_000);
      // Someone pushes to main at 10:25: a new head commit, and its build.
      await h.clock.set('2026-06-01T10:25:00Z');
      const pushed = h.sim.push('acme/api', 'main');
      await h.advanceUntil(async () => (await summary(h, 'quiet-main')).length >= 4, {
        what: 'four slots',
      });
      await h.advance(2 * 60_000);
      const main = await summary(h, 'quiet-main');
      const first = (await ledgerRows(h, 'quiet-main'))[0]!;
      const head = String(first.commit_sha).slice(0, 7);
      expect(main).toEqual([
        '10:10 finished: success',
        `10:20 skipped (unchanged (${head} built 2026-06-01 10:11Z))`,
        '10:30 finished: success',
        `10:40 skipped (unchanged (${pushed.commitSha.slice(0, 7)} built 2026-06-01 10:31Z))`,
      ]);
      // A failed build never counts: the same head is built again.
      expect((await summary(h, 'flaky')).slice(0, 3)).toEqual([
        '10:10 finished: error',
        '10:20 finished: error',
        '10:30 finished: error',
      ]);
    });

    it('skips while its build of the head is still running', async () => {
      harness = await startHarness({
        store,
        start: '2026-06-01T10:05:00Z',
        files: { 'a.yaml': yaml.split('  - name: flaky')[0] as string },
        simulator: { buildDurationMs: 15 * 60_000 },
      });
      const h = harness;
      await h.advanceUntil(async () => (await summary(h, 'quiet-main')).length >= 2, {
        what: 'two slots',
      });
      await h.advance(60_000);
      const head = String((await ledgerRows(h, 'quiet-main'))[0]!.commit_sha).slice(0, 7);
      expect((await summary(h, 'quiet-main'))[1]).toBe(
        `10:20 skipped (unchanged (${head} building since 2026-06-01 10:10Z))`,
      );
    });
  },
);

describe('unchangedReason', () => {
  const build = (fields: Partial<RemoteBuild>): RemoteBuild => ({
    uuid: 'u',
    projectUuid: 'p',
    projectId: 1,
    organizationUuid: 'o',
    ref: 'heads/main',
    branch: 'main',
    commitSha: 'a1b2c3d4e5'.padEnd(40, '0'),
    commitMessage: '',
    username: 'bot',
    status: 'success',
    queuedAt: new Date('2026-06-14T02:00:00Z'),
    allocatedAt: null,
    finishedAt: new Date('2026-06-14T02:09:30Z'),
    links: {},
    ...fields,
  });
  it.each<[string, RemoteBuild | null, RemoteBuild | null, string | null]>([
    ['no head: build', null, build({}), null],
    ['never built by us: build', build({}), null, null],
    [
      'our success on the head: skip',
      build({}),
      build({}),
      'unchanged (a1b2c3d built 2026-06-14 02:09Z)',
    ],
    [
      'our build of the head still running: skip',
      build({}),
      build({ status: 'testing', finishedAt: null }),
      'unchanged (a1b2c3d building since 2026-06-14 02:00Z)',
    ],
    ['our build of the head failed: build', build({}), build({ status: 'error' }), null],
    ['a newer commit: build', build({ commitSha: 'f'.repeat(40) }), build({}), null],
  ])('%s', (_title, head, last, reason) => {
    expect(unchangedReason(head, last)).toBe(reason);
  });
});
