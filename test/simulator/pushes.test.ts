import { afterEach, describe, expect, it } from 'vitest';
import {
  type SimBuild,
  type SimulatorOptions,
  type SimulatorSeed,
  validatePushes,
} from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { call, login, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';

const START = '2025-03-01T12:00:00.000Z';
const open: TestSimulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const SEED: SimulatorSeed = {
  users: [{ username: 'bot@example.com', password: 'pw', organizations: ['acme'] }],
  organizations: [
    {
      name: 'acme',
      projects: [
        {
          name: 'acme/app',
          type: 'basic',
          builds: [
            {
              branch: 'main',
              status: 'success',
              queuedAt: '2025-03-01T11:00:00Z',
              finishedAt: '2025-03-01T11:01:00Z',
            },
          ],
        },
        { name: 'acme/pro', type: 'pro' },
      ],
    },
  ],
};

type ListedBuild = {
  uuid: string;
  queued_at: string;
  commit_sha: string;
  username: string;
  status: string;
};

/** A simulator on SEED at START; `salt: null` leaves idSalt at its (random) default. */
async function setup(options: SimulatorOptions = {}, salt: string | null = 'pushes-test') {
  const clock = new ManualClock(START);
  const sim = await startTestSimulator({
    seed: SEED,
    now: () => clock.now().getTime(),
    rateLimit: null,
    buildDurationMs: 10_000,
    ...(salt === null ? {} : { idSalt: salt }),
    ...options,
  });
  open.push(sim);
  const { token, orgUuid } = await login(sim, 'bot@example.com', 'pw');
  const projects = (await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token }))
    .json as { projects: { uuid: string; name: string }[] };
  const app = projects.projects.find((p) => p.name === 'acme/app')!.uuid;
  const builds = `/organizations/${orgUuid}/projects/${app}/builds`;
  return {
    sim,
    clock,
    app,
    builds,
    create: async (branch = 'main') => {
      const answer = await call(sim, 'POST', builds, { token, body: { ref: `heads/${branch}` } });
      expect(answer.status).toBe(202);
    },
    list: async () =>
      ((await call(sim, 'GET', builds, { token })).json as { builds: ListedBuild[] }).builds,
    get: (uuid: string) => call(sim, 'GET', `${builds}/${uuid}`, { token }),
    post: (path: string, body?: unknown) => call(sim, 'POST', path, { token, body }),
  };
}

/** `count` creates on main, 20 s apart, then time moves on until every push is visible. */
async function run(options: SimulatorOptions, count = 20): Promise<SimBuild[]> {
  const ctx = await setup(options);
  for (let i = 0; i < count; i += 1) {
    await ctx.create();
    await ctx.clock.advance(20_000);
  }
  await ctx.clock.advance(60_000);
  return ctx.sim.builds().slice(1); // without the seeded build
}

/** Each create with the push it caused (the push follows its create in creation order). */
function pairs(builds: SimBuild[]): { ours: SimBuild; push: SimBuild | null }[] {
  const result: { ours: SimBuild; push: SimBuild | null }[] = [];
  for (const build of builds) {
    if (build.pusher) result.at(-1)!.push = build;
    else result.push({ ours: build, push: null });
  }
  return result;
}

