/**
 * `codeship-cron ledger copy --to postgres://… [--json]`: moves the SQLite ledger at
 * DATABASE_PATH into an empty PostgreSQL database (README, "Several instances on PostgreSQL").
 * Stop the daemon first; then point it at the copy with DATABASE_URL.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../config.ts';
import { isPostgresUrl, maskDatabaseUrl } from '../core/database-url.ts';
import { LedgerError } from '../core/errors.ts';
import { copyLedgerToPostgres } from '../deps.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

const ledger: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(context, 'ledger', 1);
  if (positionals[0] !== 'copy')
    throw new UsageError(
      positionals[0] === undefined
        ? 'missing subcommand (copy)'
        : `unknown subcommand "${positionals[0].slice(0, 40)}" (known: copy)`,
    );
  const to = values.to;
  if (!to) throw new UsageError('missing --to postgres://… (the PostgreSQL ledger to create)');
  if (!isPostgresUrl(to))
    throw new UsageError(
      `--to must be a postgres:// URL (got "${maskDatabaseUrl(to).slice(0, 80)}")`,
    );
  const config = loadConfig(context.env);
  const file = config.databasePath;
  if (!existsSync(file)) throw new LedgerError('ERR_LEDGER_MISSING', `no ledger at ${file}`);
  const counts = await copyLedgerToPostgres(file, to);
  const target = maskDatabaseUrl(to);
  context.stdout(
    values.json
      ? `${JSON.stringify({ from: file, to: target, rows: counts })}\n`
      : `copied ${file} to ${target}: ${counts.slots} slots, ${counts.attempts} attempts, ${counts.marks} marks\nnext: stop the daemon if it runs, set DATABASE_URL to the new ledger and start it again\n`,
  );
  return 0;
};

export default ledger;
