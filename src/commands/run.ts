/** `codeship-cron run`: the daemon. */
import { loadConfig, requireApi } from '../config.ts';
import { runService } from '../daemon/service.ts';
import { type Command, parseCommandArgs } from './context.ts';

const run: Command = async (context) => {
  parseCommandArgs(context, 'run');
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  requireApi(config);
  return runService({
    config,
    env: context.env,
    signal: context.signal,
    onReload: context.onReload,
  });
};

export default run;
