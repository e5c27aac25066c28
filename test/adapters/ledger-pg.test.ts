/**
 * What only the PostgreSQL store has: its schema kept parallel to SQLite's, a newer schema refused
 * untouched, no password in any message, and the leader lease with its fence (README, "Several
 * instances on PostgreSQL"). Runs on a real throwaway server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/adapters/ledger.ts';
import { openPgLedger, type PgLedger } from '../../src/adapters/ledger-pg.ts';
import { PG_MIGRATIONS } from '../../src/adapters/ledger-pg-schema.ts';
import { MIGRATIONS } from '../../src/adapters/ledger-schema.ts';
import { loadConfig } from '../../src/config.ts';
import { usePostgres } from '../helpers/stores.ts';

const server = usePostgres();
const opened: PgLedger[] = [];
const now = new Date('2026-06-01T10:00:00.000Z');

async function open(url: string, instance = 'a'): Promise<PgLedger> {
  const ledger = await openPgLedger(url, { instance });
  opened.push(ledger);
  return ledger;
}

afterEach(async () => {
  for (const ledger of opened.splice(0)) await ledger.close();
});

const slot = (at: string) => ({
  schedule: 'nightly',
  slotAt: new Date(at),
  branch: 'main',
  project: 'acme/api',
  fireAt: new Date(at),
  state: 'pending' as const,
});

describe('the PostgreSQL schema', () => {
  it('has as many migrations as SQLite, making the same tables and columns', async () => {
    expect(PG_MIGRATIONS.length).toBe(MIGRATIONS.length);
    const url = await server().createDatabase('schema');
    const ledger = await open(url);
    await ledger.close();
    const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-schema-'));
    try {
      openLedger(join(dir, 'l.sqlite')).close();
      const db = new Database(join(dir, 'l.sqlite'), { readonly: true });
      const sqlite: Record<string, string[]> = {};
      for (const table of ['slots', 'marks', 'attempts', 'daemon_heartbeat']) {
        sqlite[table] = (db.pragma(`table_info(${table})`) as { name: string }[])
          .map((c) => c.name)
          .sort();
      }
      db.close();
      const pgColumns: Record<string, string[]> = {};
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const result = await client.query(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = ANY($1) ORDER BY column_name`,
        [Object.keys(sqlite)],
      );
      await client.end();
      for (const row of result.rows) {
        pgColumns[row.table_name] = [...(pgColumns[row.table_name] ?? []), row.column_name];
      }
      for (const list of Object.values(pgColumns)) list.sort();
      expect(pgColumns).toEqual(sqlite);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a ledger from a newer version without changing it', async () => {
    const url = await server().createDatabase('newer');
    (await open(url)).close();
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE schema_version SET version = 99');
    await client.query('DROP TABLE readiness_probe');
    const error = await openPgLedger(url).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_LEDGER_TOO_NEW',
      message: expect.stringContaining(
        `ledger schema version 99 is newer than this codeship-cron knows (${MIGRATIONS.length}); upgrade codeship-cron`,
      ),
    });
    // Untouched: not even the probe table (created on every successful open) came back.
    const probe = await client.query("SELECT to_regclass('readiness_probe') AS t");
    expect(probe.rows[0].t).toBeNull();
    expect((await client.query('SELECT version FROM schema_version')).rows).toEqual([
      { version: 99 },
    ]);
    await client.end();
  });
});

describe('DATABASE_URL secrets', () => {
  it('never shows the password: not in location, open errors or config errors', async () => {
    const secret = 'pa55-w0rd-xyz';
    const url = server().url('postgres').replace('postgres@', `postgres:${secret}@`);
    const ledger = await open(url);
    expect(ledger.location).toBe(url.replace(secret, '***'));
    // No server on this port: the open fails, naming where without the password.
    const closed = `postgres://someone:${secret}@127.0.0.1:1/nowhere`;
    const error = (await openPgLedger(closed).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'ERR_LEDGER_OPEN' });
    expect(error.message).toContain('postgres://someone:***@127.0.0.1:1/nowhere');
    expect(error.message).not.toContain(secret);
    // A database that does not exist: the server's own message, still without it.
    const missing = server().url('no_such_db').replace('postgres@', `postgres:${secret}@`);
    const error2 = (await openPgLedger(missing).catch((e: unknown) => e)) as Error;
    expect(error2.message).toMatch(/no_such_db/);
    expect(error2.message).not.toContain(secret);
    let configError: Error | null = null;
    try {
      loadConfig({ DATABASE_URL: `mysql://root:${secret}@db/x` });
    } catch (e) {
      configError = e as Error;
    }
    expect(configError?.message).toContain('DATABASE_URL must be a PostgreSQL URL');
    expect(configError?.message).not.toContain(secret);
  });
});

describe('the leader lease', () => {
  it('has one holder at a time, and fences every write that leads to a create', async () => {
    const url = await server().createDatabase('lease');
    const a = await open(url, 'a');
    const b = await open(url, 'b');
    const leaseA = await a.lease.acquireLease(10_000);
    expect(leaseA).toMatchObject({ holder: 'a', epoch: 1 });
    expect(await b.lease.acquireLease(10_000)).toBeNull();
    expect(await b.lease.currentLease()).toMatchObject({ holder: 'a', epoch: 1 });
    const [s1, s2] = await a.recordSlots(
      [slot('2026-06-01T09:00:00.000Z'), slot('2026-06-01T09:01:00.000Z')],
      new Map(),
      now,
    );
    expect(await a.beginAttempt(s1!.id, 'p', 0, now)).toEqual(expect.any(Number));
    // The standby (it asked for the lease) may write no intent, nor plan slots, nor re-send.
    await expect(b.beginAttempt(s2!.id, 'p', 0, now)).rejects.toMatchObject({
      code: 'ERR_LEDGER_NOT_LEADER',
    });
    await expect(
      b.recordSlots([slot('2026-06-01T09:02:00.000Z')], new Map(), now),
    ).rejects.toMatchObject({
      code: 'ERR_LEDGER_NOT_LEADER',
    });
    await expect(b.markResend(s1!.id, now)).rejects.toMatchObject({
      code: 'ERR_LEDGER_NOT_LEADER',
    });
    // Reads and the outcome of a create already sent stay open to every instance.
    expect((await b.get(s1!.id))?.attempts).toBe(1);

    // A's lease expires on the database's clock: A's next intent is refused, in the same
    // transaction that would have written it, and B takes over with a new epoch.
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "UPDATE leader_lease SET expires_at = clock_timestamp() - interval '1 second'",
    );
    await client.end();
    await expect(a.beginAttempt(s2!.id, 'p', 0, now)).rejects.toMatchObject({
      code: 'ERR_LEDGER_NOT_LEADER',
    });
    expect((await a.get(s2!.id))?.attempts).toBe(0);
    expect(await b.lease.acquireLease(10_000)).toMatchObject({ holder: 'b', epoch: 2 });
    expect(await a.lease.renewLease(10_000)).toBeNull();
    expect(await b.beginAttempt(s2!.id, 'p', 0, now)).toEqual(expect.any(Number));
    expect(await b.lease.renewLease(10_000)).toMatchObject({ holder: 'b', epoch: 2 });
    // Released on shutdown: free at once for the next instance.
    await b.lease.releaseLease();
    expect(await a.lease.acquireLease(10_000)).toMatchObject({ holder: 'a', epoch: 3 });
  });

  it('counts as lost the moment its connection is cut', async () => {
    const url = await server().createDatabase('cut');
    const a = await open(url, 'cut-a');
    const lost: string[] = [];
    a.lease.onLost?.((reason) => lost.push(reason));
    expect(await a.lease.acquireLease(10_000)).toMatchObject({ epoch: 1 });
    const [s1] = await a.recordSlots([slot('2026-06-01T09:00:00.000Z')], new Map(), now);
    await server().query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'codeship-cron:cut-a'",
    );
    for (let i = 0; i < 100 && lost.length === 0; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(lost).toEqual([expect.stringMatching(/^lease connection (lost|closed)/)]);
    await expect(a.beginAttempt(s1!.id, 'p', 0, now)).rejects.toMatchObject({
      code: 'ERR_LEDGER_NOT_LEADER',
    });
    // Its lease row still stands until it expires; the same process takes it back only as a new epoch.
    expect(await a.lease.acquireLease(10_000)).toMatchObject({ holder: 'cut-a', epoch: 2 });
    expect(await a.beginAttempt(s1!.id, 'p', 0, now)).toEqual(expect.any(Number));
  });
});
