import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_USERNAME, defaultSeed } from '../../src/simulator/index.ts';
import { harness, rejectionOf, START, until } from './codeship-harness.ts';

let h: Awaited<ReturnType<typeof harness>> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const BUILDS = 'POST /organizations/:org/projects/:project/builds';
const LIST_PROJECTS = 'GET /organizations/:org/projects';

async function projectUuid(name: string): Promise<string> {
  const project = (await h!.client.listProjects()).find((p) => p.name === name);
  if (!project) throw new Error(`no project ${name}`);
  return project.uuid;
}

describe('rate limit and permissions', () => {
  it('pauses every call 60 s after a rate-limit 403, retries the same call, and gets no second 403', async () => {
    h = await harness({
      sim: { rateLimit: { requests: 3, windowMs: 60_000 } },
      api: { rateLimitPerMinute: 3 },
    });
    // Someone else spends one of the user's three requests, so the client's third meets a 403.
    const basic = Buffer.from(`${DEMO_USERNAME}:${DEMO_PASSWORD}`).toString('base64');
    await fetch(`${h.sim.url}/auth`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
    });
    const web = await projectUuid('acme/web');
    const build = h.sim.builds().find((b) => b.projectUuid === web)!.uuid;
    const pending = h.client.getBuild(web, build, { priority: 'trigger' });
    await until(() => h!.clock.sleeping > 0, 'the pacer to pause');
    expect(h.seen().at(-1)).toBe(`GET /v2/org/projects/${web}/builds/${build} 403`);
    expect(h.client.pacer.stats().pausedUntil?.toISOString()).toBe('2025-03-01T12:01:01.000Z');
    expect(h.events.filter((e) => e.kind === 'rateLimited')).toEqual([
      { kind: 'rateLimited', pauseMs: 61_000 },
    ]);
    const warn = h.lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'codeship rate limit, pausing all calls');
    expect(warn).toMatchObject({
      level: 'warn',
      pauseMs: 61_000,
      endpoint: 'GET /organizations/:org/projects/:project/builds/:build',
    });
    // Calls made during the pause wait too.
    const during = h.client.listProjects();
    await h.clock.advance(60_999);
    expect(h.sim.requests()).toHaveLength(4);
    await h.clock.advance(1);
    expect((await pending).uuid).toBe(build);
    await during;
    // The retry opened a fresh server window of three: one more fits, the next waits 60 s.
    await h.client.getBuild(web, build);
    const fourth = h.client.getBuild(web, build);
    await until(() => h!.clock.sleeping > 0, 'the pacer to wait for the window');
    expect(h.sim.requests()).toHaveLength(7);
    expect(h.client.pacer.stats()).toMatchObject({ inWindow: 3, queued: { normal: 1 } });
    await h.clock.advance(61_000);
    await fourth;
    expect(h.sim.requests().filter((r) => r.status === 403)).toHaveLength(1);
    expect(h.seen().slice(3)).toEqual([
      `GET /v2/org/projects/${web}/builds/${build} 403`,
      `GET /v2/org/projects/${web}/builds/${build} 200`,
      'GET /v2/org/projects 200',
      `GET /v2/org/projects/${web}/builds/${build} 200`,
      `GET /v2/org/projects/${web}/builds/${build} 200`,
    ]);
  });

  it('a 403 with a JSON errors body is a permission error and is not retried', async () => {
    const seed = defaultSeed(Date.parse(START));
    seed.organizations[0]!.scopes = ['project.read', 'build.read'];
    h = await harness({ sim: { seed } });
    const web = await projectUuid('acme/web');
    const error = await rejectionOf(h.client.createBuild(web, { branch: 'main' }));
    expect(error).toMatchObject({
      code: 'ERR_CODESHIP_PERMISSION',
      status: 403,
      apiErrors: ['This token lacks the build.write scope for this organization'],
    });
    expect(error.message).toBe(
      `${BUILDS}: permission denied (HTTP 403): This token lacks the build.write scope for this organization`,
    );
    expect(
      h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds')),
    ).toHaveLength(1);
    expect(h.client.pacer.stats().pausedUntil).toBeNull();
  });
});

