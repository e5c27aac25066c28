/**
 * `trigger` and `check` through the built CLI against the bundled simulator: manual sweeps keep
 * every branch's reason, `--branch` must match the schedule, a failed trigger prints one JSON
 * document (its log line goes to stderr) and one true human line, and `check` finds a wrong
 * project, a misspelt branch and a glob that matches nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SCHEDULES = `schedules:
  - { name: nightly-api, cron: "0 2 * * *", project: acme/api, branches: [main, develop] }
  - { name: releases-web, cron: "0 3 * * *", project: acme/web, branches: ["release/*"] }
  - name: stale-releases
    cron: "30 3 * * 1"
    project: acme/api
    branches: ["release/*"]
    stale: { older_than: 7d, max: 5 }
  - { name: wrong-project, cron: "0 4 * * *", project: acme/apx, branch: main }
`;

let sim: TestSimulator;
let dir: string;
let env: Record<string, string>;

const creates = () =>
  sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));

beforeAll(async () => {
  sim = await startTestSimulator({ buildDurationMs: 1500 });
  dir = mkdtempSync(join(tmpdir(), 'codeship-cron-trigger-'));
  mkdirSync(join(dir, 'schedules'));
  writeFileSync(join(dir, 'schedules', 'all.yaml'), SCHEDULES);
  env = {
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    SCHEDULES_DIR: join(dir, 'schedules'),
    DATABASE_PATH: join(dir, 'ledger.sqlite'),
  };
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trigger', { timeout: 60_000 }, () => {
  it('records every branch a manual sweep considered, with its reason, all marked manual', async () => {
    const result = await runCli(['trigger', 'stale-releases', '--json'], env);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          branch: 'release/1.0',
          manual: true,
          reason: expect.stringMatching(/^stale \(last built 4\dd ago\)$/),
          state: 'triggered',
        }),
        expect.objectContaining({
          branch: 'release/2.0',
          state: 'skipped',
          manual: true,
          reason: expect.stringMatching(/^fresh \(last built \dd ago\)$/),
        }),
      ]),
    );
    expect(rows).toHaveLength(2);
    const status = await runCli(['status', 'stale-releases', '--json'], env);
    expect((JSON.parse(status.stdout) as unknown[]).length).toBe(2);
    const table = await runCli(['status', 'stale-releases'], env);
    expect(table.stdout).toMatch(/release\/2\.0 +skipped: fresh \(last built \dd.* \(manual\)/);
  });

  it('refuses --branch outside the schedule unless --any-branch, before any API call', async () => {
    const before = creates().length;
    const refused = await runCli(['trigger', 'nightly-api', '--branch', 'feature/login'], env);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `error: branch "feature/login" does not match schedule nightly-api's branches (main, develop); --any-branch fires it anyway\n`,
    );
    expect(refused.code).toBe(1);
    expect(creates().length).toBe(before);
    const glob = await runCli(
      ['trigger', 'releases-web', '--branch', 'release/2.0', '--wait', '0s'],
      env,
    );
    expect(glob.code).toBe(0);
    const forced = await runCli(
      ['trigger', 'nightly-api', '--branch', 'feature/login', '--any-branch', '--json'],
      env,
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual([
      expect.objectContaining({ branch: 'feature/login', manual: true }),
    ]);
    const usage = await runCli(['trigger', 'nightly-api', '--any-branch'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: --any-branch needs --branch B');
  });

  it('prints a failed slot as one JSON document on stdout; its log line goes to stderr', async () => {
    const result = await runCli(['trigger', 'wrong-project', '--json'], env);
    expect(result.code).toBe(1);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows).toEqual([
      expect.objectContaining({
        schedule: 'wrong-project',
        state: 'failed',
        reason:
          'project "acme/apx" not found in the organization (projects: acme/api, acme/web, acme/docs)',
      }),
    ]);
    expect(JSON.parse(result.stderr.trim().split('\n')[0] as string)).toMatchObject({
      level: 'error',
      msg: 'slot failed',
    });
  });

  it('says one true thing about a failed slot in its human line', async () => {
    const result = await runCli(['trigger', 'wrong-project'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'wrong-project on main: failed: project "acme/apx" not found in the organization (projects: acme/api, acme/web, acme/docs)\n',
    );
  });

  it('hints at the schedule meant when NAME is misspelt', async () => {
    const result = await runCli(['trigger', 'nightly-apj'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: no schedule named "nightly-apj" in ${env.SCHEDULES_DIR} (did you mean "nightly-api"?); known: nightly-api, releases-web, stale-releases, wrong-project\n`,
    );
  });
});

describe('check', { timeout: 60_000 }, () => {
  it('reports a wrong project, a branch never built and a glob matching nothing, exit 1', async () => {
    writeFileSync(
      join(dir, 'schedules', 'more.yaml'),
      `schedules:
  - { name: typo-branch, cron: "0 5 * * *", project: acme/web, branch: mian }
  - { name: hotfixes, cron: "0 6 * * *", project: acme/api, branches: [main, "hotfix/*"] }
`,
    );
    try {
      const file = join(dir, 'schedules', 'all.yaml');
      const more = join(dir, 'schedules', 'more.yaml');
      const result = await runCli(['check'], env);
      expect(result.stderr).toBe(
        [
          `${file}:9: schedule wrong-project: project: "acme/apx" not found in the organization (did you mean "acme/api"?)`,
          `${more}:2: schedule typo-branch: branch: "mian" has no build in acme/web's build history (expected one of: develop, feature/login, main, release/1.0, release/2.0)`,
          `${more}:3: schedule hotfixes: branches: "hotfix/*" matches no branch in acme/api's build history (expected a glob matching one of: develop, feature/login, main, release/1.0, release/2.0)`,
          'error: 3 problems',
          '',
        ].join('\n'),
      );
      expect(result.stdout).toBe(
        [
          'nightly-api: ok (acme/api: main; develop)',
          'releases-web: ok (acme/web: release/* matches release/1.0, release/2.0)',
          'stale-releases: ok (acme/api: release/* matches release/1.0, release/2.0)',
          '',
        ].join('\n'),
      );
      expect(result.code).toBe(1);

      const json = await runCli(['check', '--json'], env);
      expect(json.code).toBe(1);
      const document = JSON.parse(json.stdout) as {
        ok: boolean;
        problems: { schedule: string; field: string; text: string }[];
        schedules: { schedule: string; ok: boolean; project_uuid: string | null }[];
      };
      expect(document.ok).toBe(false);
      expect(document.problems.map((p) => [p.schedule, p.field])).toEqual([
        ['wrong-project', 'project'],
        ['typo-branch', 'branch'],
        ['hotfixes', 'branches'],
      ]);
      expect(document.schedules.find((s) => s.schedule === 'wrong-project')).toMatchObject({
        ok: false,
        project_uuid: null,
      });
    } finally {
      rmSync(join(dir, 'schedules', 'more.yaml'));
    }
  });

  it('prints the API demand ahead after its lines, in --json under demand; --strict exits 1 on a warning', async () => {
    const busy = join(dir, 'busy');
    mkdirSync(busy, { recursive: true });
    writeFileSync(
      join(busy, 'a.yaml'),
      'schedules:\n  - { name: every-second, cron: "* * * * * *", project: acme/api, branches: [main, develop] }\n',
    );
    const result = await runCli(['check'], { ...env, SCHEDULES_DIR: busy });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('every-second: ok (acme/api: main; develop)');
    expect(lines[1]).toMatch(/^warning: 7200 creates in the hour from .*superseded$/);
    expect(lines.slice(2)).toEqual([
      'warning:   every-second: 7200 creates in that hour',
      'warning:   they collide in every minute of that hour',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const strict = await runCli(['check', '--strict'], { ...env, SCHEDULES_DIR: busy });
    // The same report; the hour it starts from is the current minute, which may have moved on.
    const minute = (text: string) => text.replace(/\d{4}-\d\d-\d\d \d\d:\d\dZ/, '<minute>');
    expect(strict.code).toBe(1);
    expect(minute(strict.stdout)).toBe(minute(result.stdout));

    const json = await runCli(['check', '--json', '--strict'], { ...env, SCHEDULES_DIR: busy });
    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout) as {
      ok: boolean;
      demand: {
        creates_per_minute_budget: number;
        excesses: {
          schedules: { schedule: string; creates: number }[];
          collide_minutes: string[];
        }[];
        warnings: string[];
      };
    };
    expect(document.ok).toBe(true);
    expect(document.demand.creates_per_minute_budget).toBe(24);
    expect(document.demand.excesses[0]?.schedules).toEqual([
      { schedule: 'every-second', creates: 7200 },
    ]);
    expect(document.demand.excesses[0]?.collide_minutes).toHaveLength(60);
    expect(document.demand.warnings).toEqual(lines.slice(1));
  });

  it('reads the history only as far as the schedules need, and exits 0 when all is well', async () => {
    const sound = join(dir, 'sound');
    mkdirSync(sound, { recursive: true });
    writeFileSync(
      join(sound, 'a.yaml'),
      'schedules:\n  - { name: nightly-api, cron: "0 2 * * *", project: acme/api, branch: main }\n',
    );
    sim.resetRequests();
    const result = await runCli(['check'], { ...env, SCHEDULES_DIR: sound });
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: 'nightly-api: ok (acme/api: main)\n',
    });
    const pages = sim.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/builds'));
    expect(pages).toHaveLength(1);
  });
});
