/** `codeship-cron status [NAME] [--limit N] [--json]`: the ledger, newest slots first. Needs only the database. */
import { existsSync } from 'node:fs';
import { loadScheduleDir } from '../adapters/schedule-dir.ts';
import { type Config, loadConfig } from '../config.ts';
import { didYouMean, listNames } from '../core/did-you-mean.ts';
import { CodeshipCronError, LedgerError } from '../core/errors.ts';
import { formatStatusTable, toStatusRow } from '../daemon/status-view.ts';
import { openConfiguredLedger } from '../deps.ts';
import { type Command, parseCommandArgs, parsePositiveInt } from './context.ts';

/** Schedule names in SCHEDULES_DIR, if it can be read (status never needs it otherwise). */
function configuredNames(config: Config): string[] {
  try {
    return loadScheduleDir(config.schedulesDir, {
      defaultTimezone: config.defaultTimezone,
    }).schedules.map((s) => s.name);
  } catch {
    return [];
  }
}

const status: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(context, 'status', 1);
  const limit = parsePositiveInt(values.limit, '--limit', 20);
  const config = loadConfig(context.env, context.readSecret);
  if (
    config.databaseUrl === null &&
    config.databasePath !== ':memory:' &&
    !existsSync(config.databasePath)
  ) {
    throw new LedgerError(
      'ERR_LEDGER_MISSING',
      `no ledger at ${config.databasePath} (the daemon creates it on its first run; set DATABASE_PATH to use another)`,
    );
  }
  const ledger = await openConfiguredLedger(config);
  try {
    const name = positionals[0] ?? null;
    const rows = (await ledger.listSlots({ schedule: name, limit })).map(toStatusRow);
    if (name !== null && rows.length === 0) {
      // No slot yet: fine for a schedule in the files, a mistake for any other name.
      const inFiles = configuredNames(config);
      if (!inFiles.includes(name)) {
        const known = [...new Set([...(await ledger.scheduleNames()), ...inFiles])].sort();
        throw new CodeshipCronError(
          'ERR_SCHEDULE_UNKNOWN',
          `no schedule named "${name}" in the ledger or in ${config.schedulesDir}${didYouMean(name, known)}; known: ${listNames(known)}`,
        );
      }
    }
    context.stdout(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows));
    return 0;
  } finally {
    await ledger.close();
  }
};

export default status;
