/**
 * A create that hangs (Codeship never answers until the request times out) holds only itself:
 * slots that fall due meanwhile are sent on time by the other send workers, not after the hung
 * request gives up (README, "Time semantics": a due slot fires at once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { type Harness, ledgerRows, startHarness } from '../helpers/daemon-harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

it('sends a slot due while another create hangs without waiting for the hung one', {
  timeout: 60_000,
}, async () => {
  harness = await startHarness({
    start: '2026-06-01T10:00:50Z',
    files: {
      'a.yaml': `schedules:
  - name: first
    cron: "0 * * * * *"
    project: acme/api
    branch: main
  - name: second
    cron: "5 * * * * *"
    project: acme/web
    branch: main
`,
    },
    // A hung create holds its socket for up to 8 s of real time.
    requestTimeoutMs: 8_000,
  });
  const h = harness;
  const creates = () =>
    h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
  // Let the start-up reads pass, then make the next create hang.
  await h.advance(5_000, 1_000);
  h.sim.setFaults({ timeoutRate: 1, only: ['POST /builds'] });
  await h.advanceUntil(() => creates().length >= 1, { what: 'the 10:01:00 create', stepMs: 100 });
  h.sim.setFaults({});
  // 10:01:05: the second schedule is due while the first create still hangs.
  await h.advance(5_000, 500);
  const deadline = Date.now() + 2_000;
  const second = async () =>
    (await ledgerRows(h, 'second')).some((r) => r.state !== 'pending' || Number(r.attempts) > 0);
  while (!(await second()) && Date.now() < deadline) {
    await h.advance(100);
    await sleep(50);
  }
  expect(creates().length, 'the second create left while the first still hung').toBe(2);
  expect(await second()).toBe(true);
});
