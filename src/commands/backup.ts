/**
 * `codeship-cron backup FILE [--json]`: an online copy of the ledger that is safe while the daemon
 * runs. SQLite's backup API (through better-sqlite3's `db.backup`) copies a consistent snapshot
 * even in WAL mode with a writer active (it restarts if another connection writes mid-copy), which
 * copying the file with `cp` does not. The copy is then opened on its own and must pass
 * `PRAGMA integrity_check`. Needs only `DATABASE_PATH`: no API credentials, no network.
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadConfig } from '../config.ts';
import { CodeshipCronError, coerceError, LedgerError } from '../core/errors.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

/** What one backup did; the `--json` output. */
export interface BackupResult {
  ledger: string;
  file: string;
  pages: number;
  integrity: 'ok';
}

function assertLedgerExists(ledgerPath: string): void {
  let isFile = false;
  try {
    isFile = statSync(ledgerPath).isFile();
  } catch {
    // Missing or unreadable: either way there is nothing to back up.
  }
  if (!isFile) throw new LedgerError('ERR_LEDGER_MISSING', `no ledger at ${ledgerPath}`);
}

/** Creates FILE empty, so an existing file is never overwritten even if two backups race. */
function reserveTarget(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    if (code === 'EEXIST') {
      throw new CodeshipCronError(
        'ERR_BACKUP_EXISTS',
        `${file} already exists (refusing to overwrite it; choose a new file name)`,
      );
    }
    throw new CodeshipCronError('ERR_BACKUP_FAILED', `cannot create ${file} (${code})`);
  }
}

const ALL_REMAINING_PAGES = 2 ** 30;

async function copyLedger(ledgerPath: string, file: string): Promise<number> {
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
function checkCopy(file: string): string[] {
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

/** Backs up the ledger at `ledgerPath` to the new file `file`; throws a CodeshipCronError. */
export async function backupLedger(ledgerPath: string, file: string): Promise<BackupResult> {
  assertLedgerExists(ledgerPath);
  reserveTarget(file);
  let pages: number;
  try {
    pages = await copyLedger(ledgerPath, file);
  } catch (raw) {
    unlinkSync(file);
    throw new LedgerError(
      'ERR_BACKUP_FAILED',
      `cannot back up ${ledgerPath}: ${coerceError(raw).message}`,
      { cause: raw },
    );
  }
  const problems = checkCopy(file);
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new LedgerError(
      'ERR_BACKUP_CORRUPT',
      `backup ${file} failed integrity_check (kept for inspection): ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return { ledger: ledgerPath, file, pages, integrity: 'ok' };
}

const backup: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(context, 'backup', 1);
  const file = positionals[0];
  if (file === undefined || file === '')
    throw new UsageError('missing FILE (the backup to create)');
  const config = loadConfig(context.env);
  const result = await backupLedger(config.databasePath, file);
  context.stdout(
    values.json
      ? `${JSON.stringify(result)}\n`
      : `backed up ${result.ledger} to ${result.file} (${result.pages} pages, integrity ok)\n`,
  );
  return 0;
};

export default backup;
