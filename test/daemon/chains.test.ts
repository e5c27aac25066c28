/**
 * Chains through the daemon and the simulator (README, "Chains: builds after other builds"): a
 * chain fires exactly once for every qualifying upstream build, from each of the three sources
 * (our own builds, the poll, webhooks), never for builds that finished before it was loaded, and
 * never twice across restarts; a forged webhook fires nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  type HarnessOptions,
  ledgerRows,
  startHarness as start,
} from '../helpers/daemon-harness.ts';
import { closeRaw, rawWrite } from '../helpers/ledger-raw.ts';
import { STORES, type StoreKind, usePostgres } from '../helpers/stores.ts';

usePostgres();

const SECRET = 'webhook-secret-0123456789';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

const rows = (h: Harness, schedule: string) => ledgerRows(h, schedule);
const causeOf = (row: Record<string, unknown>) =>
  row.cause ? (JSON.parse(String(row.cause)) as Record<string, string>) : null;

/** A project as the API lists it (its UUID and legacy numeric id). */
async function projectOf(h: Harness, name: string) {
  const project = (await h.rt.api.listProjects()).find((p) => p.name === name);
  if (!project) throw new Error(`no project ${name}`);
  return project;
}

/** List calls for one project's builds, so far. */
function listCalls(h: Harness, projectUuid: string): number {
  return h.sim
    .requests()
    .filter((r) => r.method === 'GET' && r.path.endsWith(`/projects/${projectUuid}/builds`)).length;
}

const WEB_CHAIN = `schedules:
  - name: deploy-after-web
    after:
      - { project: acme/web, branch: main }
    project: acme/docs
    branch: main
`;

