import { afterEach, describe, expect, it } from 'vitest';
import type { SeedBuild, SimulatorSeed } from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import {
  type Answer,
  call,
  login,
  startTestSimulator,
  type TestSimulator,
} from '../helpers/simulator.ts';

const START = '2025-03-01T12:00:00.000Z';
let simulator: TestSimulator | null = null;
afterEach(async () => {
  await simulator?.close();
  simulator = null;
});

/** 120 finished builds on main, one a minute before START, in `basic` and `pro` projects. */
function seed(count = 120): SimulatorSeed {
  const builds: SeedBuild[] = Array.from({ length: count }, (_, i) => ({
    branch: 'main',
    status: 'success',
    queuedAt: new Date(Date.parse(START) - (count - i) * 60_000).toISOString(),
    finishedAt: new Date(Date.parse(START) - (count - i) * 60_000 + 30_000).toISOString(),
  }));
  return {
    users: [{ username: 'bot@example.com', password: 'pw', organizations: ['acme'] }],
    organizations: [
      {
        name: 'acme',
        projects: [
          { name: 'acme/basic', type: 'basic', builds },
          { name: 'acme/pro', type: 'pro', builds: builds.slice(-3) },
        ],
      },
    ],
  };
}

interface Ctx {
  clock: ManualClock;
  token: string;
  base: { basic: string; pro: string };
  get: (path: string) => Promise<Answer>;
  post: (path: string, body?: unknown) => Promise<Answer>;
}

async function setup(options: { count?: number; buildDurationMs?: number } = {}): Promise<Ctx> {
  const clock = new ManualClock(START);
  simulator = await startTestSimulator({
    seed: seed(options.count),
    now: () => clock.now().getTime(),
    rateLimit: null,
    ...(options.buildDurationMs === undefined ? {} : { buildDurationMs: options.buildDurationMs }),
  });
  const sim = simulator;
  const { token, orgUuid } = await login(sim, 'bot@example.com', 'pw');
  const projects = (await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token }))
    .json as {
    projects: { uuid: string; name: string }[];
  };
  const uuidOf = (name: string) => projects.projects.find((p) => p.name === name)!.uuid;
  return {
    clock,
    token,
    base: {
      basic: `/organizations/${orgUuid}/projects/${uuidOf('acme/basic')}/builds`,
      pro: `/organizations/${orgUuid}/projects/${uuidOf('acme/pro')}/builds`,
    },
    get: (path) => call(sim, 'GET', path, { token }),
    post: (path, body) => call(sim, 'POST', path, { token, body }),
  };
}

type BuildBody = Record<string, unknown> & { uuid: string; status: string; queued_at: string };
const buildsOf = (answer: Answer) => (answer.json as { builds: BuildBody[] }).builds;