describe('server errors, timeouts and lost connections', () => {
  it('retries a GET on 5xx with backoff on the clock', async () => {
    h = await harness({ sim: { faults: { errorRate: 1, only: ['GET /projects'] } } });
    await h.client.organizationUuid();
    const pending = h.client.listProjects();
    await until(() => h!.clock.sleeping > 0, 'the first backoff');
    h.sim.setFaults({});
    await h.clock.advance(999);
    expect(h.sim.requests()).toHaveLength(2);
    await h.clock.advance(1);
    expect(await pending).toHaveLength(3);
    const statuses = h.sim.requests().map((r) => r.status);
    expect(statuses[1]).toBeGreaterThanOrEqual(500);
    expect(statuses[2]).toBe(200);
    const retry = h.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'codeship retry');
    expect(retry).toMatchObject({
      level: 'warn',
      endpoint: LIST_PROJECTS,
      attempt: 1,
      delayMs: 1000,
    });
  });

  it('gives up on a GET after retryLimit retries with ERR_CODESHIP_UNAVAILABLE', async () => {
    h = await harness({
      retryLimit: 2,
      sim: { faults: { errorRate: 1, only: ['GET /projects'] } },
    });
    await h.client.organizationUuid();
    const failing = rejectionOf(h.client.listProjects());
    for (const delayMs of [1000, 2000]) {
      await until(() => h!.clock.sleeping > 0, 'a backoff');
      await h.clock.advance(delayMs);
    }
    const error = await failing;
    const last = h.sim.requests().at(-1)!.status;
    expect(error).toMatchObject({ code: 'ERR_CODESHIP_UNAVAILABLE', status: last });
    expect(error.message).toBe(`${LIST_PROJECTS}: Codeship answered HTTP ${last} after 3 attempts`);
    expect(h.sim.requests()).toHaveLength(4);
  });

  it('never retries a create on 5xx: outcome unknown, one POST on record', async () => {
    h = await harness({ sim: { faults: { errorRate: 1, only: ['POST /builds'] } } });
    const web = await projectUuid('acme/web');
    const error = await rejectionOf(h.client.createBuild(web, { branch: 'main' }));
    const post = h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
    expect(post).toHaveLength(1);
    expect(error).toMatchObject({ code: 'ERR_CODESHIP_OUTCOME_UNKNOWN', status: post[0]!.status });
    expect(error.message).toBe(
      `${BUILDS}: outcome unknown (HTTP ${post[0]!.status}): the build may have been created and must be looked for in the build list before re-sending`,
    );
    expect(h.clock.sleeping).toBe(0);
  });

  it('a ghost create is reported as outcome unknown and the build is then found in the list', async () => {
    h = await harness({
      requestTimeoutMs: 1000,
      sim: { faults: { ghostCreateRate: 1, only: ['POST /builds'] } },
    });
    const web = await projectUuid('acme/web');
    const error = await rejectionOf(h.client.createBuild(web, { branch: 'nightly' }));
    expect(error.code).toBe('ERR_CODESHIP_OUTCOME_UNKNOWN');
    expect(error.message).toMatch(
      /^POST \/organizations\/:org\/projects\/:project\/builds: outcome unknown \(/,
    );
    const ghost = h.sim.builds().find((b) => b.ghost);
    expect(ghost).toMatchObject({ ref: 'heads/nightly', projectUuid: web });
    const newest = await h.client.listBuilds(web)[Symbol.asyncIterator]().next();
    expect(newest.value).toMatchObject({ uuid: ghost!.uuid, ref: 'heads/nightly' });
    expect(
      h.sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds')),
    ).toHaveLength(1);
  });

  it('times out: a GET is unavailable, a create has an unknown outcome', async () => {
    h = await harness({
      requestTimeoutMs: 600,
      retryLimit: 0,
      sim: { faults: { timeoutRate: 1, only: ['GET /projects', 'POST /builds'] } },
    });
    const org = await h.client.organizationUuid();
    const get = await rejectionOf(h.client.listProjects());
    expect(get).toMatchObject({ code: 'ERR_CODESHIP_UNAVAILABLE', status: null });
    expect(get.message).toBe(
      `${LIST_PROJECTS}: Codeship is unreachable (timeout in request phase)`,
    );
    const web = h.sim.builds()[0]!.projectUuid;
    expect(h.sim.builds()[0]!.organizationUuid).toBe(org);
    const create = await rejectionOf(h.client.createBuild(web, { branch: 'main' }));
    expect(create.code).toBe('ERR_CODESHIP_OUTCOME_UNKNOWN');
    expect(create.message).toBe(
      `${BUILDS}: outcome unknown (timeout in request phase): the build may have been created and must be looked for in the build list before re-sending`,
    );
  });

  it('a connection reset on a create is an unknown outcome too', async () => {
    h = await harness({ sim: { faults: { resetRate: 1, only: ['POST /builds'] } } });
    const web = await projectUuid('acme/web');
    const error = await rejectionOf(h.client.createBuild(web, { branch: 'main' }));
    expect(error.code).toBe('ERR_CODESHIP_OUTCOME_UNKNOWN');
    expect(error.message).toMatch(
      /^POST \/organizations\/:org\/projects\/:project\/builds: outcome unknown \((ECONNRESET|EPIPE)\)/,
    );
  });

  it('connection refused on a create is ERR_CODESHIP_UNAVAILABLE: safe to send later', async () => {
    h = await harness();
    const { client, sim } = h;
    const web = await projectUuid('acme/web');
    h = undefined;
    await sim.close();
    const error = await rejectionOf(client.createBuild(web, { branch: 'main' }));
    expect(error).toMatchObject({
      code: 'ERR_CODESHIP_UNAVAILABLE',
      method: 'POST',
      path: '/organizations/:org/projects/:project/builds',
    });
    expect(error.message).toBe(
      `${BUILDS}: Codeship is unreachable (ECONNREFUSED); it was not sent, so it is safe to send again later`,
    );
  });

  it('an abort while waiting in the pacer rejects with the reason and sends nothing', async () => {
    h = await harness({ api: { rateLimitPerMinute: 1 } });
    await h.client.organizationUuid();
    const controller = new AbortController();
    const pending = rejectionOf(
      h.client.listProjects({ signal: controller.signal, priority: 'reconcile' }),
    );
    await until(() => h!.clock.sleeping > 0, 'the pacer to wait');
    controller.abort(new Error('stopping'));
    expect((await pending).message).toBe('stopping');
    expect(h.sim.requests()).toHaveLength(1);
    expect(h.client.pacer.stats().queued).toEqual({ trigger: 0, normal: 0, reconcile: 0, poll: 0 });
  });
});
