import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorOptions, SimulatorSeed } from '../../src/simulator/index.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import {
  basicAuth,
  call,
  login,
  startTestSimulator,
  type TestSimulator,
} from '../helpers/simulator.ts';

// Our clock is 600 ms into a second, so a 1 s Date header is visibly truncated.
const START = '2025-03-01T12:00:00.600Z';
let simulator: TestSimulator | null = null;
afterEach(async () => {
  await simulator?.close();
  simulator = null;
});

const SEED: SimulatorSeed = {
  users: [{ username: 'bot@example.com', password: 'pw', organizations: ['acme'] }],
  organizations: [{ name: 'acme', projects: [{ name: 'acme/app', type: 'basic' }] }],
};

async function setup(options: SimulatorOptions = {}) {
  const clock = new ManualClock(START);
  simulator = await startTestSimulator({
    seed: SEED,
    now: () => clock.now().getTime(),
    rateLimit: null,
    idSalt: 'clock-test',
    ...options,
  });
  const sim = simulator;
  const { token, orgUuid } = await login(sim, 'bot@example.com', 'pw');
  const projects = (await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token }))
    .json as { projects: { uuid: string }[] };
  const builds = `/organizations/${orgUuid}/projects/${projects.projects[0]!.uuid}/builds`;
  return { sim, clock, token, orgUuid, builds };
}

describe('the server clock (clockOffsetMs)', () => {
  it('dates every API answer, and the times it reports, 47 s ahead of ours', async () => {
    const { sim, clock, token, orgUuid, builds } = await setup({ clockOffsetMs: 47_000 });
    const server = 'Sat, 01 Mar 2025 12:00:47 GMT';

    const auth = await fetch(`${sim.url}/auth`, {
      method: 'POST',
      headers: { Authorization: basicAuth('bot@example.com', 'pw') },
    });
    expect(auth.headers.get('date')).toBe(server);
    const { expires_at } = (await auth.json()) as { expires_at: number };
    expect(expires_at).toBe(Date.parse('2025-03-01T12:00:47Z') / 1000 + 3600);

    const list = await call(sim, 'GET', builds, { token });
    expect(list.status).toBe(200);
    expect(list.headers.get('date')).toBe(server);

    const create = await call(sim, 'POST', builds, { token, body: { ref: 'heads/main' } });
    expect(create.status).toBe(202);
    expect(create.headers.get('date')).toBe(server);
    const listed = (await call(sim, 'GET', builds, { token })).json as {
      builds: { queued_at: string }[];
    };
    expect(listed.builds[0]!.queued_at).toBe('2025-03-01T12:00:47.600+00:00');
    expect(sim.builds()[0]!.queuedAt).toBe('2025-03-01T12:00:47.600Z');
    expect(sim.requests().at(-1)!.at).toBe('2025-03-01T12:00:47.600Z');

    const projects = await call(sim, 'GET', `/organizations/${orgUuid}/projects`, { token });
    expect(projects.status).toBe(200);
    expect(projects.headers.get('date')).toBe(server);

    await clock.advance(500);
    const later = await call(sim, 'GET', builds, { token });
    expect(later.headers.get('date')).toBe('Sat, 01 Mar 2025 12:00:48 GMT');
  });

  it('dates rate-limit 403s, fault errors, 404s and the admin endpoints too', async () => {
    const { sim, token, builds } = await setup({
      clockOffsetMs: -120_000,
      rateLimit: { requests: 3, windowMs: 60_000 },
    });
    const server = 'Sat, 01 Mar 2025 11:58:00 GMT';
    expect((await call(sim, 'GET', '/organizations', { token })).headers.get('date')).toBe(server);
    // The login and the projects list of setup() and this list fill the window of 3.
    expect((await call(sim, 'GET', builds, { token })).status).toBe(200);
    const limited = await call(sim, 'GET', builds, { token });
    expect(limited.status).toBe(403);
    expect(limited.text).toBe('Rate Limit Exceeded');
    expect(limited.headers.get('date')).toBe(server);

    sim.setFaults({ errorRate: 1, seed: 7 });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i += 1) {
      const answer = await call(sim, 'GET', builds, { token });
      statuses.add(answer.status);
      expect(answer.headers.get('date')).toBe(server);
    }
    expect([...statuses].sort()).toEqual([500, 502, 503]);

    const origin = sim.url.replace(/\/v2$/, '');
    for (const [method, path] of [
      ['GET', '/_simulator/builds'],
      ['POST', '/_simulator/reset-requests'],
      ['GET', '/_simulator/nope'],
    ] as const) {
      const answer = await fetch(`${origin}${path}`, { method });
      expect(answer.headers.get('date'), path).toBe(server);
    }
  });

  it('moves with setClockOffset, and defaults to our clock', async () => {
    const { sim, token, builds } = await setup();
    expect((await call(sim, 'GET', builds, { token })).headers.get('date')).toBe(
      'Sat, 01 Mar 2025 12:00:00 GMT',
    );
    sim.setClockOffset(3_600_000);
    expect((await call(sim, 'GET', builds, { token })).headers.get('date')).toBe(
      'Sat, 01 Mar 2025 13:00:00 GMT',
    );
    expect(() => sim.setClockOffset(Number.NaN)).toThrow(
      'invalid simulator options:\n  clockOffsetMs: must be a finite number of milliseconds (got NaN)',
    );
  });

  it('sends exactly one Date header', async () => {
    const { sim, token, builds } = await setup({ clockOffsetMs: 47_000 });
    const raw = await new Promise<string[]>((resolve, reject) => {
      request(`${sim.url}${builds}`, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.rawHeaders);
      })
        .on('error', reject)
        .end();
    });
    const dates = raw.filter((_, i) => i % 2 === 0 && raw[i]!.toLowerCase() === 'date');
    expect(dates).toHaveLength(1);
  });
});