describe('GET …/builds', () => {
  it('pages 120 builds newest first with the envelope and GitHub-style Link headers', async () => {
    const ctx = await setup();
    const first = await ctx.get(ctx.base.basic);
    expect(first.json).toMatchObject({ page: 1, per_page: 30, total: 120 });
    expect(buildsOf(first)).toHaveLength(30);
    const times = buildsOf(first).map((b) => Date.parse(b.queued_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const url = `${simulator!.url}${ctx.base.basic}`;
    expect(first.headers.get('link')).toBe(
      `<${url}?page=2&per_page=30>; rel="next", <${url}?page=4&per_page=30>; rel="last"`,
    );
    const middle = await ctx.get(`${ctx.base.basic}?page=2`);
    expect(middle.headers.get('link')).toBe(
      `<${url}?page=3&per_page=30>; rel="next", <${url}?page=4&per_page=30>; rel="last", ` +
        `<${url}?page=1&per_page=30>; rel="first", <${url}?page=1&per_page=30>; rel="prev"`,
    );
    const last = await ctx.get(`${ctx.base.basic}?page=4`);
    expect(last.headers.get('link')).toBe(
      `<${url}?page=1&per_page=30>; rel="first", <${url}?page=3&per_page=30>; rel="prev"`,
    );
    const seen = new Set<string>();
    for (let page = 1; page <= 4; page += 1) {
      for (const build of buildsOf(await ctx.get(`${ctx.base.basic}?page=${page}`)))
        seen.add(build.uuid);
    }
    expect(seen.size).toBe(120);
    expect(buildsOf(await ctx.get(`${ctx.base.basic}?page=5`))).toEqual([]);
  });

  it('clamps per_page to 50 and omits Link when everything fits on one page', async () => {
    const ctx = await setup();
    const clamped = await ctx.get(`${ctx.base.basic}?per_page=500`);
    expect(clamped.json).toMatchObject({ page: 1, per_page: 50, total: 120 });
    expect(buildsOf(clamped)).toHaveLength(50);
    expect(clamped.headers.get('link')).toContain('page=3&per_page=50>; rel="last"');
    const pro = await ctx.get(ctx.base.pro);
    expect(pro.json).toMatchObject({ page: 1, per_page: 30, total: 3 });
    expect(pro.headers.get('link')).toBeNull();
  });

  it('shapes Basic and Pro builds like the fixtures, links under the simulator base', async () => {
    const ctx = await setup();
    const [basic] = buildsOf(await ctx.get(`${ctx.base.basic}?per_page=1`));
    const [pro] = buildsOf(await ctx.get(`${ctx.base.pro}?per_page=1`));
    expect(Object.keys(pro!).sort()).toEqual([
      'allocated_at',
      'branch',
      'commit_message',
      'commit_sha',
      'finished_at',
      'links',
      'organization_uuid',
      'pr_number',
      'project_id',
      'project_uuid',
      'queued_at',
      'ref',
      'status',
      'username',
      'uuid',
    ]);
    expect(basic).toMatchObject({
      allocated_at: null,
      ref: 'heads/main',
      branch: 'main',
      status: 'success',
    });
    expect(basic!.links).toEqual({
      pipelines: `${simulator!.url}${ctx.base.basic}/${basic!.uuid}/pipelines`,
    });
    expect(pro!.links).toEqual({
      services: `${simulator!.url}${ctx.base.pro}/${pro!.uuid}/services`,
      steps: `${simulator!.url}${ctx.base.pro}/${pro!.uuid}/steps`,
    });
    expect(pro!.allocated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(pro!.commit_sha).toMatch(/^[0-9a-f]{40}$/);
    const single = await ctx.get(`${ctx.base.pro}/${pro!.uuid}`);
    expect(single.json).toEqual({ build: pro });
  });
});

describe('POST …/builds', () => {
  it('answers 202 with an empty body and the build appears newest first, waiting', async () => {
    const ctx = await setup();
    const answer = await ctx.post(ctx.base.basic, { ref: 'heads/feature/x' });
    expect(answer.status).toBe(202);
    expect(answer.text).toBe('');
    expect(answer.headers.get('content-type')).toBeNull();
    const [newest] = buildsOf(await ctx.get(`${ctx.base.basic}?per_page=1`));
    expect(newest).toMatchObject({
      ref: 'heads/feature/x',
      branch: 'feature/x',
      status: 'waiting',
      username: 'bot',
      queued_at: '2025-03-01T12:00:00.000+00:00',
      finished_at: null,
      allocated_at: null,
    });
    expect((await ctx.get(ctx.base.basic)).json).toMatchObject({ total: 121 });
    // Without commit_sha the branch head is built, the same SHA every time.
    await ctx.post(ctx.base.basic, { ref: 'heads/feature/x' });
    const [a, b] = buildsOf(await ctx.get(`${ctx.base.basic}?per_page=2`));
    expect(a!.commit_sha).toBe(b!.commit_sha);
    await ctx.post(ctx.base.basic, { ref: 'heads/feature/x', commit_sha: 'a'.repeat(40) });
    expect(buildsOf(await ctx.get(`${ctx.base.basic}?per_page=1`))[0]!.commit_sha).toBe(
      'a'.repeat(40),
    );
  });

  it('answers 400 without ref, and 202 building nothing for a ref without heads/', async () => {
    const ctx = await setup();
    for (const body of [undefined, {}, { ref: '' }, { commit_sha: 'abc' }]) {
      const answer = await ctx.post(ctx.base.basic, body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ errors: ['ref is required'] });
    }
    const bare = await ctx.post(ctx.base.basic, { ref: 'main' });
    expect(bare.status).toBe(202);
    expect(simulator!.builds()).toHaveLength(123);
    expect((await ctx.get(ctx.base.basic)).json).toMatchObject({ total: 120 });
  });

  it('answers 400 to a body that is not JSON', async () => {
    const ctx = await setup();
    const response = await fetch(`${simulator!.url}${ctx.base.basic}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Type': 'application/json' },
      body: '{"ref":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: ['request body is not valid JSON'] });
  });

  it('answers 404 with the API error bodies for unknown projects, builds and routes', async () => {
    const ctx = await setup();
    const org = ctx.base.basic.split('/projects/')[0];
    const noProject = await ctx.post(`${org}/projects/nope/builds`, { ref: 'heads/main' });
    expect(noProject.status).toBe(404);
    expect(noProject.json).toEqual({ errors: ['project not found'] });
    expect((await ctx.get(`${org}/projects/nope/builds`)).json).toEqual({
      errors: ['project not found'],
    });
    const noBuild = await ctx.get(`${ctx.base.basic}/nope`);
    expect(noBuild.status).toBe(404);
    expect(noBuild.json).toEqual({ errors: ['build not found'] });
    expect((await ctx.post(`${ctx.base.basic}/nope/stop`)).json).toEqual({
      errors: ['build not found'],
    });
    const noRoute = await ctx.get('/organizations');
    expect(noRoute.status).toBe(404);
    expect(noRoute.json).toEqual({ errors: ['route not found'] });
  });
});

describe('build lifecycle over injected time', () => {
  it('goes waiting -> testing -> success, and error on a branch named "fail"', async () => {
    const ctx = await setup({ buildDurationMs: 100_000 });
    await ctx.post(ctx.base.pro, { ref: 'heads/main' });
    await ctx.post(ctx.base.pro, { ref: 'heads/fail-fast' });
    const statuses = async () =>
      buildsOf(await ctx.get(`${ctx.base.pro}?per_page=2`)).map((b) => b.status);
    expect(await statuses()).toEqual(['waiting', 'waiting']);
    await ctx.clock.advance(9_999);
    expect(await statuses()).toEqual(['waiting', 'waiting']);
    await ctx.clock.advance(1);
    expect(await statuses()).toEqual(['testing', 'testing']);
    const [testing] = buildsOf(await ctx.get(`${ctx.base.pro}?per_page=1`));
    expect(testing).toMatchObject({
      allocated_at: '2025-03-01T12:00:10.000+00:00',
      finished_at: null,
    });
    await ctx.clock.advance(90_000);
    expect(await statuses()).toEqual(['error', 'success']);
    const [done] = buildsOf(await ctx.get(`${ctx.base.pro}?per_page=1`));
    expect(done!.finished_at).toBe('2025-03-01T12:01:40.000+00:00');
    expect(
      simulator!
        .builds()
        .slice(-2)
        .map((b) => [b.branch, b.status, b.finishedAt]),
    ).toEqual([
      ['main', 'success', '2025-03-01T12:01:40.000Z'],
      ['fail-fast', 'error', '2025-03-01T12:01:40.000Z'],
    ]);
  });

  it('stops a running build: stopping for a few seconds, then stopped; finished builds ignore stop', async () => {
    const ctx = await setup({ buildDurationMs: 100_000 });
    await ctx.post(ctx.base.basic, { ref: 'heads/main' });
    const [build] = buildsOf(await ctx.get(`${ctx.base.basic}?per_page=1`));
    const self = `${ctx.base.basic}/${build!.uuid}`;
    await ctx.clock.advance(20_000);
    const stop = await ctx.post(`${self}/stop`);
    expect(stop.status).toBe(202);
    expect(stop.text).toBe('');
    expect((await ctx.get(self)).json).toMatchObject({
      build: { status: 'stopping', finished_at: null },
    });
    await ctx.clock.advance(3_000);
    expect((await ctx.get(self)).json).toMatchObject({
      build: { status: 'stopped', finished_at: '2025-03-01T12:00:23.000+00:00' },
    });
    await ctx.clock.advance(200_000);
    expect((await ctx.get(self)).json).toMatchObject({ build: { status: 'stopped' } });
    const [old] = buildsOf(await ctx.get(`${ctx.base.basic}?page=2&per_page=1`));
    expect((await ctx.post(`${ctx.base.basic}/${old!.uuid}/stop`)).status).toBe(202);
    expect((await ctx.get(`${ctx.base.basic}/${old!.uuid}`)).json).toMatchObject({
      build: { status: 'success' },
    });
  });
});
