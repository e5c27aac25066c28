/**
 * The daemon-side commands as an operator runs them: the built CLI spawned against a simulator
 * started by the test, on a temp ledger. `status` needs only the database; `trigger` goes through
 * the daemon's own path and waits for discovery; `reconcile` runs one pass.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

let sim: TestSimulator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startTestSimulator({ buildDurationMs: 1500 });
  dir = mkdtempSync(join(tmpdir(), 'codeship-cron-cli-'));
  writeFileSync(
    join(dir, 'nightly.yaml'),
    'schedules:\n  - { name: nightly-api, cron: "0 2 * * *", project: acme/api, branches: [main, develop] }\n',
  );
  env = {
    CODESHIP_API_URL: sim.url,
    CODESHIP_USERNAME: 'demo@example.com',
    CODESHIP_PASSWORD: 'demo-password',
    SCHEDULES_DIR: dir,
    DATABASE_PATH: join(dir, 'ledger.sqlite'),
  };
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status, trigger and reconcile', { timeout: 60_000 }, () => {
  it('status says where the missing ledger should be, exit 1', async () => {
    const result = await runCli(['status'], { ...env, DATABASE_PATH: join(dir, 'none.sqlite') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: no ledger at ${join(dir, 'none.sqlite')}`);
  });

  it('trigger fires every branch of the schedule now, as manual; with no daemon it does not wait', async () => {
    const started = Date.now();
    const result = await runCli(['trigger', 'nightly-api'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Discovery is the daemon's: none runs on this ledger, so trigger says so and returns at once.
    expect(Date.now() - started).toBeLessThan(10_000);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(
        /^nightly-api on (main|develop): triggered: manual; build not discovered yet \(no daemon runs on this ledger: codeship-cron reconcile finds it\)$/,
      );
    }
    const creates = sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/builds'));
    expect(creates.map((r) => (r.body as { ref: string }).ref).sort()).toEqual([
      'heads/develop',
      'heads/main',
    ]);
  });

  it('status --json prints the contract fields, newest first; the table reads the same', async () => {
    // Let the builds finish, then one reconciliation pass records their outcome.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const reconcile = await runCli(['reconcile'], env);
    expect(reconcile.code).toBe(0);
    expect(reconcile.stdout).toMatch(
      /^reconciled \d+ open slot\(s\) with \d+ API call\(s\); 0 still open\n$/,
    );
    const json = await runCli(['status', '--json'], env);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'schedule',
          'slot',
          'branch',
          'state',
          'reason',
          'build_uuid',
          'build_status',
          'commit_sha',
          'claim',
          'triggered_at',
          'finished_at',
          'attempts',
        ]),
      );
      // The claimed build's commit, and how the claim was made (README, "Build identity").
      expect(row.commit_sha).toMatch(/^[0-9a-f]{40}$/);
      expect(row.claim).toMatch(/^(exact|nearest of \d+)$/);
      expect(row).toMatchObject({
        schedule: 'nightly-api',
        state: 'finished',
        build_status: 'success',
        attempts: 1,
        manual: true,
        reason: 'manual',
      });
    }
    const table = await runCli(['status', 'nightly-api', '--limit', '1'], env);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^SCHEDULE\s+SLOT \(UTC\)\s+BRANCH\s+STATE\s+BUILD\s+ATTEMPTS$/,
    );
    expect(table.stdout).toMatch(
      /nightly-api\s+\S+ \S+Z\s+(main|develop)\s+finished: success \(manual\)/,
    );
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('trigger names the schedules that exist when given an unknown one; usage errors exit 2', async () => {
    const unknown = await runCli(['trigger', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`error: no schedule named "nope" in ${dir}; known: nightly-api\n`);
    const usage = await runCli(['trigger'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: the schedule NAME is required');
    const badLimit = await runCli(['status', '--limit', 'x'], env);
    expect(badLimit.code).toBe(2);
  });

  it('run refuses to start without credentials, listing every problem', async () => {
    const result = await runCli(['run'], {
      SCHEDULES_DIR: dir,
      DATABASE_PATH: join(dir, 'ledger.sqlite'),
      CODESHIP_RATE_LIMIT: 'lots',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CODESHIP_USERNAME is required');
    expect(result.stderr).toContain(
      'CODESHIP_RATE_LIMIT must be an integer between 1 and 10000 (got "lots")',
    );
  });
});
