/** `codeship-cron status [NAME] [--limit N] [--json]`: the ledger, newest slots first. Needs only the database. */
import { existsSync } from 'node:fs';
import { openLedger } from '../adapters/ledger.ts';
import { loadConfig } from '../config.ts';
import { LedgerError } from '../core/errors.ts';
import { formatStatusTable, toStatusRow } from '../daemon/status-view.ts';
import { type Command, parseCommandArgs, parsePositiveInt } from './context.ts';

const status: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(
    context,
    { limit: { type: 'string' }, json: { type: 'boolean', default: false } },
    1,
  );
  const limit = parsePositiveInt(values.limit, '--limit', 20);
  const config = loadConfig(context.env, context.readSecret);
  if (config.databasePath !== ':memory:' && !existsSync(config.databasePath)) {
    throw new LedgerError(
      'ERR_LEDGER_MISSING',
      `no ledger at ${config.databasePath} (the daemon creates it on its first run; set DATABASE_PATH to use another)`,
    );
  }
  const ledger = openLedger(config.databasePath);
  try {
    const rows = ledger.listSlots({ schedule: positionals[0] ?? null, limit }).map(toStatusRow);
    context.stdout(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows));
    return 0;
  } finally {
    ledger.close();
  }
};

export default status;
