/**
 * What the one-shot commands print, as an operator (or a script) reads it through the built CLI:
 * complete JSON through a slow pipe, errors for wrong names, a status table that fits 110 columns,
 * the `logs` formatter, one-line listen errors, and the password rule.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../src/adapters/ledger.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const ROWS = 600;
const LONG_REASON = `POST /organizations/:org/projects/:project/builds answered 422: ${'the branch is protected and cannot be built by this user; '.repeat(3)}`;

let dir: string;
let env: Record<string, string>;

function cli(args: string[], extra: Record<string, string> = {}, input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env, ...extra },
    encoding: 'utf8',
    input,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI with a reader that starts late and takes one small bite at a time. */
function cliThroughSlowPipe(args: string[]): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.pause();
    // 'close' comes once the process has exited and its stdout has ended.
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks) }));
    // The process has written everything (and would have exited) long before the reader starts.
    setTimeout(() => {
      child.stdout.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 2);
      });
      child.stdout.resume();
    }, 500);
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-output-'));
  const schedules = join(dir, 'schedules');
  const empty = join(dir, 'empty');
  for (const folder of [schedules, empty]) rmSync(folder, { recursive: true, force: true });
  spawnSync('mkdir', [schedules, empty]);
  writeFileSync(
    join(schedules, 'nightly.yaml'),
    'schedules:\n  - { name: nightly-api, cron: "0 2 * * *", project: acme/api, branch: main }\n  - { name: weekly-web, cron: "0 3 * * 1", project: acme/web, branch: main }\n',
  );
  env = { DATABASE_PATH: join(dir, 'ledger.sqlite'), SCHEDULES_DIR: schedules };
  const ledger = openLedger(env.DATABASE_PATH as string);
  try {
    const start = Date.parse('2026-01-01T02:00:00Z');
    const recorded = ledger.recordSlots(
      Array.from({ length: ROWS }, (_, i) => {
        const at = new Date(start + i * 86_400_000);
        return {
          schedule: 'nightly-api',
          slotAt: at,
          branch: 'main',
          project: 'acme/api',
          fireAt: at,
          state: 'pending' as const,
        };
      }),
      new Map(),
      new Date(start),
    );
    for (const slot of recorded) ledger.closeSlot(slot.id, 'failed', LONG_REASON, slot.slotAt);
  } finally {
    ledger.close();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stdout is complete and pure', () => {
  it('status --json through a slow pipe arrives whole: one JSON document of every row', async () => {
    const { code, stdout } = await cliThroughSlowPipe([
      'status',
      'nightly-api',
      '--limit',
      String(ROWS),
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(150_000); // far past a 64 KB pipe buffer
    const rows = JSON.parse(stdout.toString('utf8')) as { reason: string }[];
    expect(rows).toHaveLength(ROWS);
    expect(rows[0]?.reason).toBe(LONG_REASON);
  });

  it('logs formats JSON log lines from stdin, one readable line each; other lines pass through', () => {
    const input = [
      '{"level":"info","time":"2026-06-15T01:30:00.123Z","component":"daemon","schedule":"nightly-api","branch":"main","attempt":1,"msg":"build triggered"}',
      '{"level":50,"time":1781487000000,"err":{"message":"boom went the API","code":"ERR_X"},"msg":"slot failed"}',
      'not json at all',
      '',
    ].join('\n');
    const result = cli(['logs'], {}, input);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '2026-06-15 01:30:00Z INFO  build triggered  component=daemon schedule=nightly-api branch=main attempt=1',
        '2026-06-15 01:30:00Z ERROR slot failed  err="ERR_X: boom went the API"',
        'not json at all',
        '',
      ].join('\n'),
    );
  });
});

describe('status', () => {
  it('keeps the table within 110 columns; --json keeps the whole reason', () => {
    const result = cli(['status', '--limit', '3']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5); // header, 3 rows, the note
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(110);
    expect(lines[1]).toBe(
      'nightly-api  2027-08-23 02:00:00Z  main    failed: POST /organizations/:org/projects/:projec…  -      0',
    );
    const json = JSON.parse(cli(['status', '--limit', '1', '--json']).stdout) as {
      reason: string;
    }[];
    expect(json[0]?.reason).toBe(LONG_REASON);
    expect(lines[4]).toBe(
      '(… = cut to fit the terminal; codeship-cron status --json shows every field)',
    );
  });

  it('names the known schedules for an unknown NAME, with a hint, exit 1; a known one without slots is fine', () => {
    const unknown = cli(['status', 'nightly-ap']);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      `error: no schedule named "nightly-ap" in the ledger or in ${env.SCHEDULES_DIR} (did you mean "nightly-api"?); known: nightly-api, weekly-web\n`,
    );
    expect(unknown.code).toBe(1);
    const json = cli(['status', 'nope', '--json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    const fresh = cli(['status', 'weekly-web']);
    expect(fresh).toMatchObject({ code: 0, stdout: 'no slots recorded yet\n', stderr: '' });
  });
});

describe('next', () => {
  it('says an empty schedule folder is an error, on stderr, exit 1, with or without --json', () => {
    for (const args of [['next'], ['next', '--json']]) {
      const result = cli(args, { SCHEDULES_DIR: join(dir, 'empty') });
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: no schedule files in ${join(dir, 'empty')} (expected *.yaml, *.yml or *.json files)\n`,
      );
      expect(result.code).toBe(1);
    }
  });
});

describe('configuration and ports', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('refuses CODESHIP_PASSWORD and CODESHIP_PASSWORD_FILE together', () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'from-the-file\n');
    const result = cli(['projects'], {
      CODESHIP_USERNAME: 'demo@example.com',
      CODESHIP_PASSWORD: 'from-the-env',
      CODESHIP_PASSWORD_FILE: file,
      CODESHIP_API_URL: 'http://127.0.0.1:9/v2',
    });
    expect(result.stderr).toBe(
      'error: invalid configuration:\n  CODESHIP_PASSWORD and CODESHIP_PASSWORD_FILE are both set (expected only one: unset the other)\n',
    );
    expect(result.code).toBe(1);
  });

  it('simulate on a taken port: one error line, exit 1', () => {
    const result = cli(['simulate', '--port', String(port)]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `error: cannot run the simulator on 127.0.0.1:${port}: EADDRINUSE (another process uses that port; free it or choose another with --port)\n`,
    );
    expect(result.code).toBe(1);
  });

  it('demo on a taken status-page port says to use --http-port, and prints no banner', () => {
    const result = cli(['demo', '--http-port', String(port)], {
      DEMO_DATABASE_PATH: join(dir, 'demo.sqlite'),
    });
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `error: cannot serve the status page on 127.0.0.1:${port}: EADDRINUSE (another process uses that port; free it or choose another with --http-port)\n`,
    );
    expect(result.code).toBe(1);
  });
});
