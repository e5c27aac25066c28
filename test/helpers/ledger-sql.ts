/**
 * Raw, read-only SQL over a ledger file, for tests and benchmarks that look at what the daemon
 * wrote (never through the store under test). One read-only connection per file, kept: in WAL
 * mode every statement sees the latest committed writes.
 */
import Database from 'better-sqlite3';

const connections = new Map<string, Database.Database>();

function connection(file: string): Database.Database {
  let db = connections.get(file);
  if (!db?.open) {
    db = new Database(file, { readonly: true, fileMustExist: true });
    connections.set(file, db);
  }
  return db;
}

/** Every row `sql` returns. */
export function queryRows<T = Record<string, unknown>>(
  file: string,
  sql: string,
  ...params: unknown[]
): T[] {
  return connection(file)
    .prepare(sql)
    .all(...params) as T[];
}

/** The single number a `SELECT COUNT(*) …` (or any one-value query) returns. */
export function queryNumber(file: string, sql: string, ...params: unknown[]): number {
  const row = connection(file)
    .prepare(sql)
    .get(...params) as Record<string, unknown> | undefined;
  return Number(Object.values(row ?? {})[0] ?? 0);
}

/** Closes the connection to `file` (before the file is removed). */
export function closeLedgerSql(file: string): void {
  connections.get(file)?.close();
  connections.delete(file);
}
