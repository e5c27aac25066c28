/**
 * Chains (real time, the real CLI): `codeship-cron run` with one chain, `after: acme/web main`
 * → `acme/docs main`, while someone else pushes to acme/web main every 0.4 to 0.8 s (2 s builds).
 * Measures, per chained build, upstream build finished (the simulator's `finished_at`) → the
 * chain's create sent (its first attempt's `sent_at` in the ledger; simulator and daemon share the
 * host's clock here), p50 and p99, and the API calls spent:
 * - `webhooks`: the simulator sends Codeship's notification webhooks to the daemon's webhook route
 *   (HTTP_ADDR, WEBHOOK_SECRET), UPSTREAM_POLL=0;
 * - `poll`: no webhooks, UPSTREAM_POLL=10s (the shortest allowed: the best case of polling; the
 *   default 2m delays a chain by up to 2 minutes, 12 times this).
 * The rate limit is off (CODESHIP_RATE_LIMIT 6000): what is measured is the path, not the pacer.
 * Usage: node dist-bench/bench/chains.js [--quick]   (quick: 15 upstream builds per mode)
 */

import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_PASSWORD, DEMO_USERNAME, startSimulator } from '../src/simulator/index.ts';
import { byMsg, startDaemon } from '../test/helpers/daemon-process.ts';
import { closeLedgerSql, queryNumber, queryRows } from '../test/helpers/ledger-sql.ts';
import {
  emitResult,
  type Figures,
  isQuick,
  note,
  pause,
  percentile,
  round,
  tempDir,
} from './common.ts';

const CLI = resolve(fileURLToPath(new URL('../../dist/cli.js', import.meta.url)));
const SECRET = 'bench-webhook-secret-0123456789';
const BUILD_MS = 2000;