describe('pushes by others', () => {
  it('rate 1 pushes around every create, within the spread, before and after', async () => {
    const builds = await run({ pushes: { rate: 1, spreadMs: 5_000, seed: 3 } });
    const made = pairs(builds);
    expect(made).toHaveLength(20);
    const offsets = made.map(({ ours, push }) => {
      expect(push).not.toBeNull();
      expect(push).toMatchObject({ branch: 'main', username: 'someone-else', pusher: true });
      expect(ours).toMatchObject({ username: 'bot', pusher: false });
      return Date.parse(push!.queuedAt) - Date.parse(ours.queuedAt);
    });
    for (const offset of offsets) expect(Math.abs(offset)).toBeLessThanOrEqual(5_000);
    expect(offsets.some((o) => o < 0)).toBe(true);
    expect(offsets.some((o) => o > 0)).toBe(true);
    expect(new Set(builds.map((b) => b.uuid)).size).toBe(40);
  });

  it('rate 0 and no pushes option never push; a rate between pushes around some creates', async () => {
    expect((await run({ pushes: { rate: 0, spreadMs: 5_000 } })).some((b) => b.pusher)).toBe(false);
    expect((await run({})).some((b) => b.pusher)).toBe(false);
    const half = pairs(await run({ pushes: { rate: 0.5, spreadMs: 5_000, seed: 1 } }, 40));
    const pushed = half.filter((p) => p.push !== null).length;
    expect(pushed).toBeGreaterThan(8);
    expect(pushed).toBeLessThan(32);
  });

  it('is reproducible with a seed (and the same idSalt), and differs with another seed', async () => {
    const options = { pushes: { rate: 0.5, spreadMs: 5_000, seed: 42, username: 'alice' } };
    const a = await run(options);
    const b = await run(options);
    expect(a).toEqual(b);
    expect(a.filter((x) => x.pusher).every((x) => x.username === 'alice')).toBe(true);
    const c = await run({ pushes: { ...options.pushes, seed: 43 } });
    expect(c.map((x) => x.queuedAt)).not.toEqual(a.map((x) => x.queuedAt));
  });

  it('hides a push in the future until the server clock reaches it', async () => {
    const ctx = await setup({ pushes: { rate: 1, spreadMs: 5_000, seed: 3 } });
    // Create until a push lands in the future (seed 3 has some within a few creates).
    let hidden = false;
    for (let i = 0; i < 10 && !hidden; i += 1) {
      const before = ctx.sim.builds().length;
      await ctx.create();
      hidden = ctx.sim.builds().length === before + 1;
      if (!hidden) await ctx.clock.advance(20_000);
    }
    expect(hidden).toBe(true);
    const createdAtMs = ctx.clock.now().getTime();
    const visible = (await ctx.list()).map((b) => b.uuid);
    await ctx.clock.advance(5_000);
    const push = ctx.sim.builds().at(-1)!;
    expect(push.pusher).toBe(true);
    const pushAtMs = Date.parse(push.queuedAt);
    expect(pushAtMs).toBeGreaterThan(createdAtMs);
    expect((await ctx.list())[0]!.uuid).toBe(push.uuid);
    expect((await ctx.get(push.uuid)).status).toBe(200);

    // Back to 1 ms before the push: it is nowhere; at its instant it is everywhere.
    await ctx.clock.set(new Date(pushAtMs - 1));
    expect((await ctx.list()).map((b) => b.uuid)).toEqual(visible);
    expect((await ctx.get(push.uuid)).status).toBe(404);
    expect(ctx.sim.builds().some((b) => b.uuid === push.uuid)).toBe(false);
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const admin = (await (await fetch(`${origin}/_simulator/builds`)).json()) as SimBuild[];
    expect(admin.some((b) => b.uuid === push.uuid)).toBe(false);
    // A create now still builds the old head; the pushed commit is not there yet.
    await ctx.create();
    expect((await ctx.list())[0]!.commit_sha).not.toBe(push.commitSha);
    await ctx.clock.set(new Date(pushAtMs));
    expect((await ctx.get(push.uuid)).status).toBe(200);
    await ctx.create();
    expect((await ctx.list())[0]!.commit_sha).toBe(push.commitSha);
  });

  it('builds the head commit: the same one until someone pushes, then the pushed one', async () => {
    const ctx = await setup();
    await ctx.create();
    await ctx.clock.advance(1_000);
    await ctx.create();
    const [second, first] = await ctx.list();
    expect(second!.commit_sha).toBe(first!.commit_sha);
    expect(second!.commit_sha).toMatch(/^[0-9a-f]{40}$/);
    await ctx.clock.advance(1_000);
    const pushed = ctx.sim.push('acme/app', 'main');
    expect(pushed.commitSha).not.toBe(first!.commit_sha);
    expect(pushed.commitSha).toMatch(/^[0-9a-f]{40}$/);
    await ctx.clock.advance(1_000);
    await ctx.create();
    expect((await ctx.list())[0]!.commit_sha).toBe(pushed.commitSha);
    // Another branch keeps its own head.
    await ctx.create('develop');
    expect((await ctx.list())[0]!.commit_sha).not.toBe(pushed.commitSha);
  });

  it('back-dates a push before our create: ours keeps its commit, later creates get the push', async () => {
    const ctx = await setup();
    await ctx.create();
    const oursBefore = (await ctx.list())[0]!;
    ctx.sim.setPushes({ rate: 1, spreadMs: 5_000, seed: 3 });
    let push: SimBuild | undefined;
    for (let i = 0; i < 10 && push === undefined; i += 1) {
      await ctx.clock.advance(20_000);
      await ctx.create();
      const last = ctx.sim.builds().at(-1)!;
      if (last.pusher && Date.parse(last.queuedAt) < ctx.clock.now().getTime()) push = last;
    }
    expect(push).toBeDefined();
    const [ours, older] = await ctx.list();
    // Newest first by queued time: the back-dated push is listed below our create.
    expect(ours!.username).toBe('bot');
    expect(older!.uuid).toBe(push!.uuid);
    expect(Date.parse(older!.queued_at)).toBeLessThan(Date.parse(ours!.queued_at));
    expect(ours!.commit_sha).not.toBe(push!.commitSha);
    ctx.sim.setPushes(null);
    await ctx.clock.advance(1_000);
    await ctx.create();
    expect((await ctx.list())[0]!.commit_sha).toBe(push!.commitSha);
    expect(oursBefore.commit_sha).not.toBe(push!.commitSha);
  });

  it('lists newest first by queued time', async () => {
    const ctx = await setup();
    await ctx.create();
    await ctx.clock.advance(20_000);
    const pushed = ctx.sim.push('acme/app', 'feature/x', 'carol');
    expect(pushed).toMatchObject({ username: 'carol', pusher: true, branch: 'feature/x' });
    await ctx.clock.advance(20_000);
    await ctx.create();
    const order = (await ctx.list()).map((b) => b.username);
    expect(order).toEqual(['bot', 'carol', 'bot', 'demo']);
  });
});

