/**
 * The running daemon as it starts, seen through its logs, `/metrics`, `/readyz` and the page's
 * trigger: the schedules are checked against the API (problems logged as warnings, the daemon
 * runs on), every loaded schedule has its series before its first slot (next fire, info, zero
 * slot counts), `codeship_cron_api_up` agrees with `/readyz`, and the page refuses a branch the
 * schedule does not name.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScheduleFile } from '../src/core/schedule/file.ts';
import { nextFireOf } from '../src/http/view.ts';
import { startDaemon } from './helpers/daemon-process.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';

const TOKEN = 'a-dashboard-token-of-some-length';
const SCHEDULES = `schedules:
  - { name: nightly-api, cron: "0 2 * * *", timezone: Europe/Berlin, project: acme/api, branch: main, jitter: 10m }
  - name: stale-releases
    cron: "30 3 * * 1"
    project: acme/api
    branches: ["release/*"]
    stale: { older_than: 7d }
  - { name: wrong-project, cron: "0 4 * * *", project: acme/apx, branch: main }
`;

let sim: TestSimulator | undefined;
let stopDaemon: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-start-'));
afterAll(async () => {
  stopDaemon?.();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The value of one exposition line, e.g. `codeship_cron_api_up`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the daemon at start', { timeout: 30_000 }, () => {
  it('checks the schedules, exports every schedule, agrees with /readyz, and guards the page', async () => {
    sim = await startTestSimulator();
    const schedules = join(dir, 'schedules');
    mkdirSync(schedules);
    writeFileSync(join(schedules, 'all.yaml'), SCHEDULES);
    const daemon = startDaemon({
      env: {
        PATH: process.env.PATH,
        CODESHIP_API_URL: sim.url,
        CODESHIP_USERNAME: 'demo@example.com',
        CODESHIP_PASSWORD: 'demo-password',
        SCHEDULES_DIR: schedules,
        DATABASE_PATH: join(dir, 'ledger.sqlite'),
        HTTP_ADDR: '127.0.0.1:0',
        DASHBOARD_TOKEN: TOKEN,
      },
      cwd: dir,
      logFile: join(dir, 'daemon.log'),
      label: 'start',
    });
    stopDaemon = () => daemon.child.kill('SIGKILL');
    const listening = await daemon.waitFor((l) => l.msg === 'http server listening', 10_000);
    const url = String(listening.url);

    // Before any slot: every schedule has its series; api_up and /readyz say the same.
    const [metrics, ready] = await Promise.all([fetch(`${url}/metrics`), fetch(`${url}/readyz`)]);
    const text = await metrics.text();
    expect(ready.status).toBe(200);
    expect(sample(text, 'codeship_cron_api_up')).toBe(1);
    const now = new Date();
    const nightly = parseScheduleFile(SCHEDULES, 'all.yaml', { defaultTimezone: 'UTC' })
      .schedules[0]!;
    const expected = nextFireOf(nightly, now)!.getTime() / 1000;
    expect(
      sample(text, 'codeship_cron_next_fire_timestamp_seconds{schedule="nightly-api"}'),
    ).toBeCloseTo(expected, 0);
    expect(text).toContain(
      'codeship_cron_schedule_info{schedule="nightly-api",project="acme/api",kind="cron"} 1',
    );
    expect(text).toContain(
      'codeship_cron_schedule_info{schedule="stale-releases",project="acme/api",kind="sweep"} 1',
    );
    for (const state of ['pending', 'triggered', 'running', 'finished', 'skipped', 'failed']) {
      for (const schedule of ['nightly-api', 'stale-releases', 'wrong-project']) {
        expect(text).toContain(`codeship_cron_slots{schedule="${schedule}",state="${state}"} 0`);
      }
    }

    // The check at start: one warning in the contract's format; the daemon runs on.
    const problem = await daemon.waitFor((l) => l.msg === 'schedule problem', 10_000);
    expect(problem).toMatchObject({
      level: 'warn',
      problem: `${join(schedules, 'all.yaml')}:8: schedule wrong-project: project: "acme/apx" not found in the organization (did you mean "acme/api"?)`,
    });
    const summary = await daemon.waitFor(
      (l) => l.msg === 'schedules checked against the API',
      10_000,
    );
    expect(summary).toMatchObject({ schedules: 3, problems: 1, branchesUnchecked: 0 });
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(sample(after, 'codeship_cron_api_up')).toBe(1);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // The page's trigger has no override for a branch the schedule does not name.
    const refused = await fetch(`${url}/api/schedules/nightly-api/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ branch: 'develop' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: `branch "develop" does not match schedule nightly-api's branches (main)`,
    });
    expect(sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'))).toEqual(
      [],
    );

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toMatchObject({ code: 0 });
  });
});
