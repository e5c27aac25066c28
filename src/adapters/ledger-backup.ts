/**
 * The SQLite ledger's online backup (the `backup` command): SQLite's backup API through
 * better-sqlite3 copies a consistent snapshot while the daemon keeps writing.
 */
import Database from 'better-sqlite3';

const ALL_REMAINING_PAGES = 2 ** 30;

/** Copies a consistent snapshot of the ledger at `ledgerPath` into `file`; returns its pages. */
export async function copyLedger(ledgerPath: string, file: string): Promise<number> {
  // Read-write on purpose: a read-only connection leaves -wal/-shm files behind owned by whoever ran
  // the backup (often root), which the service's own user could then not open.
  const source = new Database(ledgerPath, { fileMustExist: true });
  try {
    // After the first 100-page step, copy the rest in one step: in WAL mode that holds only a read
    // snapshot (the daemon keeps writing), and a daemon write between small steps would restart it.
    const { totalPages } = await source.backup(file, { progress: () => ALL_REMAINING_PAGES });
    return totalPages;
  } finally {
    source.close();
  }
}

/** Opens the copy alone: makes it a single self-contained file and returns integrity_check's rows. */
export function checkCopy(file: string): string[] {
  const copy = new Database(file, { fileMustExist: true });
  try {
    const rows = copy.pragma('integrity_check') as { integrity_check: string }[];
    // The snapshot keeps the source's WAL mode; a backup should not need companion files.
    copy.pragma('journal_mode = DELETE');
    return rows.map((row) => row.integrity_check);
  } finally {
    copy.close();
  }
}
