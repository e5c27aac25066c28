import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createCodeshipClient, nextPageOf } from '../../src/adapters/codeship-client.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import type { RemoteBuild } from '../../src/core/model.ts';
import { DEMO_PASSWORD, DEMO_USERNAME, defaultSeed } from '../../src/simulator/index.ts';
import { harness, rejectionOf, START } from './codeship-harness.ts';

let h: Awaited<ReturnType<typeof harness>> | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A Codeship that grants a token, then answers every call 400 with two API errors. */
async function startRefusingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url === '/v2/auth') {
      return json(200, {
        access_token: 'token',
        expires_at: Math.floor(Date.parse(START) / 1000) + 3600,
        organizations: [{ uuid: 'org-1', name: 'acme', scopes: [] }],
      });
    }
    return json(400, { errors: ['ref is required', 'commit_sha must be a string'] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v2`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function projectUuid(name: string): Promise<string> {
  const project = (await h!.client.listProjects()).find((p) => p.name === name);
  if (!project) throw new Error(`no project ${name}`);
  return project.uuid;
}

describe('codeship client over HTTP: projects and auth', () => {
  it('lists projects with one shared authentication and Bearer tokens', async () => {
    h = await harness();
    const [projects, again, orgUuid] = await Promise.all([
      h.client.listProjects(),
      h.client.listProjects({ priority: 'trigger' }),
      h.client.organizationUuid(),
    ]);
    expect(projects.map((p) => [p.name, p.type])).toEqual([
      ['acme/api', 'pro'],
      ['acme/web', 'basic'],
      ['acme/docs', 'basic'],
    ]);
    expect(again).toEqual(projects);
    expect(projects[0]?.organizationUuid).toBe(orgUuid);
    const records = h.sim.requests();
    expect(records.filter((r) => r.path === '/v2/auth')).toHaveLength(1);
    expect(records[0]).toMatchObject({ method: 'POST', path: '/v2/auth', authorization: 'basic' });
    expect(records.slice(1).every((r) => r.authorization === 'bearer')).toBe(true);
    expect(h.seen().slice(1)).toEqual(['GET /v2/org/projects 200', 'GET /v2/org/projects 200']);
    expect(h.client.pacer.stats()).toMatchObject({ started: 3, inWindow: 3, pausedUntil: null });
    expect(h.events.filter((e) => e.kind === 'request').map((e) => e.endpoint)).toContain(
      'GET /organizations/:org/projects',
    );
  });

  it('says which credentials were rejected', async () => {
    h = await harness({ api: { password: 'wrong-password' } });
    const error = await rejectionOf(h.client.listProjects());
    expect(error).toMatchObject({
      code: 'ERR_CODESHIP_AUTH',
      status: 401,
      method: 'POST',
      path: '/auth',
    });
    expect(error.message).toBe('POST /auth: Codeship rejected the credentials of demo@example.com');
  });

  it('refuses two-factor accounts with a message saying why', async () => {
    h = await harness({ api: { username: 'twofactor@example.com' } });
    const error = await rejectionOf(h.client.organizationUuid());
    expect(error.code).toBe('ERR_CODESHIP_AUTH');
    expect(error.message).toBe(
      'POST /auth: the account twofactor@example.com has two-factor authentication enabled, and two-factor accounts cannot use the API (use an account without 2FA)',
    );
  });

  it('chooses the organization by name (any case) or UUID, and names those that exist', async () => {
    const seed = defaultSeed(Date.parse(START));
    seed.organizations.push({ name: 'beta', uuid: 'beta-uuid-0001', projects: [] });
    seed.users[0]!.organizations.push('beta');
    h = await harness({ sim: { seed } });
    const several = await rejectionOf(h.client.listProjects());
    expect(several.message).toBe(
      'POST /auth: the account demo@example.com belongs to several organizations (acme, beta); set CODESHIP_ORGANIZATION to one of them',
    );
    const url = h.sim.url;
    const make = (organization: string) =>
      createCodeshipClient({
        api: {
          baseUrl: url,
          username: DEMO_USERNAME,
          password: DEMO_PASSWORD,
          organization,
          rateLimitPerMinute: 60,
        },
        clock: h!.clock,
        logger: createLogger({ level: 'silent' }),
      });
    expect(await make('BETA').organizationUuid()).toBe('beta-uuid-0001');
    expect(await make('Beta-UUID-0001').organizationUuid()).toBe('beta-uuid-0001');
    const acme = await make('acme').listProjects();
    expect(acme).toHaveLength(3);
    const unknown = await rejectionOf(make('gamma').listProjects());
    expect(unknown).toMatchObject({ code: 'ERR_CODESHIP_AUTH' });
    expect(unknown.message).toBe(
      'POST /auth: organization "gamma" (CODESHIP_ORGANIZATION) is not one of the account\'s organizations (acme, beta)',
    );
  });

  it('re-authenticates once on a 401, then gives up with ERR_CODESHIP_AUTH', async () => {
    // A token that is already expired when issued: every call is refused.
    h = await harness({ sim: { tokenTtlSeconds: 0 } });
    const error = await rejectionOf(h.client.listProjects());
    expect(error).toMatchObject({
      code: 'ERR_CODESHIP_AUTH',
      status: 401,
      apiErrors: ['Unauthorized'],
    });
    expect(error.message).toBe(
      'GET /organizations/:org/projects: Codeship rejected the token (HTTP 401): Unauthorized',
    );
    expect(h.seen()).toEqual([
      'POST /v2/auth 200',
      'GET /v2/org/projects 401',
      'POST /v2/auth 200',
      'GET /v2/org/projects 401',
    ]);
  });

  it('maps 404 and 400 with the API errors', async () => {
    h = await harness();
    const missing = await rejectionOf(h.client.getBuild('no-such-project', 'no-such-build'));
    expect(missing).toMatchObject({
      code: 'ERR_CODESHIP_NOT_FOUND',
      status: 404,
      apiErrors: ['project not found'],
    });
    expect(missing.message).toBe(
      'GET /organizations/:org/projects/:project/builds/:build: not found (HTTP 404): project not found',
    );
    // The client never sends a create the simulator refuses: a server that refuses everything.
    const refusing = await startRefusingServer();
    try {
      const client = createCodeshipClient({
        api: { ...h.api, baseUrl: refusing.url },
        clock: h.clock,
        logger: createLogger({ level: 'silent' }),
      });
      const bad = await rejectionOf(client.createBuild('p1', { branch: 'main' }));
      expect(bad).toMatchObject({ code: 'ERR_CODESHIP_BAD_REQUEST', status: 400 });
      expect(bad.apiErrors).toEqual(['ref is required', 'commit_sha must be a string']);
      expect(bad.message).toBe(
        'POST /organizations/:org/projects/:project/builds: Codeship refused the request (HTTP 400): ref is required; commit_sha must be a string',
      );
    } finally {
      await refusing.close();
    }
  });
});

describe('codeship client over HTTP: builds', () => {
  it('walks more than 50 builds newest first, page by page, with per_page 50', async () => {
    h = await harness();
    const api = await projectUuid('acme/api');
    const expected = h.sim.builds().filter((b) => b.projectUuid === api);
    expect(expected.length).toBeGreaterThan(100);
    h.sim.resetRequests();
    const walked: RemoteBuild[] = [];
    for await (const build of h.client.listBuilds(api)) walked.push(build);
    expect(walked.map((b) => b.uuid).sort()).toEqual(expected.map((b) => b.uuid).sort());
    const queued = walked.map((b) => b.queuedAt!.getTime());
    expect(queued).toEqual([...queued].sort((a, b) => b - a));
    const pages = Math.ceil(expected.length / 50);
    expect(h.sim.requests().map((r) => r.query)).toEqual(
      Array.from({ length: pages }, (_, i) => ({ page: String(i + 1), per_page: '50' })),
    );
  });

  it('stopping early costs only the pages walked', async () => {
    h = await harness();
    const api = await projectUuid('acme/api');
    h.sim.resetRequests();
    let count = 0;
    for await (const _ of h.client.listBuilds(api, { perPage: 20 })) {
      count += 1;
      if (count === 25) break;
    }
    expect(h.seen().map((line) => line.split(' ')[0])).toEqual(['GET', 'GET']);
    expect(h.sim.requests().map((r) => r.query.page)).toEqual(['1', '2']);
  });

  it('renews the token before it expires in the middle of a walk', async () => {
    h = await harness({ sim: { tokenTtlSeconds: 600 } });
    const api = await projectUuid('acme/api');
    const walk = h.client.listBuilds(api)[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i += 1) await walk.next();
    // 600 s lifetime: renewal is due 60 s before expiry.
    await h.clock.advance(540_000);
    await walk.next();
    await walk.return?.();
    expect(h.seen()).toEqual([
      'POST /v2/auth 200',
      'GET /v2/org/projects 200',
      `GET /v2/org/projects/${api}/builds 200`,
      'POST /v2/auth 200',
      `GET /v2/org/projects/${api}/builds 200`,
    ]);
  });

  it('re-authenticates on a 401 in the middle of a walk when the server clock runs ahead', async () => {
    h = await harness({ sim: { tokenTtlSeconds: 600 }, simSkewMs: 120_000 });
    const api = await projectUuid('acme/api');
    const walk = h.client.listBuilds(api)[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i += 1) await walk.next();
    // The client thinks the token has 90 s left; the server says it expired 30 s ago.
    await h.clock.advance(630_000);
    const next = await walk.next();
    expect(next.done).toBe(false);
    expect(h.seen().slice(2)).toEqual([
      `GET /v2/org/projects/${api}/builds 200`,
      `GET /v2/org/projects/${api}/builds 401`,
      'POST /v2/auth 200',
      `GET /v2/org/projects/${api}/builds 200`,
    ]);
  });

  it('creates a build on heads/<branch>, then gets and stops it', async () => {
    h = await harness();
    const web = await projectUuid('acme/web');
    await h.client.createBuild(web, { branch: 'main' }, { priority: 'trigger' });
    const post = h.sim.requests().at(-1);
    expect(post).toMatchObject({ method: 'POST', status: 202, body: { ref: 'heads/main' } });
    await h.client.createBuild(web, { branch: 'heads/develop', commitSha: 'abc123' });
    expect(h.sim.requests().at(-1)?.body).toEqual({ ref: 'heads/develop', commit_sha: 'abc123' });
    const walk = h.client.listBuilds(web)[Symbol.asyncIterator]();
    const newest = [(await walk.next()).value, (await walk.next()).value] as RemoteBuild[];
    await walk.return?.();
    expect(newest.map((b) => b.ref)).toEqual(['heads/develop', 'heads/main']);
    const created = h.sim
      .builds()
      .filter((b) => b.projectUuid === web && b.branch === 'main')
      .at(-1);
    expect(newest[1]?.uuid).toBe(created?.uuid);
    const build = await h.client.getBuild(web, created!.uuid);
    expect(build).toMatchObject({
      uuid: created!.uuid,
      ref: 'heads/main',
      branch: 'main',
      finishedAt: null,
    });
    await h.client.stopBuild(web, build.uuid);
    expect(h.seen().slice(-2)).toEqual([
      `GET /v2/org/projects/${web}/builds/${build.uuid} 200`,
      `POST /v2/org/projects/${web}/builds/${build.uuid}/stop 202`,
    ]);
  });
});

describe('nextPageOf', () => {
  const page = (p: number, items: number, total: number) => ({
    items: Array.from({ length: items }),
    page: p,
    perPage: 50,
    total,
  });
  const next =
    '<http://x/v2/o/projects?page=3&per_page=50>; rel="next", <http://x/v2/o/projects?page=5&per_page=50>; rel="last"';

  it('follows rel="next" when there is a Link header, and stops without one', () => {
    expect(nextPageOf({ link: next }, page(2, 50, 250))).toBe(3);
    expect(
      nextPageOf({ link: '<http://x/v2/o/p?page=1>; rel="first"' }, page(5, 50, 250)),
    ).toBeNull();
  });

  it('falls back to total when there is no Link header', () => {
    expect(nextPageOf({}, page(1, 50, 51))).toBe(2);
    expect(nextPageOf({}, page(2, 1, 51))).toBeNull();
    expect(nextPageOf({}, page(1, 0, 80))).toBeNull();
  });
});

describe('token renewal margin', () => {
  it('renews a quarter of a short lifetime before expiry', async () => {
    h = await harness({ sim: { tokenTtlSeconds: 120 } });
    await h.client.listProjects();
    await h.clock.advance(89_999);
    await h.client.listProjects();
    await h.clock.advance(1);
    await h.client.listProjects();
    expect(h.seen()).toEqual([
      'POST /v2/auth 200',
      'GET /v2/org/projects 200',
      'GET /v2/org/projects 200',
      'POST /v2/auth 200',
      'GET /v2/org/projects 200',
    ]);
  });
});
