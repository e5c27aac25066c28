import { afterEach, describe, expect, it } from 'vitest';
import { matchesRoute, type RequestRecord, validateFaults } from '../../src/simulator/index.ts';
import { call, login, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';

let simulator: TestSimulator | null = null;
afterEach(async () => {
  await simulator?.close();
  simulator = null;
});

async function setup() {
  simulator = await startTestSimulator({ rateLimit: null });
  const sim = simulator;
  const { token, orgUuid } = await login(sim);
  const projects = (
    await call(sim, 'GET', `/organizations/${orgUuid}/projects?name=acme/web`, { token })
  ).json as {
    projects: { uuid: string }[];
  };
  const builds = `/organizations/${orgUuid}/projects/${projects.projects[0]!.uuid}/builds`;
  return { sim, token, builds, before: sim.builds().length };
}

/** fetch that reports how it ended instead of throwing. */
async function attempt(url: string, init: RequestInit): Promise<number | 'reset' | 'timeout'> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(300) });
    await response.text();
    return response.status;
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'reset';
  }
}

describe('faults', () => {
  it('errorRate answers 500/502/503 without effect and is recorded', async () => {
    const { sim, token, builds, before } = await setup();
    sim.setFaults({ errorRate: 1, seed: 7 });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i += 1) {
      const answer = await call(sim, 'POST', builds, { token, body: { ref: 'heads/main' } });
      statuses.add(answer.status);
      if (answer.status === 500) expect(answer.json).toEqual({ errors: ['Internal Server Error'] });
      else expect(answer.text).toContain(`<h1>${answer.status}`);
    }
    expect([...statuses].sort()).toEqual([500, 502, 503]);
    expect(sim.builds()).toHaveLength(before);
    expect(sim.requests().at(-1)).toMatchObject({ method: 'POST', fault: 'error' });
  });

  it('resetRate destroys the connection without effect', async () => {
    const { sim, token, builds, before } = await setup();
    sim.setFaults({ resetRate: 1 });
    const outcome = await attempt(`${sim.url}${builds}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ref: 'heads/main' }),
    });
    expect(outcome).toBe('reset');
    expect(sim.builds()).toHaveLength(before);
    expect(sim.requests().at(-1)).toMatchObject({ status: 0, fault: 'reset' });
  });

  it('timeoutRate holds the request until the client gives up, and close() still returns', async () => {
    const { sim, token, builds } = await setup();
    sim.setFaults({ timeoutRate: 1 });
    const outcome = await attempt(`${sim.url}${builds}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(outcome).toBe('timeout');
    expect(sim.requests().at(-1)).toMatchObject({ status: 0, fault: 'timeout' });
    // A second held request still open when closing must not keep close() waiting.
    void fetch(`${sim.url}${builds}`, { headers: { Authorization: `Bearer ${token}` } }).catch(
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sim.close();
    simulator = null;
  });

  it('ghostCreateRate really creates the build, then hides that from the client', async () => {
    const { sim, token, builds, before } = await setup();
    sim.setFaults({ ghostCreateRate: 1, seed: 3 });
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 9; i += 1) {
      outcomes.push(
        await attempt(`${sim.url}${builds}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ ref: 'heads/main' }),
        }),
      );
    }
    expect(new Set(outcomes)).toEqual(new Set([500, 'reset', 'timeout']));
    const ghosts = sim.builds().slice(before);
    expect(ghosts).toHaveLength(9);
    expect(ghosts.every((b) => b.ghost && b.branch === 'main')).toBe(true);
    const faults = sim
      .requests()
      .filter((r) => r.path.endsWith('/builds'))
      .map((r) => r.fault);
    expect(new Set(faults)).toEqual(new Set(['ghost-error', 'ghost-reset', 'ghost-timeout']));
    // Only creates that build something are ghosted: a 400 is answered as usual.
    expect((await call(sim, 'POST', builds, { token, body: {} })).status).toBe(400);
  });

  it('`only` narrows faults to matching routes, and a seed makes the sequence reproducible', async () => {
    const { sim, token, builds } = await setup();
    sim.setFaults({ errorRate: 0.5, only: ['POST /builds'], seed: 42 });
    for (let i = 0; i < 5; i += 1)
      expect((await call(sim, 'GET', builds, { token })).status).toBe(200);
    const run = async () => {
      sim.setFaults({ errorRate: 0.5, only: ['POST /builds'], seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1)
        statuses.push((await call(sim, 'POST', builds, { token, body: { ref: 'x' } })).status);
      return statuses;
    };
    const first = await run();
    expect(first).toContain(202);
    expect(first.some((s) => s >= 500)).toBe(true);
    expect(await run()).toEqual(first);
  });

  it('latencyMs delays each answer', async () => {
    const { sim, token, builds } = await setup();
    sim.setFaults({ latencyMs: 150 });
    const started = performance.now();
    expect((await call(sim, 'GET', builds, { token })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('matches route patterns by method and path tail', () => {
    const create = '/organizations/:org/projects/:project/builds';
    expect(
      matchesRoute('POST /builds', 'POST', create, '/v2/organizations/o/projects/p/builds'),
    ).toBe(true);
    expect(
      matchesRoute('GET /builds', 'POST', create, '/v2/organizations/o/projects/p/builds'),
    ).toBe(false);
    expect(
      matchesRoute('POST /builds', 'POST', `${create}/:build/stop`, '/v2/x/builds/b/stop'),
    ).toBe(false);
    expect(
      matchesRoute('POST /builds/*/stop', 'POST', `${create}/:build/stop`, '/v2/x/builds/b/stop'),
    ).toBe(true);
    expect(matchesRoute('* /auth', 'POST', '/auth', '/v2/auth')).toBe(true);
    expect(matchesRoute('POST', 'POST', '/auth', '/v2/auth')).toBe(true);
  });

  it('rejects invalid faults with every problem listed', () => {
    expect(() => validateFaults({ errorRate: 2, latency: 5 })).toThrow(
      'invalid faults:\n  latency: unknown key (expected one of errorRate, timeoutRate, resetRate, ghostCreateRate, latencyMs, only, seed)\n  errorRate: must be a number from 0 to 1 (got 2)',
    );
  });
});

describe('inspection endpoints', () => {
  it('serve requests, builds and faults without auth, rate limit or recording', async () => {
    simulator = await startTestSimulator({ rateLimit: { requests: 1, windowMs: 60_000 } });
    const sim = simulator;
    const { token, orgUuid } = await login(sim);
    await call(sim, 'GET', `/organizations/${orgUuid}/projects?page=1`, { token });
    const origin = sim.url.replace(/\/v2$/, '');
    const requests = (await (
      await fetch(`${origin}/_simulator/requests`)
    ).json()) as RequestRecord[];
    expect(requests.map((r) => [r.method, r.status, r.query])).toEqual([
      ['POST', 200, {}],
      ['GET', 403, { page: '1' }],
    ]);
    const builds = (await (await fetch(`${origin}/_simulator/builds`)).json()) as unknown[];
    expect(builds).toEqual(sim.builds());
    const set = await fetch(`${origin}/_simulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ errorRate: 1 }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ errorRate: 1 });
    expect(
      (await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token })).status,
    ).toBeGreaterThanOrEqual(500);
    const bad = await fetch(`${origin}/_simulator/faults`, {
      method: 'POST',
      body: '{"resetRate":-1}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      errors: ['invalid faults:\n  resetRate: must be a number from 0 to 1 (got -1)'],
    });
    expect((await fetch(`${origin}/_simulator/reset-requests`, { method: 'POST' })).status).toBe(
      204,
    );
    expect(sim.requests()).toEqual([]);
    expect(await (await fetch(`${origin}/_simulator/requests`)).json()).toEqual([]);
  });
});
