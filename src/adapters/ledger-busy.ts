/**
 * A ledger locked by another process (a backup, `sqlite3` in a terminal, a second daemon) must
 * never freeze this one: better-sqlite3 waits for a lock synchronously, blocking the event loop
 * (probes, the page, every timer) for as long as it waits. So the ledger waits at most
 * BUSY_SLICE_MS per statement and then fails with SQLITE_BUSY; the daemon's loops then retry after
 * LEDGER_RETRY_MS on a timer, leaving the event loop free in between.
 */

/** Longest a statement waits for a lock before it fails with SQLITE_BUSY. */
export const BUSY_SLICE_MS = 50;
/** Pause between two tries of a loop whose ledger write met a lock. */
export const LEDGER_RETRY_MS = 250;

/** True for SQLite's "database is locked" family (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, …). */
export function isLedgerBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}
