/**
 * Notification webhooks: a real receiver on 127.0.0.1 gets a start and a finish for every build,
 * with Codeship's payload and the numeric ids the API and the simulator report; drops,
 * duplicates and delays follow a seed; nothing goes anywhere but loopback.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SimulatorOptions,
  type SimulatorSeed,
  startSimulator,
  validateWebhooks,
  type WebhookPayload,
} from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { basicAuth, call, login, startTestSimulator } from '../helpers/simulator.ts';

const START = '2025-03-01T12:00:00.000Z';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

interface Received {
  path: string;
  contentType: string | undefined;
  payload: WebhookPayload;
}

/** A node:http receiver on 127.0.0.1 that answers `status` and keeps what it got, in order. */
async function startReceiver(status = 204) {
  const got: Received[] = [];
  let waiters: (() => void)[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      got.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload,
      });
      response.writeHead(status).end();
      for (const wake of waiters) wake();
      waiters = [];
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return {
    got,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    /** Resolves once `count` webhooks have arrived. */
    async waitFor(count: number): Promise<Received[]> {
      while (got.length < count) await new Promise<void>((wake) => waiters.push(wake));
      return got;
    },
  };
}

function seed(projectHooks: string[] = []): SimulatorSeed {
  return {
    users: [{ username: 'bot@example.com', password: 'pw', organizations: ['acme'] }],
    organizations: [
      {
        name: 'acme',
        projects: [
          {
            name: 'acme/app',
            type: 'basic',
            webhooks: projectHooks,
            builds: [
              {
                branch: 'main',
                status: 'success',
                queuedAt: '2025-03-01T11:00:00Z',
                finishedAt: '2025-03-01T11:01:00Z',
              },
              { branch: 'main', status: 'testing', queuedAt: '2025-03-01T11:59:00Z' },
            ],
          },
          { name: 'acme/pro', type: 'pro' },
        ],
      },
    ],
  };
}

/** A simulator on a manual clock at START whose builds take 10 s (testing after 1 s). */
async function setup(options: SimulatorOptions = {}, projectHooks: string[] = []) {
  const clock = new ManualClock(START);
  const sim = await startTestSimulator({
    seed: seed(projectHooks),
    now: () => clock.now().getTime(),
    rateLimit: null,
    buildDurationMs: 10_000,
    idSalt: 'webhooks-test',
    ...options,
  });
  cleanups.push(() => sim.close());
  const { token, orgUuid } = await login(sim, 'bot@example.com', 'pw');
  const projects = (await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token }))
    .json as { projects: { uuid: string; name: string; id: number }[] };
  const app = projects.projects.find((p) => p.name === 'acme/app')!;
  const builds = `/organizations/${orgUuid}/projects/${app.uuid}/builds`;
  return {
    sim,
    clock,
    app,
    create: async (branch = 'main') => {
      const answer = await call(sim, 'POST', builds, { token, body: { ref: `heads/${branch}` } });
      expect(answer.status).toBe(202);
    },
    list: async () =>
      (await call(sim, 'GET', builds, { token })).json as {
        builds: Record<string, unknown>[];
      },
  };
}

