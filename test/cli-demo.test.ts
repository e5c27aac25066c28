/**
 * The README's first command, run twice on one ledger as a newcomer does: `demo` triggers,
 * discovers and finishes builds and fires both chains; run again (a fresh simulator, so the first
 * run's builds are gone) it carries on at once. No slot fails but those whose build no longer
 * exists, nothing waits long for the API budget, and each run stops cleanly on Ctrl-C (SIGINT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { LAST_RUN_GONE } from '../src/commands/demo.ts';
import { closeLedgerSql, queryRows } from './helpers/ledger-sql.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cli-demo-'));
const ledger = join(dir, 'demo.sqlite');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => {
  closeLedgerSql(ledger);
  rmSync(dir, { recursive: true, force: true });
});

interface Row {
  schedule: string;
  state: string;
  reason: string | null;
  error: string | null;
  fire_at: string;
  intent_at: string | null;
  created_at: string;
  manual: number;
}

const rows = (): Row[] =>
  existsSync(ledger) ? queryRows<Row>(ledger, 'SELECT * FROM slots ORDER BY id') : [];

function startDemo(): {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
} {
  const child = spawn(process.execPath, [CLI, 'demo', '--build-seconds', '3'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      DEMO_DATABASE_PATH: ledger,
      HTTP_ADDR: '127.0.0.1:0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, exited, output: () => output };
}

async function until(
  what: string,
  done: () => boolean,
  maxMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Finished slots of `schedule` recorded at or after `since`. */
const finishedSince = (schedule: string, since: string) =>
  rows().filter((r) => r.schedule === schedule && r.state === 'finished' && r.created_at >= since)
    .length;

it('runs twice on one ledger: builds, chains, and a second run that carries on at once', {
  timeout: 150_000,
}, async () => {
  for (const run of [1, 2]) {
    const since = new Date().toISOString();
    const demo = startDemo();
    await until(
      `run ${run}: both chains built after a demo-api-main build`,
      () =>
        finishedSince('demo-api-main', since) >= 2 &&
        finishedSince('demo-web-develop', since) >= 1 &&
        finishedSince('demo-docs-after-api', since) >= 1 &&
        finishedSince('demo-web-after-api-builds', since) >= 1,
      60_000,
      demo.output,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited, demo.output()).toBe(0);
    expect(demo.output()).toContain('chain fired');
    expect(demo.output()).not.toMatch(/ERROR|FATAL/);
  }
  const all = rows();
  // The only failures: builds and creates the first run left, gone with its simulator.
  for (const row of all.filter((r) => r.state === 'failed'))
    expect(row.error, JSON.stringify(row)).toBe(LAST_RUN_GONE);
  // Nothing waited long for its create: the demo stays within the API's 60 requests a minute.
  const late = all.filter(
    (r) => r.intent_at !== null && Date.parse(r.intent_at) - Date.parse(r.fire_at) > 10_000,
  );
  expect(late.map((r) => `${r.schedule} ${r.fire_at} sent ${r.intent_at}`)).toEqual([]);
});
