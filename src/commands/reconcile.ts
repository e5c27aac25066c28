/** `codeship-cron reconcile`: one reconciliation pass over every open slot, then exit. */
import { loadConfig } from '../config.ts';
import { reconcileOnce } from '../daemon/reconcile.ts';
import { loadConfiguredSchedules, openCommandRuntime } from '../deps.ts';
import { type Command, parseCommandArgs } from './context.ts';

const reconcile: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'reconcile');
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const logger = context.logger(config.logLevel, { command: 'reconcile' });
  const rt = await openCommandRuntime(config, loadConfiguredSchedules(config).schedules, logger);
  const { ledger } = rt;
  try {
    const result = await reconcileOnce(rt, context.signal);
    const open = (await ledger.openSlots()).length;
    const summary = { before: result.open, open, apiCalls: result.apiCalls };
    context.stdout(
      values.json
        ? `${JSON.stringify(summary)}\n`
        : `reconciled ${result.open} open slot(s) with ${result.apiCalls} API call(s); ${open} still open\n`,
    );
    return 0;
  } finally {
    await ledger.close();
  }
};

export default reconcile;
