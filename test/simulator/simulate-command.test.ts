import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basicAuth } from '../helpers/simulator.ts';

const CLI = 'dist/cli.js';

describe('codeship-cron simulate', () => {
  it('prints its one line, serves the API, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'simulate', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('\n')) resolve(stdout);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });
    const match =
      /^codeship simulator listening on (http:\/\/127\.0\.0\.1:(\d+)\/v2) \(user demo@example\.com, password demo-password\)\n$/.exec(
        line,
      );
    expect(match, line).not.toBeNull();
    const auth = await fetch(`${match![1]}/auth`, {
      method: 'POST',
      headers: { Authorization: basicAuth('demo@example.com', 'demo-password') },
    });
    expect(auth.status).toBe(200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('runs the server clock 2 min behind ours with pushes by others switched on', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'simulate',
        '--port',
        '0',
        '--clock-offset=-2m',
        '--push-rate',
        '1',
        '--push-spread',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
          const match = /listening on (\S+)/.exec(stdout);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const sentAtMs = Date.now();
      const auth = await fetch(`${url}/auth`, {
        method: 'POST',
        headers: { Authorization: basicAuth('demo@example.com', 'demo-password') },
      });
      const offsetMs = Date.parse(auth.headers.get('date')!) - sentAtMs;
      expect(offsetMs).toBeGreaterThan(-125_000);
      expect(offsetMs).toBeLessThan(-115_000);
      const pushes = await fetch(`${url.replace(/\/v2$/, '')}/_simulator/pushes`);
      expect(await pushes.json()).toEqual({ rate: 1, spreadMs: 0 });
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('answers usage errors with exit 2', () => {
    const result = spawnSync(process.execPath, [CLI, 'simulate', '--port', 'abc'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('error: --port must be an integer from 0 to 65535 (got "abc")');
    const unknown = spawnSync(process.execPath, [CLI, 'simulate', '--bogus'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('error: unknown option --bogus\n');
    for (const [args, message] of [
      [
        ['--clock-offset', 'soon'],
        '--clock-offset must be a signed duration like 47s, -2m or 0 (got "soon")',
      ],
      [['--push-rate', '2'], '--push-rate must be a number from 0 to 1 (got "2")'],
      [
        ['--push-rate', '0.5', '--push-spread', 'wide'],
        '--push-spread must be a duration like 5s or 500ms (got "wide")',
      ],
      [['--push-spread', '5s'], '--push-spread needs --push-rate'],
      [
        ['--webhook', 'http://127.0.0.1:8080/ok', '--webhook', 'https://hooks.example.com/x'],
        '--webhook must be an http:// URL on 127.0.0.1, localhost or [::1] (the simulator never sends outside this machine) (got "https://hooks.example.com/x")',
      ],
    ] as const) {
      const result = spawnSync(process.execPath, [CLI, 'simulate', ...args], { encoding: 'utf8' });
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`error: ${message}\n`);
      expect(result.stderr).toContain('[--clock-offset D] [--push-rate R] [--push-spread D]');
    }
  });

  it('reports an invalid seed file with exit 1', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'seed.json');
    writeFileSync(
      path,
      JSON.stringify({
        users: [],
        organizations: [{ name: 'x', projects: [{ name: 'x/y', type: 'gold' }] }],
      }),
    );
    const result = spawnSync(process.execPath, [CLI, 'simulate', '--seed', path], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `error: invalid simulator seed ${path}:\n  organizations[0].projects[0].type: must be "basic" or "pro" (got "gold")\n`,
    );
  });
});
