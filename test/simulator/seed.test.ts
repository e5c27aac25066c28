import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_STATUSES } from '../../src/core/model.ts';
import { defaultSeed, loadSeedFile, SeedError, startSimulator } from '../../src/simulator/index.ts';
import { BUILD_STATUSES as SIMULATED_STATUSES } from '../../src/simulator/lifecycle.ts';
import { startTestSimulator } from '../helpers/simulator.ts';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const DAY_MS = 86_400_000;

function seedFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sim-seed-')), 'seed.json');
  writeFileSync(path, content);
  return path;
}

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).code).toBe('ERR_SIMULATOR_SEED');
    return (error as SeedError).issues;
  }
  throw new Error('expected a SeedError');
}

describe('defaultSeed', () => {
  it('is deterministic for one instant and spreads finished builds over the 90 days before it', () => {
    const seed = defaultSeed(NOW);
    expect(defaultSeed(NOW)).toEqual(seed);
    expect(seed.users.map((u) => [u.username, u.password, u.twoFactor ?? false])).toEqual([
      ['demo@example.com', 'demo-password', false],
      ['twofactor@example.com', 'demo-password', true],
    ]);
    const [acme] = seed.organizations;
    expect(acme!.name).toBe('acme');
    expect(acme!.projects.map((p) => [p.name, p.type])).toEqual([
      ['acme/api', 'pro'],
      ['acme/web', 'basic'],
      ['acme/docs', 'basic'],
    ]);
    for (const project of acme!.projects) {
      const builds = project.builds ?? [];
      const times = builds.map((b) => Date.parse(b.queuedAt));
      expect(Math.max(...times)).toBeLessThan(NOW);
      expect(Math.min(...times)).toBeGreaterThan(NOW - 91 * DAY_MS);
      expect(Math.min(...times)).toBeLessThan(NOW - 80 * DAY_MS);
      expect(new Set(builds.map((b) => b.branch))).toEqual(
        new Set(['main', 'develop', 'release/1.0', 'release/2.0', 'feature/login']),
      );
      expect(builds.every((b) => b.finishedAt !== null && b.finishedAt! > b.queuedAt)).toBe(true);
      // release/1.0 is the stale branch the demo's stale-rebuild schedule picks up.
      const newestRelease = Math.max(
        ...builds.filter((b) => b.branch === 'release/1.0').map((b) => Date.parse(b.queuedAt)),
      );
      expect(NOW - newestRelease).toBeGreaterThan(30 * DAY_MS);
    }
  });

  it('gives the same UUIDs to the same seed in two simulators', async () => {
    await using a = await startTestSimulator({ now: () => NOW });
    await using b = await startTestSimulator({ now: () => NOW });
    expect(a.builds().map((x) => x.uuid)).toEqual(b.builds().map((x) => x.uuid));
    expect(a.builds()[0]!.uuid).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });
});

describe('loadSeedFile', () => {
  it('loads a valid file, keeping given UUIDs', async () => {
    const path = seedFile(
      JSON.stringify({
        users: [{ username: 'u@example.com', password: 'pw', organizations: ['org'] }],
        organizations: [
          {
            uuid: 'org-1',
            name: 'org',
            projects: [
              {
                uuid: 'proj-1',
                name: 'org/app',
                type: 'pro',
                builds: [
                  {
                    uuid: 'b-1',
                    branch: 'main',
                    status: 'testing',
                    queuedAt: '2025-03-01T11:59:00Z',
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const simulator = await startSimulator({ seed: loadSeedFile(path), now: () => NOW });
    try {
      expect(simulator.builds()).toEqual([
        {
          uuid: 'b-1',
          id: 100_001,
          projectId: 1,
          projectUuid: 'proj-1',
          organizationUuid: 'org-1',
          ref: 'heads/main',
          branch: 'main',
          status: 'testing',
          queuedAt: '2025-03-01T11:59:00.000Z',
          finishedAt: null,
          commitSha: expect.stringMatching(/^[0-9a-f]{40}$/),
          username: 'demo',
          pusher: false,
          ghost: false,
        },
      ]);
    } finally {
      await simulator.close();
    }
  });

  it('reports a missing file and invalid JSON', () => {
    const missing = join(tmpdir(), 'no-such-dir-sim', 'seed.json');
    expect(() => loadSeedFile(missing)).toThrow(
      `invalid simulator seed ${missing}:\n  cannot read the file (ENOENT)`,
    );
    expect(issuesOf(() => loadSeedFile(seedFile('{"users": [')))[0]).toMatch(/^not valid JSON \(/);
  });

  it('reports every problem at once, located by JSON path, without echoing passwords', () => {
    const path = seedFile(
      JSON.stringify({
        users: [
          { username: 'u', password: 12345, organizations: ['ghost'] },
          { username: 'u', password: 'pw', organizations: [], admin: true },
        ],
        organizations: [
          {
            name: 'org',
            scopes: ['build.read', 'build.delete'],
            projects: [
              { name: 'org/a', type: 'enterprise' },
              {
                name: 'org/a',
                type: 'basic',
                builds: [
                  { branch: 'main', status: 'done', queuedAt: 'yesterday', commitSha: 'abc' },
                ],
              },
            ],
          },
        ],
      }),
    );
    const issues = issuesOf(() => loadSeedFile(path));
    expect(issues).toEqual([
      'organizations[0].scopes[1]: unknown scope "build.delete" (expected one of project.read, project.write, build.read, build.write)',
      'organizations[0].projects[0].type: must be "basic" or "pro" (got "enterprise")',
      'organizations[0].projects[1].name: duplicate project name "org/a"',
      'organizations[0].projects[1].builds[0].status: unknown build status "done" (expected one of initiated, waiting, testing, stopping, success, error, failed, stopped, infrastructure_failure, ignored, blocked)',
      'organizations[0].projects[1].builds[0].queuedAt: must be an ISO-8601 instant (got "yesterday")',
      'organizations[0].projects[1].builds[0].commitSha: must be 40 lowercase hex digits (got "abc")',
      'users[0].password: must be a non-empty string',
      'users[0].organizations[0]: no organization named "ghost" in this seed',
      'users[1].admin: unknown key (expected one of username, password, displayName, twoFactor, organizations)',
      'users[1].username: duplicate user "u"',
    ]);
    expect(issues.join('\n')).not.toContain('12345');
  });

  it('validates seeds given in code too', async () => {
    await expect(
      startSimulator({ seed: { users: [], organizations: 'none' } as never }),
    ).rejects.toThrow(
      'invalid simulator seed options.seed:\n  organizations: must be an array (got "none")',
    );
  });
});

describe('build statuses', () => {
  it('the simulator knows the same statuses as the product (it keeps its own copy)', () => {
    expect([...SIMULATED_STATUSES]).toEqual([...BUILD_STATUSES]);
  });
});
