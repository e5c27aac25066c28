import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, ledgerRows, settled, startHarness } from '../helpers/daemon-harness.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

function file(overlap: string, enabled = true) {
  return `schedules:
  - name: busy
    cron: "* * * * *"
    project: acme/api
    branch: main
    overlap: ${overlap}
    enabled: ${enabled}
`;
}

/** Runs an every-minute schedule whose builds take 90 s, for four slots, then settles. */
async function run(store: StoreKind, overlap: string) {
  harness = await startHarness({
    store,
    start: '2026-06-01T10:00:30Z',
    files: { 'busy.yaml': file(overlap) },
    simulator: { buildDurationMs: 90_000 },
  });
  const h = harness;
  await h.advance(4 * 60_000);
  h.writeFile('busy.yaml', file(overlap, false));
  h.reload();
  await h.advanceUntil(() => settled(h), { what: 'settled', maxMs: 20 * 60_000 });
  return {
    h,
    rows: (await ledgerRows(h, 'busy')).filter((r) => r.reason !== 'disabled'),
  };
}

describe.each(STORES)('overlap on the %s ledger', { timeout: 120_000 }, (store: StoreKind) => {
  it('skip: a slot is skipped while the previous build of its branch still runs', async () => {
    const { rows } = await run(store, 'skip');
    expect(
      rows.map(
        (r) => `${String(r.slot_at).slice(11, 16)} ${r.state} ${r.build_status ?? r.reason}`,
      ),
    ).toEqual([
      '10:01 finished success',
      expect.stringMatching(/^10:02 skipped overlap \(previous build .* is testing\)$/),
      '10:03 finished success',
      expect.stringMatching(/^10:04 skipped overlap/),
    ]);
  });

  it('replace: the previous build is stopped, then the new one starts', async () => {
    const { rows, h } = await run(store, 'replace');
    expect(
      rows.map((r) => `${String(r.slot_at).slice(11, 16)} ${r.state} ${r.build_status}`),
    ).toEqual([
      '10:01 finished stopped',
      '10:02 finished stopped',
      '10:03 finished stopped',
      '10:04 finished success',
    ]);
    const stops = h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/stop'));
    expect(stops).toHaveLength(3);
  });

  it('allow (the default): every slot builds, overlapping or not', async () => {
    const { rows } = await run(store, 'allow');
    expect(rows.map((r) => r.state)).toEqual(['finished', 'finished', 'finished', 'finished']);
  });
});

describe.each(STORES)('overlap after a restart on the %s ledger', { timeout: 60_000 }, (store) => {
  it('skip: a previous build gone from Codeship (404) overlaps nothing; the slot fires', async () => {
    const first = await startHarness({
      store,
      start: '2026-06-01T10:00:30Z',
      files: { 'busy.yaml': file('skip') },
      simulator: { buildDurationMs: 10 * 60_000 },
    });
    harness = first;
    await first.advanceUntil(
      async () => (await ledgerRows(first, 'busy')).some((r) => r.build_uuid !== null),
      { what: 'the 10:01 build' },
    );
    const { ledgerPath, clock } = first;
    await first.stop({ keepFiles: true });
    // Another Codeship (a fresh simulator): the 10:01 build does not exist there.
    await clock.set('2026-06-01T10:02:00Z');
    harness = await startHarness({
      store,
      start: '',
      clock,
      ledgerPath,
      files: { 'busy.yaml': file('skip') },
      simulator: { buildDurationMs: 10 * 60_000 },
    });
    const h = harness;
    await h.advanceUntil(
      async () =>
        (await ledgerRows(h, 'busy')).some(
          (r) => r.slot_at === '2026-06-01T10:02:00.000Z' && r.state !== 'pending',
        ),
      { what: 'the 10:02 slot decided' },
    );
    const rows = await ledgerRows(h, 'busy');
    expect(rows.map((r) => `${String(r.slot_at).slice(11, 16)} ${r.state}`)).toEqual([
      '10:01 failed',
      '10:02 triggered',
    ]);
    expect(rows[0]?.error ?? rows[0]?.reason).toMatch(/no longer exists in Codeship/);
    expect(h.logs.filter((l) => l.msg === 'build vanished')).toHaveLength(1);
  });
});
