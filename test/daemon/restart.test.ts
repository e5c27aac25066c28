/**
 * Restarts, downtime and clock jumps: pending work is resumed, missed slots inside `catchup` are
 * coalesced into one fire (the latest) and the rest recorded `skipped: missed`, a schedule that
 * never fired gets no catch-up, a clock jumping back fires nothing twice, and two daemons on one
 * ledger never fire a slot twice.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, ledgerRows, startHarness } from '../helpers/daemon-harness.ts';
import { closeRaw, rawWrite } from '../helpers/ledger-raw.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const harnesses: Harness[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop({ keepFiles: true }).catch(() => {});
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const schedule = (catchup: string) => `schedules:
  - name: ten-minutes
    cron: "*/10 * * * *"
    project: acme/api
    branch: main
    catchup: ${catchup}
`;

const summary = async (h: Harness) =>
  (await ledgerRows(h, 'ten-minutes')).map(
    (r) => `${String(r.slot_at).slice(11, 16)} ${r.state}${r.reason ? ` ${r.reason}` : ''}`,
  );

async function start(options: Parameters<typeof startHarness>[0]) {
  const h = await startHarness(options);
  harnesses.push(h);
  dirs.push(h.dir);
  return h;
}

async function stop(h: Harness) {
  harnesses.splice(harnesses.indexOf(h), 1);
  await h.stop({ closeSimulator: false, keepFiles: true });
}

/**
 * Builds the 10:10 slot of `schedule(catchup)`, stops, and starts again on the same ledger and
 * simulator with the clock at `downUntil`.
 */
async function restartAt(store: StoreKind, catchup: string, downUntil: string) {
  const clock = new ManualClock('2026-06-01T10:05:00Z');
  const first = await start({
    store,
    start: '',
    clock,
    files: { 'a.yaml': schedule(catchup) },
    simulator: { buildDurationMs: 30_000 },
  });
  await first.advanceUntil(
    async () => (await summary(first)).some((r) => r.startsWith('10:10 finished')),
    { what: '10:10 built' },
  );
  await stop(first);
  await clock.set(downUntil);
  return start({
    store,
    start: '',
    clock,
    sim: first.sim,
    ledgerPath: first.ledgerPath,
    files: { 'a.yaml': schedule(catchup) },
  });
}

describe.each(STORES)('on the %s ledger', (store: StoreKind) => {
  describe('restart and catch-up', { timeout: 60_000 }, () => {
    it('coalesces missed slots inside the catch-up window into one fire, the latest', async () => {
      const second = await restartAt(store, '1h', '2026-06-01T10:45:00Z'); // down 10:11-10:45
      await second.advanceUntil(
        async () => (await summary(second)).some((r) => r.startsWith('10:40 finished')),
        {
          what: 'catch-up built',
        },
      );
      expect(await summary(second)).toEqual([
        '10:10 finished',
        '10:20 skipped missed',
        '10:30 skipped missed',
        '10:40 finished catch-up',
      ]);
      await second.sim.close();
    });

    it('records every missed slot and fires none when the newest is outside the window', async () => {
      const second = await restartAt(store, '5m', '2026-06-01T11:27:00Z');
      await second.advance(2000);
      expect(await summary(second)).toEqual([
        '10:10 finished',
        '10:20 skipped missed',
        '10:30 skipped missed',
        '10:40 skipped missed',
        '10:50 skipped missed',
        '11:00 skipped missed',
        '11:10 skipped missed',
        '11:20 skipped missed',
      ]);
      await second.sim.close();
    });

    it('records a slot recorded but never sent before a long downtime as missed, not built hours late', async () => {
      const clock = new ManualClock('2026-06-01T10:05:00Z');
      const first = await start({
        store,
        start: '',
        clock,
        files: { 'a.yaml': schedule('0') },
        simulator: { buildDurationMs: 30_000 },
      });
      await first.advanceUntil(
        async () => (await summary(first)).some((r) => r.startsWith('10:10 finished')),
        { what: '10:10 built' },
      );
      await stop(first);
      // The process died right after the tick recorded 10:20, before its create left.
      const at = '2026-06-01T10:20:00.000Z';
      await rawWrite(
        first.ledgerPath,
        `INSERT INTO slots (schedule, slot_at, branch, manual, project, state, fire_at, next_attempt_at, attempts, created_at, updated_at)
         VALUES ('ten-minutes', ?, 'main', 0, 'acme/api', 'pending', ?, ?, 0, ?, ?)`,
        at,
        at,
        at,
        at,
        at,
      );
      await rawWrite(
        first.ledgerPath,
        "UPDATE marks SET slot_at = ? WHERE schedule = 'ten-minutes'",
        at,
      );
      await closeRaw(first.ledgerPath);
      await clock.set('2026-06-01T13:35:00Z'); // down three hours; catchup: 0
      const second = await start({
        store,
        start: '',
        clock,
        sim: first.sim,
        ledgerPath: first.ledgerPath,
        files: { 'a.yaml': schedule('0') },
      });
      await second.advance(60_000, 5_000);
      const creates = first.sim
        .requests()
        .filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
      expect(creates).toHaveLength(1);
      const rows = await summary(second);
      expect(rows.slice(0, 3)).toEqual([
        '10:10 finished',
        '10:20 skipped missed',
        '10:30 skipped missed',
      ]);
    });

    it('gives a schedule that never fired no catch-up', async () => {
      const h = await start({
        store,
        start: '2026-06-01T10:35:00Z',
        files: { 'a.yaml': schedule('1h') },
      });
      await h.advance(2000);
      expect(await summary(h)).toEqual([]);
      await h.advanceUntil(async () => (await summary(h)).length > 0, {
        what: 'the next slot',
        stepMs: 10_000,
      });
      expect((await summary(h))[0]).toMatch(/^10:40 /);
    });

    it('fires nothing twice when the wall clock jumps back, and resumes once it passes the mark', async () => {
      const h = await start({
        store,
        start: '2026-06-01T10:05:00Z',
        files: { 'a.yaml': schedule('1h') },
        simulator: { buildDurationMs: 30_000 },
      });
      await h.advanceUntil(async () => (await summary(h)).length === 2, {
        what: 'two slots',
        stepMs: 10_000,
      });
      await h.clock.set('2026-06-01T10:01:00Z'); // back 20 minutes
      await h.advance(25 * 60_000, 10_000); // to 10:26: the 10:10 and 10:20 slots come round again
      expect((await summary(h)).map((r) => r.slice(0, 5))).toEqual(['10:10', '10:20']);
      await h.advanceUntil(async () => (await summary(h)).length === 3, {
        what: 'the 10:30 slot',
        stepMs: 10_000,
      });
      expect((await summary(h)).map((r) => r.slice(0, 5))).toEqual(['10:10', '10:20', '10:30']);
      const creates = () =>
        h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
      // The 10:30 slot is recorded before its create leaves: wait for the create, then for more.
      await h.advanceUntil(() => creates().length >= 3, { what: 'the 10:30 create', stepMs: 1000 });
      await h.advance(30_000);
      expect(creates()).toHaveLength(3);
    });

    it('follows a build sent right before our clock steps back 30 minutes at once, not 30 minutes later', async () => {
      // Codeship's clock does not step with ours: the simulator keeps counting on.
      let serverAheadMs = 0;
      const clock = new ManualClock('2026-06-01T10:05:00Z');
      const h = await start({
        store,
        start: '',
        clock,
        files: { 'a.yaml': schedule('1h') },
        simulator: {
          buildDurationMs: 60_000,
          now: () => clock.now().getTime() + serverAheadMs,
        },
      });
      await h.advanceUntil(async () => (await summary(h)).includes('10:20 triggered'), {
        what: 'the 10:20 create accepted',
        stepMs: 1000,
      });
      serverAheadMs = 30 * 60_000;
      await clock.step('2026-06-01T09:50:00Z');
      await h.advance(3 * 60_000, 5_000);
      expect(await summary(h)).toEqual(['10:10 finished', '10:20 finished']);
    });

    it('handles a clock jump forward like downtime: one catch-up fire, the rest missed', async () => {
      const h = await start({
        store,
        start: '2026-06-01T10:05:00Z',
        files: { 'a.yaml': schedule('1h') },
        simulator: { buildDurationMs: 30_000 },
      });
      await h.advanceUntil(async () => (await summary(h)).length === 1, {
        what: 'first slot',
        stepMs: 10_000,
      });
      await h.clock.set('2026-06-01T10:52:00Z');
      await h.advanceUntil(async () => (await summary(h)).length === 5, {
        what: 'the jump handled',
      });
      expect(
        (await summary(h)).map((r) => r.replace(/ (finished|triggered|running|pending)/, ' fired')),
      ).toEqual([
        '10:10 fired',
        '10:20 skipped missed',
        '10:30 skipped missed',
        '10:40 skipped missed',
        '10:50 fired catch-up',
      ]);
    });

    it('lets two daemons share one ledger without firing a slot twice', async () => {
      const clock = new ManualClock('2026-06-01T10:05:00Z');
      const a = await start({
        store,
        start: '',
        clock,
        files: { 'a.yaml': schedule('1h') },
        simulator: { buildDurationMs: 30_000 },
      });
      const b = await start({
        store,
        start: '',
        clock,
        sim: a.sim,
        ledgerPath: a.ledgerPath,
        files: { 'a.yaml': schedule('1h') },
      });
      await a.advance(36 * 60_000, 5_000);
      await a.advanceUntil(async () => (await summary(a)).every((r) => r.includes('finished')), {
        what: 'all built',
      });
      expect((await summary(a)).map((r) => r.slice(0, 14))).toEqual([
        '10:10 finished',
        '10:20 finished',
        '10:30 finished',
        '10:40 finished',
      ]);
      const creates = a.sim
        .requests()
        .filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
      expect(creates).toHaveLength(4);
      await stop(b);
    });
  });

  describe('a ledger meeting another Codeship (the demo run again)', { timeout: 60_000 }, () => {
    it('fails a followed build that no longer exists, and keeps building the rest', async () => {
      const clock = new ManualClock('2026-06-01T10:05:00Z');
      const files = { 'a.yaml': schedule('0') };
      const first = await start({
        store,
        start: '',
        clock,
        files,
        simulator: { buildDurationMs: 5 * 60_000 },
      });
      await first.advanceUntil(
        async () => (await summary(first)).some((r) => r.startsWith('10:10 running')),
        {
          what: '10:10 running',
        },
      );
      // Stopped mid-build; the next run meets a fresh simulator that never saw that build.
      await first.stop({ keepFiles: true });
      harnesses.splice(harnesses.indexOf(first), 1);
      const second = await start({
        store,
        start: '',
        clock,
        files,
        ledgerPath: first.ledgerPath,
        simulator: { buildDurationMs: 30_000 },
      });
      await second.advanceUntil(
        async () => (await summary(second)).some((r) => r.startsWith('10:20 finished')),
        {
          what: '10:20 built',
          maxMs: 60 * 60_000,
        },
      );
      const rows = await ledgerRows(second, 'ten-minutes');
      const lost = rows.find((r) => String(r.slot_at).startsWith('2026-06-01T10:10'));
      expect(lost?.state).toBe('failed');
      expect(lost?.reason).toBe(
        `build ${lost?.build_uuid} no longer exists in Codeship (HTTP 404)`,
      );
      expect(second.logs.some((l) => l.msg === 'reconciliation of a project failed')).toBe(false);
      // No build UUID is held by two slots: the new simulator's UUIDs are new.
      const uuids = rows.map((r) => r.build_uuid).filter((u) => u !== null);
      expect(new Set(uuids).size).toBe(uuids.length);
    });
  });
});