describe.each(STORES)('chains on the %s ledger', { timeout: 120_000 }, (store: StoreKind) => {
  const startHarness = (options: HarnessOptions) => start({ store, ...options });
  it('after our own schedule: once per qualifying build, by status, with its cause', async () => {
    harness = await startHarness({
      start: '2026-06-01T10:05:00Z',
      files: {
        'a.yaml': `schedules:
  - name: nightly-api
    cron: "*/10 * * * *"
    project: acme/api
    branch: main
  - name: nightly-fail
    cron: "*/10 * * * *"
    project: acme/api
    branch: fail-nightly
  - name: docs-after-api
    after:
      - schedule: nightly-api
    project: acme/docs
    branch: main
  - name: alert-after-failure
    after: [{ schedule: nightly-fail, status: failure }]
    project: acme/web
    branch: develop
  - name: never
    after: [{ schedule: nightly-fail }]
    project: acme/web
    branch: main
`,
      },
      simulator: { buildDurationMs: 60_000 },
      env: { UPSTREAM_POLL: '0' },
    });
    const h = harness;
    const finished = async (name: string) =>
      (await rows(h, name)).filter((r) => r.state === 'finished').length;
    await h.advanceUntil(
      async () =>
        (await finished('docs-after-api')) >= 3 && (await finished('alert-after-failure')) >= 3,
      { what: 'three chained builds each' },
    );
    await h.advance(2 * 60_000);
    const upstream = (await rows(h, 'nightly-api')).filter((r) => r.state === 'finished');
    const docs = await rows(h, 'docs-after-api');
    // Exactly one downstream slot per finished upstream build, each naming it.
    const causes = docs.map((r) => causeOf(r)?.build);
    expect(new Set(causes).size).toBe(causes.length);
    for (const row of docs) {
      const cause = causeOf(row);
      const source = upstream.find((u) => u.build_uuid === cause?.build);
      expect(source, `cause of ${row.slot_at}`).toBeDefined();
      expect(cause).toMatchObject({
        project: 'acme/api',
        branch: 'main',
        status: 'success',
        schedule: 'nightly-api',
        finishedAt: source?.finished_at,
      });
      expect(row.slot_at).toBe(source?.finished_at);
    }
    expect(docs.length).toBeGreaterThanOrEqual(upstream.length - 1);
    // The downstream create left at once after reconciliation saw the upstream finish.
    for (const row of docs) {
      const source = upstream.find((u) => u.build_uuid === causeOf(row)?.build);
      const lagMs = Date.parse(String(row.intent_at)) - Date.parse(String(source?.updated_at));
      expect(lagMs).toBeLessThan(2_000);
    }
    // status: failure follows failed builds only; success never fires after them.
    const alerts = await rows(h, 'alert-after-failure');
    expect(alerts.every((r) => causeOf(r)?.status === 'error')).toBe(true);
    expect(await rows(h, 'never')).toEqual([]);
    expect(h.logs.some((l) => l.msg === 'chain fired')).toBe(true);
  });

  it("after a project (anyone's builds): found by the poll, never for older builds, once across a restart", async () => {
    harness = await startHarness({
      start: '2026-06-01T10:00:00Z',
      files: { 'a.yaml': WEB_CHAIN },
      simulator: { buildDurationMs: 60_000 },
      env: { UPSTREAM_POLL: '30s' },
    });
    const h = harness;
    // The seed's history of acme/web main (finished before the chain was loaded) never fires it.
    await h.advance(2 * 60_000);
    expect(await rows(h, 'deploy-after-web')).toEqual([]);
    const pushed = h.sim.push('acme/web', 'main');
    await h.advanceUntil(async () => (await rows(h, 'deploy-after-web')).length === 1, {
      what: 'a chained slot',
    });
    await h.advance(5 * 60_000);
    const [row] = await rows(h, 'deploy-after-web');
    expect(causeOf(row as Record<string, unknown>)).toMatchObject({
      project: 'acme/web',
      branch: 'main',
      build: pushed.uuid,
    });
    expect(row?.state).toBe('finished');
    // A push to another branch is not an upstream build.
    h.sim.push('acme/web', 'develop');
    await h.advance(3 * 60_000);
    expect(await rows(h, 'deploy-after-web')).toHaveLength(1);

    // Restart on the same ledger: the build already fired is never fired again; one that
    // finished while no daemon ran is caught up once.
    const { sim, ledgerPath, clock } = h;
    await h.stop({ closeSimulator: false, keepFiles: true });
    const second = sim.push('acme/web', 'main');
    await clock.advance(3 * 60_000);
    harness = await startHarness({
      start: clock.now().toISOString(),
      clock,
      sim,
      ledgerPath,
      files: { 'a.yaml': WEB_CHAIN },
      env: { UPSTREAM_POLL: '30s' },
    });
    const h2 = harness;
    await h2.advanceUntil(async () => (await rows(h2, 'deploy-after-web')).length === 2, {
      what: 'the caught-up slot',
    });
    await h2.advance(3 * 60_000);
    const after = await rows(h2, 'deploy-after-web');
    expect(after.map((r) => causeOf(r)?.build)).toEqual([pushed.uuid, second.uuid]);
    expect(after[1]?.reason).toBe('catch-up');
  });

  it('webhooks: a hint read through the pacer at once; duplicates and forgeries fire nothing more', async () => {
    harness = await startHarness({
      start: '2026-06-01T10:00:00Z',
      files: { 'a.yaml': WEB_CHAIN },
      simulator: { buildDurationMs: 60_000 },
      env: { UPSTREAM_POLL: '0', WEBHOOK_SECRET: SECRET },
      http: true,
    });
    const h = harness;
    await h.advance(5_000);
    const web = await projectOf(h, 'acme/web');
    const post = (body: unknown, secret = SECRET) =>
      fetch(`${h.httpUrl}/hooks/codeship/${secret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const hook = (status: string, buildId = 1) => ({
      build: {
        build_url: `https://app.codeship.com/projects/${web.id}/builds/${buildId}`,
        commit_url: 'https://github.com/acme/web/commit/abc',
        project_id: web.id,
        build_id: buildId,
        status,
        project_name: 'web',
        project_full_name: 'acme/web',
        commit_id: 'abc',
        short_commit_id: 'abc',
        message: 'msg',
        committer: 'someone',
        branch: 'main',
      },
    });
    // A forged "success" for a build that does not exist: one read, nothing fires.
    const beforeForged = listCalls(h, web.uuid);
    expect((await post(hook('success'))).status).toBe(202);
    await h.advance(3_000);
    expect(await rows(h, 'deploy-after-web')).toEqual([]);
    expect(listCalls(h, web.uuid) - beforeForged).toBe(1);

    const pushed = h.sim.push('acme/web', 'main');
    await h.clock.advance(61_000);
    const before = listCalls(h, web.uuid);
    const sentAt = h.clock.now().getTime();
    // Codeship sends the finish webhook; it arrives twice.
    expect((await post(hook('success'))).status).toBe(202);
    expect((await post(hook('success'))).status).toBe(202);
    await h.advanceUntil(async () => (await rows(h, 'deploy-after-web')).length === 1, {
      stepMs: 100,
      maxMs: 5_000,
      what: 'the chain fired by the webhook',
    });
    const row = (await rows(h, 'deploy-after-web'))[0] as Record<string, unknown>;
    expect(causeOf(row)?.build).toBe(pushed.uuid);
    // Recorded within two seconds of the webhook, for at most one list call per webhook.
    expect(Date.parse(String(row.created_at)) - sentAt).toBeLessThan(2_000);
    expect(listCalls(h, web.uuid) - before).toBeLessThanOrEqual(2);
    await h.advance(3 * 60_000);
    expect(await rows(h, 'deploy-after-web')).toHaveLength(1);

    // Wrong secret 404 whatever the method (nothing tells the route exists), bad bodies 400, too
    // large 413; counted in /metrics.
    expect((await post(hook('success'), 'wrong-secret-0123456789')).status).toBe(404);
    expect((await fetch(`${h.httpUrl}/hooks/codeship/wrong-secret-0123456789`)).status).toBe(404);
    expect((await fetch(`${h.httpUrl}/hooks/codeship/${SECRET}`)).status).toBe(405);
    expect((await post('{not json')).status).toBe(400);
    expect((await post({ build: { status: 'success' } })).status).toBe(400);
    expect((await post({ nothing: true })).status).toBe(400);
    const wrongType = await post({ build: { status: 5, project_id: 1 } });
    expect(wrongType.status).toBe(400);
    expect(await wrongType.text()).toContain('build.status must be a string');
    expect((await post('x'.repeat(70 * 1024))).status).toBe(413);
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
    expect(metrics).toContain('codeship_cron_webhooks_total{result="accepted"} 3');
    expect(metrics).toContain('codeship_cron_webhooks_total{result="bad_secret"} 2');
    expect(metrics).toContain('codeship_cron_webhooks_total{result="bad_request"} 4');
    expect(metrics).toContain('codeship_cron_webhooks_total{result="too_large"} 1');
    // The secret never reaches a log line.
    expect(JSON.stringify(h.logs)).not.toContain(SECRET);
  });

  it('an edited upstream arms the chain again: older builds of the new upstream never fire it', async () => {
    harness = await startHarness({
      start: '2026-06-01T10:00:00Z',
      files: { 'a.yaml': WEB_CHAIN },
      simulator: { buildDurationMs: 20_000 },
      env: { UPSTREAM_POLL: '30s' },
    });
    const h = harness;
    await h.advance(10_000);
    // Builds of acme/api develop while the chain follows acme/web main: not its upstream (yet).
    for (let i = 0; i < 3; i += 1) {
      h.sim.push('acme/api', 'develop');
      await h.advance(5_000);
    }
    await h.advance(60_000);
    expect(await rows(h, 'deploy-after-web')).toEqual([]);
    h.writeFile(
      'a.yaml',
      WEB_CHAIN.replace(
        '{ project: acme/web, branch: main }',
        '{ project: acme/api, branch: develop }',
      ),
    );
    h.reload();
    await h.advance(2 * 60_000);
    expect(await rows(h, 'deploy-after-web')).toEqual([]);
    expect(h.logs.some((l) => l.msg === 'chain upstreams changed: armed again')).toBe(true);
    const fresh = h.sim.push('acme/api', 'develop');
    await h.advanceUntil(async () => (await rows(h, 'deploy-after-web')).length === 1, {
      what: 'the new upstream build',
    });
    expect(causeOf((await rows(h, 'deploy-after-web'))[0] as Record<string, unknown>)?.build).toBe(
      fresh.uuid,
    );
  });

  it("decides at a restart on Codeship's clock, not ours: a server 10 minutes behind still catches up", async () => {
    const files = {
      'a.yaml': `schedules:
  - name: hourly-api
    cron: "0 * * * *"
    project: acme/api
    branch: main
  - name: docs-after-api
    after: [{ schedule: hourly-api }]
    catchup: 5m
    project: acme/docs
    branch: main
`,
    };
    const behind = { buildDurationMs: 60_000, clockOffsetMs: -10 * 60_000 };
    harness = await startHarness({
      start: '2026-06-01T10:59:00Z',
      files,
      simulator: behind,
      env: { UPSTREAM_POLL: '0' },
    });
    const h = harness;
    await h.advanceUntil(async () => (await rows(h, 'docs-after-api')).length === 1, {
      what: 'the chained slot',
    });
    // The process died after the upstream's outcome was recorded and before the chain decided:
    // its slot is not in the ledger.
    const { sim, ledgerPath, clock } = h;
    await h.stop({ closeSimulator: false, keepFiles: true });
    const chained = "SELECT id FROM slots WHERE schedule = 'docs-after-api'";
    await rawWrite(ledgerPath, `DELETE FROM attempts WHERE slot_id IN (${chained})`);
    await rawWrite(ledgerPath, "DELETE FROM slots WHERE schedule = 'docs-after-api'");
    await closeRaw(ledgerPath);
    await clock.advance(60_000);
    harness = await startHarness({
      start: clock.now().toISOString(),
      clock,
      sim,
      ledgerPath,
      files,
    });
    const h2 = harness;
    await h2.advanceUntil(async () => (await rows(h2, 'docs-after-api')).length === 1, {
      what: 'the decision after the restart',
    });
    // The upstream finished about 2 minutes ago by Codeship's clock (12 by ours): within 5m.
    const [row] = await rows(h2, 'docs-after-api');
    expect(row).toMatchObject({ reason: 'catch-up' });
    expect(row?.state).not.toBe('skipped');
  });

  it("the simulator's own webhooks, dropped, duplicated and delayed: every push fires once", async () => {
    harness = await startHarness({
      start: '2026-06-01T10:00:00Z',
      files: { 'a.yaml': WEB_CHAIN },
      simulator: { buildDurationMs: 20_000 },
      env: { UPSTREAM_POLL: '1m', WEBHOOK_SECRET: SECRET },
      http: true,
    });
    const h = harness;
    h.sim.setWebhooks({
      urls: [`${h.httpUrl}/hooks/codeship/${SECRET}`],
      drop: 0.3,
      duplicate: 0.3,
      delayMs: [0, 200],
      seed: 7,
    });
    await h.advance(5_000);
    const pushed: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      pushed.push(h.sim.push('acme/web', 'main').uuid);
      await h.advance(13_000, 500);
      await h.sim.flushWebhooks();
    }
    await h.advanceUntil(async () => (await rows(h, 'deploy-after-web')).length === pushed.length, {
      what: 'a slot for every push',
      maxMs: 5 * 60_000,
    });
    await h.advance(3 * 60_000);
    await h.sim.flushWebhooks();
    const causes = (await rows(h, 'deploy-after-web')).map((r) => causeOf(r)?.build);
    expect(causes.sort()).toEqual([...pushed].sort());
    const report = h.sim.webhooks();
    expect(report.counts.dropped).toBeGreaterThan(0);
    expect(report.counts.duplicated).toBeGreaterThan(0);
    expect(report.counts.delivered).toBeGreaterThan(0);
  });

  it('fan-in: fires when every upstream has a fresh qualifying build within the window', async () => {
    harness = await startHarness({
      start: '2026-06-01T10:05:00Z',
      files: {
        'a.yaml': `schedules:
  - name: nightly-api
    cron: "*/30 * * * *"
    project: acme/api
    branch: main
  - name: release-after-both
    after:
      - schedule: nightly-api
      - { project: acme/web, branch: main }
    within: 20m
    project: acme/docs
    branch: main
`,
      },
      simulator: { buildDurationMs: 60_000 },
      env: { UPSTREAM_POLL: '20s' },
    });
    const h = harness;
    // 10:30 nightly-api builds; no web build within 20 minutes: nothing.
    await h.advanceUntil(
      async () => (await rows(h, 'nightly-api')).some((r) => r.state === 'finished'),
      {
        what: 'the 10:30 build',
      },
    );
    await h.clock.set('2026-06-01T10:58:00Z');
    await h.advance(60_000);
    expect(await rows(h, 'release-after-both')).toEqual([]);
    // 11:00 nightly-api builds (done 11:01); web main pushed 11:05: the set is complete.
    await h.advanceUntil(
      async () => (await rows(h, 'nightly-api')).filter((r) => r.state === 'finished').length >= 2,
      {
        what: 'the 11:00 build',
      },
    );
    await h.clock.set('2026-06-01T11:05:00Z');
    const web = h.sim.push('acme/web', 'main');
    await h.advanceUntil(async () => (await rows(h, 'release-after-both')).length === 1, {
      what: 'the fan-in',
    });
    expect(
      causeOf((await rows(h, 'release-after-both'))[0] as Record<string, unknown>)?.build,
    ).toBe(web.uuid);
    // Another web build alone does not fire it again (the api build was used).
    await h.advance(3 * 60_000);
    h.sim.push('acme/web', 'main');
    await h.advance(3 * 60_000);
    expect(await rows(h, 'release-after-both')).toHaveLength(1);
  });
});
