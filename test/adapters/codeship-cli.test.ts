import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, expect, it } from 'vitest';
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  type Simulator,
  startSimulator,
} from '../../src/simulator/index.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

beforeAll(() => {
  if (!existsSync('dist/cli.js'))
    throw new Error('dist/cli.js is missing: run `npm run build` first');
});

/** Runs the built CLI; async so the simulator in this process keeps answering. */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const apiEnv = (url: string, password = DEMO_PASSWORD) => ({
  CODESHIP_API_URL: url,
  CODESHIP_USERNAME: DEMO_USERNAME,
  CODESHIP_PASSWORD: password,
});

it("`projects --json` prints the simulator's projects", async () => {
  sim = await startSimulator({ port: 0 });
  const run = await cli(['projects', '--json'], apiEnv(sim.url));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const projects = JSON.parse(run.stdout) as { uuid: string; name: string; type: string }[];
  const api = sim.builds().find((b) => b.ref)!;
  expect(projects.map(({ name, type }) => ({ name, type }))).toEqual([
    { name: 'acme/api', type: 'pro' },
    { name: 'acme/docs', type: 'basic' },
    { name: 'acme/web', type: 'basic' },
  ]);
  expect(projects.map((p) => p.uuid)).toContain(api.projectUuid);
  expect(Object.keys(projects[0]!)).toEqual(['uuid', 'name', 'type']);
});

it('`projects` prints a table', async () => {
  sim = await startSimulator({ port: 0 });
  const run = await cli(['projects'], apiEnv(sim.url));
  expect(run.status).toBe(0);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^UUID +NAME +TYPE$/);
  expect(lines[1]).toMatch(/^\S+ +acme\/api +pro$/);
  expect(lines[3]).toMatch(/^\S+ +acme\/web +basic$/);
  // Columns line up.
  expect(new Set(lines.map((l) => l.indexOf(l.trim().split(/ +/)[1]!))).size).toBe(1);
});

it('`projects` exits 1 with `error: …` when the API refuses, and never prints the password', async () => {
  sim = await startSimulator({ port: 0 });
  const run = await cli(['projects', '--json'], apiEnv(sim.url, 'wrong-password-xyz'));
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toBe(
    'error: POST /auth: Codeship rejected the credentials of demo@example.com\n',
  );
});

it('`projects` without credentials exits 1 listing what is missing', async () => {
  const run = await cli(['projects'], { CODESHIP_API_URL: 'http://127.0.0.1:9/v2' });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('CODESHIP_USERNAME is required');
  expect(run.stderr).toContain('CODESHIP_PASSWORD is required');
});

it("`clock --json` measures how far the server's clock is ahead, to within a round trip", async () => {
  sim = await startSimulator({ now: () => Date.now() + 47_000 });
  const run = await cli(['clock', '--json', '--samples', '4'], apiEnv(sim.url));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const doc = JSON.parse(run.stdout) as Record<string, number>;
  expect(Object.keys(doc)).toEqual(['offset_ms', 'uncertainty_ms', 'low_ms', 'high_ms', 'answers']);
  expect(doc.low_ms).toBeLessThanOrEqual(47_000);
  expect(doc.high_ms).toBeGreaterThanOrEqual(47_000);
  // One answer bounds it to its 1 s Date resolution plus the round trip; more answers only narrow it.
  expect(doc.uncertainty_ms).toBeLessThan(1100);
  expect(doc.answers).toBe(5);
  const human = await cli(['clock'], apiEnv(sim.url));
  expect(human.stdout).toMatch(
    /^Codeship's clock is \d+ ms ahead of this host's, known to within \d+ ms/,
  );
});
