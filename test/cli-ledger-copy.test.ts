/**
 * `ledger copy --to postgres://…` (the built CLI): a SQLite ledger moves into PostgreSQL row for
 * row, ids included, and the PostgreSQL store then reads what the SQLite store read; a database
 * that already holds a ledger is refused. `backup` on PostgreSQL points at pg_dump.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openLedger } from '../src/adapters/ledger.ts';
import { openPgLedger } from '../src/adapters/ledger-pg.ts';
import type { LedgerStore } from '../src/ports.ts';
import { usePostgres } from './helpers/stores.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const server = usePostgres();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-copy-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Everything a reader of the ledger sees, through the store's own port. */
async function view(ledger: LedgerStore) {
  const slots = await ledger.listSlots({ limit: 1000 });
  return {
    slots,
    attempts: await Promise.all(slots.map((s) => ledger.attemptsOf(s.id))),
    marks: await ledger.marks(),
    heartbeat: await ledger.lastHeartbeat(),
    counts: (await ledger.slotCounts()).sort(
      (a, b) => a.schedule.localeCompare(b.schedule) || a.state.localeCompare(b.state),
    ),
  };
}

it('copies a SQLite ledger into an empty PostgreSQL database, and refuses a second copy', async () => {
  const file = join(dir, 'ledger.sqlite');
  const sqlite = openLedger(file);
  const now = new Date('2026-06-01T10:00:00.000Z');
  const slots = Array.from({ length: 30 }, (_, i) => ({
    schedule: `s${i % 3}`,
    slotAt: new Date(now.getTime() - i * 60_000),
    branch: 'main',
    project: 'acme/api',
    fireAt: new Date(now.getTime() - i * 60_000),
    state: 'pending' as const,
  }));
  const recorded = sqlite.recordSlots(slots, new Map([['s0', now]]), now);
  for (const [i, slot] of recorded.slice(0, 10).entries()) {
    const attempt = sqlite.beginAttempt(slot.id, 'p-uuid', 0, now, { loMs: -1, hiMs: 2 });
    sqlite.finishAttempt(attempt as number, slot.id, 'accepted', { now });
    sqlite.claimBuild(
      slot.id,
      {
        uuid: `b-${i}`,
        status: 'success',
        queuedAt: now,
        finishedAt: now,
        final: true,
        commitSha: 'c0ffee',
      },
      now,
      'intent',
    );
  }
  sqlite.heartbeat(now);
  const before = await view(sqlite);
  sqlite.close();

  const url = await server().createDatabase('copy');
  const secretUrl = url.replace('postgres@', 'postgres:copy-secret-9@');
  const copied = runCli(['ledger', 'copy', '--to', secretUrl, '--json'], { DATABASE_PATH: file });
  expect(copied.stderr).toBe('');
  expect(copied.code).toBe(0);
  expect(JSON.parse(copied.stdout)).toEqual({
    from: file,
    to: secretUrl.replace('copy-secret-9', '***'),
    rows: { marks: 1, slots: 30, attempts: 10, daemon_heartbeat: 1, chain_marks: 0 },
  });
  const pgLedger = await openPgLedger(url);
  try {
    expect(await view(pgLedger)).toEqual(before);
    // New rows continue after the copied ids.
    const [next] = await pgLedger.recordSlots([{ ...slots[0]!, schedule: 'new' }], new Map(), now);
    expect(next!.id).toBe(31);
  } finally {
    await pgLedger.close();
  }

  const again = runCli(['ledger', 'copy', '--to', secretUrl], { DATABASE_PATH: file });
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('already holds a ledger');
  expect(again.stderr).not.toContain('copy-secret-9');

  // A daemon started on the target before the copy: no slot yet, but not empty either.
  const started = await server().createDatabase('started');
  const early = await openPgLedger(started);
  await early.heartbeat(now);
  await early.close();
  const refused = runCli(['ledger', 'copy', '--to', started], { DATABASE_PATH: file });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /already holds a ledger \(rows in daemon_heartbeat: a daemon has run on it\); copy only into an empty database/,
  );

  const backup = runCli(['backup', join(dir, 'b.sqlite')], { DATABASE_URL: secretUrl });
  expect(backup.code).not.toBe(0);
  expect(backup.stderr).toContain('use pg_dump');
  expect(backup.stderr).not.toContain('copy-secret-9');
});