describe('notification webhooks', () => {
  it('POSTs a start and a finish for an API-created build and a push by someone else', async () => {
    const receiver = await startReceiver();
    const ctx = await setup({ webhooks: { urls: [receiver.url('/global')] } }, [
      receiver.url('/project'),
    ]);
    await ctx.create('main');
    const pushed = ctx.sim.push('acme/app', 'feature/x', 'alice');
    // Both are waiting: nothing to announce yet (and the seeded history is never announced).
    expect((await ctx.sim.flushWebhooks()).counts.events).toBe(0);
    await ctx.clock.advance(1_000);
    expect((await ctx.sim.flushWebhooks()).counts).toMatchObject({ events: 2, delivered: 4 });
    await ctx.clock.advance(9_000);
    const report = await ctx.sim.flushWebhooks();
    expect(report.counts).toEqual({
      events: 4,
      deliveries: 8,
      dropped: 0,
      duplicated: 0,
      sent: 8,
      delivered: 8,
      failed: 0,
      pending: 0,
      cancelled: 0,
    });
    expect(receiver.got.map((r) => r.contentType)).toEqual(Array(8).fill('application/json'));

    const created = ctx.sim.builds().find((b) => !b.pusher && b.queuedAt === START)!;
    const listed = (await ctx.list()).builds;
    const api = (uuid: string) => listed.find((b) => b.uuid === uuid)!;
    const expected = (uuid: string, id: number, status: string) => {
      const build = api(uuid);
      const sha = build.commit_sha as string;
      return {
        build: {
          build_url: `https://app.codeship.com/projects/${ctx.app.id}/builds/${id}`,
          commit_url: `https://github.com/acme/app/commit/${sha}`,
          project_id: build.project_id,
          build_id: id,
          status,
          project_name: 'acme/app',
          project_full_name: 'acme/app',
          commit_id: sha,
          short_commit_id: sha.slice(0, 5),
          message: build.commit_message,
          committer: build.username,
          branch: build.branch,
        },
      };
    };
    expect(api(created.uuid)).toMatchObject({ project_id: ctx.app.id, username: 'bot' });
    expect(api(pushed.uuid)).toMatchObject({ username: 'alice', branch: 'feature/x' });
    expect(created.id).not.toBe(pushed.id);
    for (const path of ['/project', '/global']) {
      expect(receiver.got.filter((r) => r.path === path).map((r) => r.payload)).toEqual([
        expected(created.uuid, created.id, 'testing'),
        expected(pushed.uuid, pushed.id, 'testing'),
        expected(created.uuid, created.id, 'success'),
        expected(pushed.uuid, pushed.id, 'success'),
      ]);
    }
    // The admin endpoint tells the same, with the recent deliveries and their status codes.
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const admin = (await (await fetch(`${origin}/_simulator/webhooks`)).json()) as typeof report;
    expect(admin.counts).toEqual(report.counts);
    expect(admin.settings).toEqual({ urls: [receiver.url('/global')] });
    expect(admin.deliveries.map((d) => [d.event, d.buildUuid, d.outcome, d.statusCode])).toEqual([
      ['start', created.uuid, 'delivered', 204],
      ['start', created.uuid, 'delivered', 204],
      ['start', pushed.uuid, 'delivered', 204],
      ['start', pushed.uuid, 'delivered', 204],
      ['finish', created.uuid, 'delivered', 204],
      ['finish', created.uuid, 'delivered', 204],
      ['finish', pushed.uuid, 'delivered', 204],
      ['finish', pushed.uuid, 'delivered', 204],
    ]);
    expect(admin.deliveries[0]).toMatchObject({
      url: receiver.url('/project'),
      at: '2025-03-01T12:00:01.000Z',
      copy: 1,
      delayMs: 0,
      error: null,
    });
  });

  it('announces stops, error outcomes and a seeded build that moves; a build stopped while waiting only finishes', async () => {
    const receiver = await startReceiver();
    const ctx = await setup({ webhooks: { urls: [receiver.url('/hook')] } });
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    await ctx.create('fail-fast');
    await ctx.create('main');
    await ctx.clock.advance(1_000); // both testing
    await ctx.sim.flushWebhooks();
    const [seeded, failing, stopped] = ctx.sim.builds().slice(1);
    const { token, orgUuid } = await login(ctx.sim, 'bot@example.com', 'pw');
    const stop = (uuid: string) =>
      call(
        ctx.sim,
        'POST',
        `/organizations/${orgUuid}/projects/${ctx.app.uuid}/builds/${uuid}/stop`,
        { token },
      );
    expect((await stop(seeded!.uuid)).status).toBe(202);
    expect((await stop(stopped!.uuid)).status).toBe(202);
    await ctx.create('develop');
    expect((await stop(ctx.sim.builds().at(-1)!.uuid)).status).toBe(202); // still waiting
    await ctx.clock.advance(10_000);
    await ctx.sim.flushWebhooks();
    const seen = receiver.got.map((r) => `${r.payload.build.branch} ${r.payload.build.status}`);
    expect(seen).toEqual([
      'fail-fast testing',
      'main testing',
      'main stopped', // the seeded testing build, stopped at START + 1 s
      'main stopped',
      'develop stopped',
      'fail-fast error',
    ]);
    expect(failing!.branch).toBe('fail-fast');
    await fetch(`${origin}/_simulator/reset-webhooks`, { method: 'POST' });
    expect(ctx.sim.webhooks().counts.events).toBe(0);
    expect(ctx.sim.webhooks().deliveries).toEqual([]);
  });

  it('counts refused and non-2xx deliveries as failed and goes on', async () => {
    const refusing = await startReceiver(500);
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const ctx = await setup({
      webhooks: { urls: [refusing.url('/x'), `http://127.0.0.1:${deadPort}/gone`] },
    });
    await ctx.create();
    await ctx.clock.advance(10_000);
    const report = await ctx.sim.flushWebhooks();
    expect(report.counts).toMatchObject({ events: 2, sent: 4, delivered: 0, failed: 4 });
    expect(report.deliveries.map((d) => [d.statusCode, d.error])).toEqual([
      [500, 'answered 500'],
      [null, 'ECONNREFUSED'],
      [500, 'answered 500'],
      [null, 'ECONNREFUSED'],
    ]);
    await ctx.create();
    expect(
      (await call(ctx.sim, 'POST', '/auth', { authorization: basicAuth('bot@example.com', 'pw') }))
        .status,
    ).toBe(200);
  });

  it('drops, duplicates and delays deliveries the same way under the same seed', async () => {
    async function run(webhookSeed: number) {
      const receiver = await startReceiver();
      const ctx = await setup({
        webhooks: {
          urls: [receiver.url('/hook')],
          drop: 0.25,
          duplicate: 0.25,
          delayMs: [0, 400],
          seed: webhookSeed,
        },
      });
      for (let i = 0; i < 10; i += 1) {
        await ctx.create(`b${i}`);
        await ctx.clock.advance(500);
      }
      await ctx.clock.advance(10_000);
      const report = await ctx.sim.flushWebhooks();
      return { report, receiver };
    }
    const first = await run(7);
    const again = await run(7);
    const other = await run(8);
    const decisions = (r: typeof first) =>
      r.report.deliveries.map((d) => [
        d.event,
        d.payload.build.branch,
        d.copy,
        d.delayMs,
        d.outcome,
      ]);
    expect(decisions(again)).toEqual(decisions(first));
    expect(decisions(other)).not.toEqual(decisions(first));
    const { counts } = first.report;
    expect(counts.events).toBe(20);
    expect(counts.dropped).toBeGreaterThan(0);
    expect(counts.duplicated).toBeGreaterThan(0);
    expect(counts.sent).toBe(counts.deliveries - counts.dropped + counts.duplicated);
    expect(counts.delivered).toBe(counts.sent);
    expect(first.receiver.got).toHaveLength(counts.sent);
    const delays = first.report.deliveries
      .filter((d) => d.outcome !== 'dropped')
      .map((d) => d.delayMs);
    for (const ms of delays) expect(ms).toBeGreaterThanOrEqual(0);
    for (const ms of delays) expect(ms).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('delivers out of order when delays differ', async () => {
    const receiver = await startReceiver();
    const ctx = await setup({
      webhooks: { urls: [receiver.url('/hook')], delayMs: [0, 1_000], seed: 3 },
    });
    for (let i = 0; i < 6; i += 1) await ctx.create(`b${i}`);
    await ctx.clock.advance(1_000); // six starts in one scan, each with its own delay
    const report = await ctx.sim.flushWebhooks();
    const byDelay = [...report.deliveries]
      .sort((a, b) => a.delayMs - b.delayMs)
      .map((d) => d.payload.build.branch);
    const sent = report.deliveries.map((d) => d.payload.build.branch);
    expect(byDelay).not.toEqual(sent);
    // Arrival follows the delays where they are far enough apart to beat scheduling noise.
    const arrived = receiver.got.map((r) => r.payload.build.branch);
    const delayOf = new Map(report.deliveries.map((d) => [d.payload.build.branch, d.delayMs]));
    for (const [i, a] of arrived.entries()) {
      for (const b of arrived.slice(i + 1)) {
        if (delayOf.get(a)! - delayOf.get(b)! > 150) throw new Error(`${a} arrived before ${b}`);
      }
    }
  });

  it('refuses URLs that are not plain http on loopback, in options, the admin endpoint and seeds', async () => {
    const rule =
      'must be an http:// URL on 127.0.0.1, localhost or [::1] (the simulator never sends outside this machine)';
    expect(() =>
      validateWebhooks({
        urls: [
          'https://127.0.0.1/x',
          'http://example.com/x',
          'http://10.0.0.1/x',
          'http://user:pw@127.0.0.1/x',
          'not a url',
          'http://localhost:8080/ok',
          'http://[::1]:8080/ok',
        ],
      }),
    ).toThrow(
      `invalid webhooks:\n  urls[0]: ${rule} (got "https://127.0.0.1/x")\n  urls[1]: ${rule} (got "http://example.com/x")\n  urls[2]: ${rule} (got "http://10.0.0.1/x")\n  urls[3]: ${rule} (got "http://user:pw@127.0.0.1/x")\n  urls[4]: ${rule} (got "not a url")`,
    );
    expect(() => validateWebhooks({ drop: 2, delayMs: [5, 1], dup: 1 })).toThrow(
      'invalid webhooks:\n  dup: unknown key (expected one of urls, drop, duplicate, delayMs, seed)\n  drop: must be a number from 0 to 1 (got 2)\n  delayMs: must be [min, max] milliseconds with 0 <= min <= max <= 60000 (got [5,1])',
    );
    await expect(
      startSimulator({ port: 0, webhooks: { urls: ['http://example.com/'] } }),
    ).rejects.toMatchObject({ code: 'ERR_SIMULATOR_WEBHOOKS' });
    await expect(
      startSimulator({ port: 0, seed: seed(['http://192.168.1.1/hook']) }),
    ).rejects.toThrow(
      `organizations[0].projects[0].webhooks[0]: ${rule} (got "http://192.168.1.1/hook")`,
    );
    const ctx = await setup();
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const post = (body: string) => fetch(`${origin}/_simulator/webhooks`, { method: 'POST', body });
    const refused = await post('{"urls": ["http://8.8.8.8/"]}');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      errors: [`invalid webhooks:\n  urls[0]: ${rule} (got "http://8.8.8.8/")`],
    });
    const set = await post('{"urls": ["http://localhost:1/h"], "drop": 0.5, "delayMs": [0, 10]}');
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({
      urls: ['http://localhost:1/h'],
      drop: 0.5,
      delayMs: [0, 10],
    });
    expect(ctx.sim.webhooks().settings).toEqual({
      urls: ['http://localhost:1/h'],
      drop: 0.5,
      delayMs: [0, 10],
    });
    expect((await post('null')).status).toBe(200);
    expect(ctx.sim.webhooks().settings).toBeNull();
  });

  it('can be switched on at runtime without announcing what happened before', async () => {
    const receiver = await startReceiver();
    const ctx = await setup();
    await ctx.create('early');
    await ctx.clock.advance(10_000);
    await ctx.sim.flushWebhooks();
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const answer = await fetch(`${origin}/_simulator/webhooks`, {
      method: 'POST',
      body: JSON.stringify({ urls: [receiver.url('/late')] }),
    });
    expect(answer.status).toBe(200);
    await ctx.create('late');
    await ctx.clock.advance(10_000);
    await ctx.sim.flushWebhooks();
    expect(receiver.got.map((r) => `${r.payload.build.branch} ${r.payload.build.status}`)).toEqual([
      'late testing',
      'late success',
    ]);
  });

  it('sends them on its own, in real time, for the --webhook flag of the spawned CLI', async () => {
    const receiver = await startReceiver();
    const child = spawn(
      process.execPath,
      ['dist/cli.js', 'simulate', '--port', '0', '--webhook', receiver.url('/cli')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    });
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /listening on (\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
    });
    const origin = url.replace(/\/v2$/, '');
    const settings = (await (await fetch(`${origin}/_simulator/webhooks`)).json()) as {
      settings: unknown;
    };
    expect(settings.settings).toEqual({ urls: [receiver.url('/cli')] });
    // A push by someone else now: with the default 60 s builds it starts testing after 6 s.
    const pushed = await fetch(`${origin}/_simulator/push`, {
      method: 'POST',
      body: JSON.stringify({ project: 'acme/api', branch: 'main' }),
    });
    const build = (await pushed.json()) as { uuid: string; id: number; projectId: number };
    const [start] = await receiver.waitFor(1);
    expect(start!.path).toBe('/cli');
    expect(start!.payload.build).toMatchObject({
      build_id: build.id,
      project_id: build.projectId,
      project_full_name: 'acme/api',
      status: 'testing',
      committer: 'someone-else',
      branch: 'main',
    });
  }, 20_000);
});
