/**
 * `codeship-cron demo`: the bundled simulator, the daemon and the demo schedules (firing every
 * few seconds) on `data/demo.sqlite`, with readable logs. Runs until Ctrl-C.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { createLogger } from '../adapters/logger.ts';
import { loadConfig } from '../config.ts';
import { runService } from '../service.ts';
import { startSimulator } from '../simulator/index.ts';
import { type Command, parseCommandArgs, parsePositiveInt } from './context.ts';

const DEMO_USER = 'demo@example.com';
const DEMO_PASSWORD = 'demo-password';
/** Unlocks the demo page's "Trigger now"; printed at start (it guards nothing but the simulator). */
const DEMO_DASHBOARD_TOKEN = 'demo-dashboard-token';
const DEMO_HTTP_ADDR = '127.0.0.1:8080';

async function prettyDestination(): Promise<DestinationStream | undefined> {
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({
      colorize: true,
      sync: true,
      translateTime: 'HH:MM:ss',
      // One readable line per event: what happened, to which schedule and branch, with which build.
      messageFormat:
        '{msg}{if schedule}  {schedule}{end}{if branch} on {branch}{end}{if buildStatus}: {buildStatus}{end}{if buildUuid} ({buildUuid}){end}{if reason}: {reason}{end}',
      ignore:
        'pid,hostname,component,schedule,slot,branch,buildUuid,buildStatus,reason,attempt,projectUuid,manual',
    });
  } catch {
    return undefined; // pino-pretty is a development dependency: fall back to JSON lines
  }
}

const demo: Command = async (context) => {
  const { values } = parseCommandArgs(context, {
    port: { type: 'string' },
    'build-seconds': { type: 'string' },
    'http-port': { type: 'string' },
  });
  const buildSeconds = parsePositiveInt(values['build-seconds'], '--build-seconds', 8);
  const port = values.port === undefined ? 0 : parsePositiveInt(values.port, '--port', 0);
  const httpPort =
    values['http-port'] === undefined
      ? null
      : parsePositiveInt(values['http-port'], '--http-port', 8080);
  const simulator = await startSimulator({ port, buildDurationMs: buildSeconds * 1000 });
  const schedulesDir = fileURLToPath(new URL('../../demo/schedules', import.meta.url));
  const env = {
    ...context.env,
    CODESHIP_API_URL: simulator.url,
    CODESHIP_USERNAME: DEMO_USER,
    CODESHIP_PASSWORD: DEMO_PASSWORD,
    CODESHIP_ORGANIZATION: 'acme',
    SCHEDULES_DIR: schedulesDir,
    DATABASE_PATH: context.env.DEMO_DATABASE_PATH ?? './data/demo.sqlite',
    DISCOVERY_WINDOW: '30s',
    HTTP_ADDR: httpPort ? `127.0.0.1:${httpPort}` : (context.env.HTTP_ADDR ?? DEMO_HTTP_ADDR),
    DASHBOARD_TOKEN: context.env.DASHBOARD_TOKEN ?? DEMO_DASHBOARD_TOKEN,
  };
  const config = loadConfig(env, context.readSecret);
  const logger = createLogger({ level: config.logLevel, destination: await prettyDestination() });
  context.stdout(
    [
      `codeship-cron demo: simulator on ${simulator.url}, schedules in ${schedulesDir}, ledger ${config.databasePath}`,
      `  status page: http://${config.http?.host}:${config.http?.port}/  (token for "Trigger now": ${context.env.DASHBOARD_TOKEN ? 'your DASHBOARD_TOKEN' : DEMO_DASHBOARD_TOKEN})`,
      `  see the ledger from another terminal:  DATABASE_PATH=${config.databasePath} npx codeship-cron status`,
      '  stop with Ctrl-C',
      '',
    ].join('\n'),
  );
  try {
    return await runService({
      config,
      env,
      signal: context.signal,
      onReload: context.onReload,
      logger,
    });
  } finally {
    await simulator.close();
  }
};

export default demo;