describe('POST /_simulator/push and /_simulator/pushes', () => {
  it('pushes now: 201 with the build, by name or UUID; 400 for bad bodies; 404 for unknown projects', async () => {
    const ctx = await setup();
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const post = async (path: string, body: string) => {
      const answer = await fetch(`${origin}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      return { status: answer.status, json: (await answer.json()) as unknown };
    };
    const byName = await post('/_simulator/push', '{"project": "acme/app", "branch": "main"}');
    expect(byName.status).toBe(201);
    expect(byName.json).toEqual(ctx.sim.builds().at(-1));
    expect(byName.json).toMatchObject({
      projectUuid: ctx.app,
      branch: 'main',
      ref: 'heads/main',
      status: 'waiting',
      queuedAt: START,
      username: 'someone-else',
      pusher: true,
      ghost: false,
    });
    const byUuid = await post(
      '/_simulator/push',
      JSON.stringify({ project: ctx.app, branch: 'x' }),
    );
    expect(byUuid.status).toBe(201);
    expect((await ctx.list()).map((b) => b.uuid).slice(0, 2)).toEqual([
      (byUuid.json as SimBuild).uuid,
      (byName.json as SimBuild).uuid,
    ]);

    expect(await post('/_simulator/push', 'nope')).toEqual({
      status: 400,
      json: { errors: ['invalid push: the body is not valid JSON'] },
    });
    expect(await post('/_simulator/push', '[]')).toEqual({
      status: 400,
      json: {
        errors: [
          'invalid push: must be a JSON object like {"project": "acme/api", "branch": "main"}',
        ],
      },
    });
    expect(await post('/_simulator/push', '{"project": "", "color": 1}')).toEqual({
      status: 400,
      json: {
        errors: [
          'color: unknown key (expected one of project, branch, username)',
          'project: must be a project name or UUID (got "")',
          'branch: must be a branch name (got nothing)',
        ],
      },
    });
    expect(await post('/_simulator/push', '{"project": "acme/nope", "branch": "main"}')).toEqual({
      status: 404,
      json: { errors: ['no project "acme/nope" (expected a project name or UUID)'] },
    });
    expect(() => ctx.sim.push('acme/nope', 'main')).toThrow(
      expect.objectContaining({
        code: 'ERR_SIMULATOR_PUSH',
        message: 'cannot push: no project "acme/nope" (expected a project name or UUID)',
      }),
    );
  });

  it('sets and reads the pushes at run time, rejecting invalid ones', async () => {
    const ctx = await setup();
    const origin = ctx.sim.url.replace(/\/v2$/, '');
    const request = async (method: string, body?: string) => {
      const answer = await fetch(`${origin}/_simulator/pushes`, {
        method,
        ...(body === undefined ? {} : { body }),
      });
      return { status: answer.status, json: (await answer.json()) as unknown };
    };
    expect(await request('GET')).toEqual({ status: 200, json: null });
    const set = { rate: 1, spreadMs: 0, seed: 9 };
    expect(await request('POST', JSON.stringify(set))).toEqual({ status: 200, json: set });
    expect(await request('GET')).toEqual({ status: 200, json: set });
    await ctx.create();
    const [ours, push] = ctx.sim.builds().slice(-2);
    expect(push!.pusher).toBe(true);
    expect(push!.queuedAt).toBe(ours!.queuedAt);
    expect(await request('POST', '{"rate": 2, "spreadMs": "5s", "every": 1}')).toEqual({
      status: 400,
      json: {
        errors: [
          'invalid pushes:\n  every: unknown key (expected one of rate, spreadMs, seed, username)\n  rate: must be a number from 0 to 1 (got 2)\n  spreadMs: must be a number of milliseconds from 0 to 86400000 (got "5s")',
        ],
      },
    });
    expect(await request('GET')).toEqual({ status: 200, json: set });
    expect(await request('POST', 'null')).toEqual({ status: 200, json: null });
  });

  it('validates pushes in options and in code with every problem listed', async () => {
    expect(() => validatePushes({ spreadMs: -1, seed: 1.5, username: '' })).toThrow(
      'invalid pushes:\n' +
        '  rate: must be a number from 0 to 1 (got nothing)\n' +
        '  spreadMs: must be a number of milliseconds from 0 to 86400000 (got -1)\n' +
        '  seed: must be an integer (got 1.5)\n' +
        '  username: must be a non-empty string (got "")',
    );
    expect(() => validatePushes('often')).toThrow('invalid pushes: must be a JSON object or null');
    await expect(
      startTestSimulator({ seed: SEED, pushes: { rate: 1.5, spreadMs: 0 } }),
    ).rejects.toMatchObject({ code: 'ERR_SIMULATOR_PUSHES' });
  });
});

describe('build UUIDs across simulators', () => {
  async function firstCreated(salt: string | null): Promise<SimBuild[]> {
    const ctx = await setup({}, salt);
    await ctx.create();
    ctx.sim.push('acme/app', 'main');
    return ctx.sim.builds();
  }

  it('never repeats with default options, and repeats with the same idSalt', async () => {
    const a = await firstCreated(null);
    const b = await firstCreated(null);
    // The seeded history keeps its UUIDs; what the simulators made differs.
    expect(a[0]!.uuid).toBe(b[0]!.uuid);
    expect(a[1]!.uuid).not.toBe(b[1]!.uuid);
    expect(a[2]!.uuid).not.toBe(b[2]!.uuid);
    expect(a[2]!.commitSha).not.toBe(b[2]!.commitSha);
    const c = await firstCreated('fixed');
    const d = await firstCreated('fixed');
    expect(c).toEqual(d);
    expect(c[1]!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
