import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.ts';
import { call, login, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';

let simulator: TestSimulator | null = null;
afterEach(async () => {
  await simulator?.close();
  simulator = null;
});

type ProjectBody = Record<string, unknown> & { uuid: string; name: string; type: string };

async function setup() {
  const clock = new ManualClock('2025-03-01T12:00:00.000Z');
  simulator = await startTestSimulator({ now: () => clock.now().getTime() });
  const sim = simulator;
  const { token, orgUuid } = await login(sim);
  const base = `/organizations/${orgUuid}/projects`;
  return {
    clock,
    orgUuid,
    base,
    send: (method: string, path: string, body?: unknown) =>
      call(sim, method, path, { token, body }),
  };
}

describe('projects', () => {
  it('lists the default seed projects with the envelope, filtered by name and type', async () => {
    const { base, send, orgUuid } = await setup();
    const all = await send('GET', base);
    expect(all.status).toBe(200);
    const body = all.json as {
      projects: ProjectBody[];
      page: number;
      per_page: number;
      total: number;
    };
    expect(body).toMatchObject({ page: 1, per_page: 30, total: 3 });
    expect(body.projects.map((p) => [p.name, p.type])).toEqual([
      ['acme/api', 'pro'],
      ['acme/web', 'basic'],
      ['acme/docs', 'basic'],
    ]);
    expect(body.projects[0]).toMatchObject({
      organization_uuid: orgUuid,
      repository_provider: 'github',
      id: 1,
    });
    expect(body.projects[0]!.aes_key).toEqual(expect.any(String));
    expect(body.projects[0]).not.toHaveProperty('setup_commands');
    expect(body.projects[1]).toMatchObject({
      aes_key: null,
      setup_commands: [],
      test_pipelines: [],
    });
    const basic = (await send('GET', `${base}?type=basic`)).json as {
      projects: ProjectBody[];
      total: number;
    };
    expect(basic.projects.map((p) => p.name)).toEqual(['acme/web', 'acme/docs']);
    const named = (await send('GET', `${base}?name=acme/api`)).json as {
      projects: ProjectBody[];
      total: number;
    };
    expect(named).toMatchObject({ total: 1 });
  });
});
