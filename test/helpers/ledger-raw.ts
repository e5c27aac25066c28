/**
 * Raw SQL over a ledger of either store, read-only but for `rawWrite`, for tests that look at what the daemon wrote
 * (never through the store under test): a SQLite file through `ledger-sql.ts`, a PostgreSQL URL
 * through its own small pool. Write the SQL once with `?` placeholders; numbers come back as
 * numbers on both.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from '../../src/core/database-url.ts';
import { closeLedgerSql, queryRows } from './ledger-sql.ts';

const pools = new Map<string, pg.Pool>();

function pool(url: string): pg.Pool {
  let found = pools.get(url);
  if (!found) {
    found = new pg.Pool({ connectionString: url, max: 2, application_name: 'test-reader' });
    found.on('error', () => undefined);
    pools.set(url, found);
  }
  return found;
}

/** Every row `sql` returns from the ledger at `target` (a file path or a postgres:// URL). */
export async function rawRows<T = Record<string, unknown>>(
  target: string,
  sql: string,
  ...params: unknown[]
): Promise<T[]> {
  if (!isPostgresUrl(target)) return queryRows<T>(target, sql, ...params);
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  const { rows } = await pool(target).query(text, params);
  return rows as T[];
}

/** The single number a `SELECT count(*) …` (or any one-value query) returns. */
export async function rawNumber(
  target: string,
  sql: string,
  ...params: unknown[]
): Promise<number> {
  const [row] = await rawRows(target, sql, ...params);
  return Number(Object.values(row ?? {})[0] ?? 0);
}

/** Closes what reads `target`. */
export async function closeRaw(target: string): Promise<void> {
  if (!isPostgresUrl(target)) return closeLedgerSql(target);
  const found = pools.get(target);
  pools.delete(target);
  await found?.end();
}

/**
 * Runs one writing statement on the ledger at `target` while no daemon has it open: for tests
 * that set up what a crash would have left (a row never written). Its own connection, closed after.
 */
export async function rawWrite(target: string, sql: string, ...params: unknown[]): Promise<void> {
  if (!isPostgresUrl(target)) {
    const db = new Database(target, { fileMustExist: true });
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  let n = 0;
  await pool(target).query(
    sql.replace(/\?/g, () => `$${++n}`),
    params,
  );
}
