/**
 * `codeship-cron backup FILE [--json]`: an online copy of the ledger that is safe while the daemon
 * runs. SQLite's backup API (through better-sqlite3's `db.backup`) copies a consistent snapshot
 * even in WAL mode with a writer active (it restarts if another connection writes mid-copy), which
 * copying the file with `cp` does not. The copy is then opened on its own and must pass
 * `PRAGMA integrity_check`. Needs only `DATABASE_PATH`: no API credentials, no network.
 */
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { loadConfig } from '../config.ts';
import { CodeshipCronError, coerceError, LedgerError } from '../core/errors.ts';
import { checkCopy, copyLedger } from '../deps.ts';
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
  if (config.databaseUrl) {
    throw new CodeshipCronError(
      'ERR_BACKUP_POSTGRES',
      `the ledger is in PostgreSQL (DATABASE_URL), which backs itself up: use pg_dump, e.g. pg_dump --format=custom --file=${file} "$DATABASE_URL"`,
    );
  }
  const result = await backupLedger(config.databasePath, file);
  context.stdout(
    values.json
      ? `${JSON.stringify(result)}\n`
      : `backed up ${result.ledger} to ${result.file} (${result.pages} pages, integrity ok)\n`,
  );
  return 0;
};

export default backup;