/** A loopback port free right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Deterministic 0..1 values (a tiny LCG), so each run pushes on the same rhythm. */
function rhythm(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

async function measure(mode: 'webhooks' | 'poll', upstreamBuilds: number): Promise<Figures> {
  const dir = tempDir(`chains-${mode}`);
  const port = await freePort();
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    rateLimit: null,
    buildDurationMs: BUILD_MS,
    ...(mode === 'webhooks'
      ? { webhooks: { urls: [`http://127.0.0.1:${port}/hooks/codeship/${SECRET}`] } }
      : {}),
  });
  writeFileSync(
    join(dir.path, 'chains.yaml'),
    `schedules:
  - name: docs-after-web
    after: [{ project: acme/web, branch: main }]
    project: acme/docs
    branch: main
`,
  );
  const ledger = join(dir.path, 'ledger.sqlite');
  const run = startDaemon({
    cli: CLI,
    cwd: dir.path,
    logFile: join(dir.path, 'daemon.log'),
    label: mode,
    env: {
      PATH: process.env.PATH ?? '',
      CODESHIP_API_URL: sim.url,
      CODESHIP_USERNAME: DEMO_USERNAME,
      CODESHIP_PASSWORD: DEMO_PASSWORD,
      CODESHIP_RATE_LIMIT: '6000',
      SCHEDULES_DIR: dir.path,
      DATABASE_PATH: ledger,
      HTTP_ADDR: `127.0.0.1:${port}`,
      WEBHOOK_SECRET: SECRET,
      UPSTREAM_POLL: mode === 'webhooks' ? '0' : '10s',
      LOG_LEVEL: 'info',
    },
  });
  try {
    await run.waitFor(byMsg('daemon started'), 15_000);
    // Armed, and the start-up read of the upstream done: only builds finishing from now count.
    for (let i = 0; i < 100; i += 1) {
      if (queryNumber(ledger, 'SELECT COUNT(*) FROM chain_marks') === 1) break;
      await pause(100);
    }
    await pause(2000);
    sim.resetRequests();
    sim.resetWebhooks();
    const random = rhythm(11);
    const pushed: string[] = [];
    for (let i = 0; i < upstreamBuilds; i += 1) {
      pushed.push(sim.push('acme/web', 'main').uuid);
      await pause(400 + random() * 400);
    }
    const chained = () =>
      queryNumber(
        ledger,
        'SELECT COUNT(*) FROM slots WHERE upstream_build IS NOT NULL AND attempts > 0',
      );
    const deadline = Date.now() + BUILD_MS + (mode === 'poll' ? 25_000 : 15_000);
    while (chained() < upstreamBuilds && Date.now() < deadline) await pause(200);
    await pause(1000); // the last webhooks' deliveries are counted

    const finishedAt = new Map(
      sim
        .builds()
        .filter((b) => pushed.includes(b.uuid) && b.finishedAt !== null)
        .map((b) => [b.uuid, Date.parse(b.finishedAt as string)]),
    );
    const sent = queryRows<{ upstream_build: string; sent_at: string }>(
      ledger,
      `SELECT s.upstream_build, MIN(a.sent_at) AS sent_at FROM slots s
         JOIN attempts a ON a.slot_id = s.id
        WHERE s.upstream_build IS NOT NULL GROUP BY s.id`,
    );
    const latencies = sent
      .filter((r) => finishedAt.has(r.upstream_build))
      .map((r) => Date.parse(r.sent_at) - (finishedAt.get(r.upstream_build) as number));
    const upstreamUuid = sim.builds().find((b) => b.uuid === pushed[0])?.projectUuid ?? '';
    const requests = sim.requests();
    const upstreamLists = requests.filter(
      (r) => r.method === 'GET' && r.path.endsWith(`/projects/${upstreamUuid}/builds`),
    ).length;
    const report = sim.webhooks();
    const upstreamWebhooks = report.deliveries.filter(
      (d) => d.outcome === 'delivered' && d.payload.build.project_full_name === 'acme/web',
    );
    const finishWebhooks = upstreamWebhooks.filter((d) => d.event === 'finish').length;
    const apiCalls = requests.filter((r) => !r.path.endsWith('/auth')).length;
    const figures: Figures = {
      [`${mode}Upstream`]: upstreamBuilds,
      [`${mode}Chained`]: latencies.length,
      [`${mode}P50Ms`]: Math.round(percentile(latencies, 50)),
      [`${mode}P99Ms`]: Math.round(percentile(latencies, 99)),
      [`${mode}MaxMs`]: Math.round(Math.max(...latencies)),
      [`${mode}UpstreamLists`]: upstreamLists,
      [`${mode}ListsPerChained`]: round(upstreamLists / Math.max(1, latencies.length), 2),
      [`${mode}CallsPerChained`]: round(apiCalls / Math.max(1, latencies.length), 2),
    };
    if (mode === 'webhooks') {
      figures.webhooksDelivered = upstreamWebhooks.length;
      figures.webhooksFinish = finishWebhooks;
      figures.webhooksListsPerWebhook = round(
        upstreamLists / Math.max(1, upstreamWebhooks.length),
        2,
      );
      figures.webhooksListsPerFinish = round(upstreamLists / Math.max(1, finishWebhooks), 2);
      if (report.counts.deliveries > 500)
        note(
          'chains',
          'more than 500 webhook deliveries: the per-webhook figures count the latest 500 only',
        );
    }
    note(
      'chains',
      `${mode}: ${latencies.length}/${upstreamBuilds} chained, p50 ${figures[`${mode}P50Ms`]} ms, p99 ${figures[`${mode}P99Ms`]} ms, ${upstreamLists} upstream list calls, ${apiCalls} API calls`,
    );
    return figures;
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    closeLedgerSql(ledger);
    await sim.close();
    dir.remove();
  }
}

async function main(): Promise<void> {
  const upstreamBuilds = isQuick() ? 15 : 100;
  const figures = {
    ...(await measure('webhooks', upstreamBuilds)),
    ...(await measure('poll', upstreamBuilds)),
  };
  emitResult(figures);
}

await main();
