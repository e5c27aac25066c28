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
