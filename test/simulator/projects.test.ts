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
    const one = await send('GET', `${base}/${named.projects[0]!.uuid}`);
    expect(one.status).toBe(200);
    expect(one.json).toEqual({ project: named.projects[0] });
  });

  it('creates a project (201) named after its repository, with pipeline ids for Basic', async () => {
    const { base, send } = await setup();
    const created = await send('POST', base, {
      repository_url: 'git@github.com:acme/new-repo.git',
      type: 'basic',
      team_ids: [61593],
      test_pipelines: [{ name: 'run tests', commands: ['./run-tests.sh'] }],
    });
    expect(created.status).toBe(201);
    const { project } = created.json as { project: ProjectBody };
    expect(project).toMatchObject({
      name: 'acme/new-repo',
      type: 'basic',
      team_ids: [61593],
      test_pipelines: [{ id: 1, name: 'run tests', commands: ['./run-tests.sh'] }],
      created_at: '2025-03-01T12:00:00.000Z',
    });
    expect((await send('GET', `${base}/${project.uuid}`)).json).toEqual({ project });
    const again = await send('POST', base, {
      repository_url: 'https://github.com/acme/new-repo',
      type: 'pro',
    });
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ errors: ['Repository url has already been taken'] });
  });

  it('answers 400 with every problem of a create body', async () => {
    const { base, send } = await setup();
    const answer = await send('POST', base, { type: 'enterprise', setup_commands: 'make' });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      errors: [
        "Repository url can't be blank",
        'Type must be basic or pro',
        'setup_commands must be an array',
      ],
    });
  });

  it('replaces a project on PUT: omitted settings reset, pipelines kept, updated_at moves', async () => {
    const { base, send, clock } = await setup();
    const { project } = (
      await send('POST', base, {
        repository_url: 'https://github.com/acme/put',
        type: 'basic',
        setup_commands: ['npm ci'],
        environment_variables: [{ name: 'A', value: '1' }],
        test_pipelines: [{ name: 't', commands: ['npm test'] }],
      })
    ).json as { project: ProjectBody };
    await clock.advance(60_000);
    const updated = await send('PUT', `${base}/${project.uuid}`, { type: 'basic', team_ids: [7] });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({
      project: {
        uuid: project.uuid,
        setup_commands: [],
        environment_variables: [],
        team_ids: [7],
        test_pipelines: [{ id: 1, name: 't', commands: ['npm test'] }],
        updated_at: '2025-03-01T12:01:00.000Z',
      },
    });
    const missingType = await send('PUT', `${base}/${project.uuid}`, { team_ids: [7] });
    expect(missingType.status).toBe(400);
    expect(missingType.json).toEqual({ errors: ["Type can't be blank"] });
  });

  it('answers 400 to a body that is not JSON', async () => {
    const { base } = await setup();
    const { token } = await login(simulator!);
    const response = await fetch(`${simulator!.url}${base}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{"type":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: ['request body is not valid JSON'] });
  });
});
