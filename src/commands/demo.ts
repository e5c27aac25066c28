/**
 * `codeship-cron demo`: the bundled simulator, the daemon and the demo schedules (firing every
 * few seconds) on `data/demo.sqlite`, with readable logs. Runs until Ctrl-C.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { createLogger } from '../adapters/logger.ts';
import { loadConfig } from '../config.ts';
import { CodeshipCronError } from '../core/errors.ts';
import { formatLogLine } from '../core/log-line.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { runService } from '../daemon/service.ts';
import { startSimulator } from '../simulator/index.ts';
import {
  type Command,
  type CommandContext,
  parseCommandArgs,
  parsePort,
  parsePositiveInt,
} from './context.ts';
import { listenFailure } from './simulate.ts';

const DEMO_USER = 'demo@example.com';
const DEMO_PASSWORD = 'demo-password';
/** Unlocks the demo page's "Trigger now"; printed at start (it guards nothing but the simulator). */
const DEMO_DASHBOARD_TOKEN = 'demo-dashboard-token';
const DEMO_HTTP_ADDR = '127.0.0.1:8080';
/** The demo's webhook route secret: the simulator is its only caller. */
const DEMO_WEBHOOK_SECRET = 'demo-webhook-secret';

/** Why slots of an earlier run fail when the demo starts again. */
export const LAST_RUN_GONE = "the last demo run's simulator is gone (each run starts a fresh one)";

/**
 * The demo starts a fresh simulator on a ledger that outlives it: builds and accepted creates of
 * the last run exist nowhere now. Their slots fail at once, saying so, instead of after
 * discovery's wait for a build that cannot appear (which `overlap: skip` would wait on too).
 * Slots never sent, or whose create provably never arrived, stay pending and are sent as usual.
 */
async function forgetLastRun(rt: Runtime): Promise<number> {
  const now = rt.clock.now();
  let failed = 0;
  for (const slot of await rt.ledger.openSlots()) {
    if (slot.state === 'running') {
      if (await rt.ledger.loseBuild(slot.id, LAST_RUN_GONE, now)) failed += 1;
    } else if (slot.state === 'triggered' || slot.outcomeUnknown) {
      await rt.ledger.closeSlot(slot.id, 'failed', LAST_RUN_GONE, now);
      failed += 1;
    }
  }
  return failed;
}

async function prettyDestination(context: CommandContext): Promise<DestinationStream> {
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
    // pino-pretty is a development dependency: without it, the `logs` command's formatter.
    return { write: (line: string) => context.stdout(`${formatLogLine(line.trimEnd())}\n`) };
  }
}

const demo: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'demo');
  const buildSeconds = parsePositiveInt(values['build-seconds'], '--build-seconds', 8);
  const port = parsePort(values.port, 0);
  const httpPort =
    values['http-port'] === undefined
      ? null
      : parsePositiveInt(values['http-port'], '--http-port', 8080);
  // Other people push too, seconds before or after half of the daemon's creates, as on a busy
  // repository: the ledger still claims only the daemon's own builds (README, "Build identity").
  const simulator = await startSimulator({
    port,
    buildDurationMs: buildSeconds * 1000,
    pushes: { rate: 0.5, spreadMs: 5000, seed: Date.now() % 2 ** 31 },
  }).catch((error: unknown) => {
    throw listenFailure(error, 'run the simulator', `127.0.0.1:${port}`, '--port');
  });
  const schedulesDir = fileURLToPath(new URL('../../demo/schedules', import.meta.url));
  const env = {
    ...context.env,
    CODESHIP_API_URL: simulator.url,
    CODESHIP_USERNAME: DEMO_USER,
    CODESHIP_PASSWORD: DEMO_PASSWORD,
    // The demo's password is set above: a password file of the environment is not for the simulator.
    CODESHIP_PASSWORD_FILE: undefined,
    CODESHIP_ORGANIZATION: 'acme',
    SCHEDULES_DIR: schedulesDir,
    DATABASE_PATH: context.env.DEMO_DATABASE_PATH ?? './data/demo.sqlite',
    DISCOVERY_WINDOW: '30s',
    HTTP_ADDR: httpPort ? `127.0.0.1:${httpPort}` : (context.env.HTTP_ADDR ?? DEMO_HTTP_ADDR),
    DASHBOARD_TOKEN: context.env.DASHBOARD_TOKEN ?? DEMO_DASHBOARD_TOKEN,
    // The simulator sends Codeship's notification webhooks to the daemon (README, "Chains").
    WEBHOOK_SECRET: DEMO_WEBHOOK_SECRET,
    UPSTREAM_POLL: '30s',
  };
  try {
    const config = loadConfig(env, context.readSecret);
    const logger = createLogger({
      level: config.logLevel,
      destination: await prettyDestination(context),
    });
    const banner = [
      `codeship-cron demo: simulator on ${simulator.url}, schedules in ${schedulesDir}, ledger ${config.databasePath}`,
      `  status page: http://${config.http?.host}:${config.http?.port}/  (token for "Trigger now": ${context.env.DASHBOARD_TOKEN ? 'your DASHBOARD_TOKEN' : DEMO_DASHBOARD_TOKEN})`,
      `  see the ledger from another terminal:  DATABASE_PATH=${config.databasePath} npx codeship-cron status`,
      '  stop with Ctrl-C',
      '',
    ].join('\n');
    return await runService({
      config,
      env,
      signal: context.signal,
      onReload: context.onReload,
      logger,
      // The simulator builds any branch name: the demo's `fail-fast` has no history to check.
      checkAtStart: false,
      onStart: async (rt, _schedules, httpUrl) => {
        const failed = await forgetLastRun(rt);
        if (failed > 0)
          rt.logger.info(
            { slots: failed },
            'slots the last demo run left open failed: its simulator is gone',
          );
        if (httpUrl) {
          simulator.setWebhooks({ urls: [`${httpUrl}/hooks/codeship/${DEMO_WEBHOOK_SECRET}`] });
        }
        context.stdout(banner); // once the page listens, so a taken port prints only the error
        return undefined;
      },
    });
  } catch (error) {
    if (error instanceof CodeshipCronError && error.code === 'ERR_HTTP_LISTEN') {
      throw listenFailure(error, 'serve the status page', env.HTTP_ADDR, '--http-port');
    }
    throw error;
  } finally {
    await simulator.close();
  }
};

export default demo;
