/**
 * `codeship-cron simulate [--port P] [--seed FILE] [--host H] [--clock-offset D] [--push-rate R]
 * [--push-spread D] [--webhook URL]…`: runs the bundled Codeship API v2 simulator until
 * SIGTERM/SIGINT, then closes it and exits 0.
 */
import { CodeshipCronError, coerceError } from '../core/errors.ts';
import { parseDuration } from '../core/time.ts';
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  isLoopbackWebhookUrl,
  loadSeedFile,
  type Pushes,
  SimulatorError,
  type SimulatorSeed,
  startSimulator,
  WEBHOOK_URL_RULE,
  type Webhooks,
} from '../simulator/index.ts';
import { type Command, parseCommandArgs, parsePort, UsageError } from './context.ts';

/** The server clock's offset from ours: a signed duration (`47s`, `-2m`, `+1h`, `0`). */
function parseClockOffset(value: string | undefined): number {
  if (value === undefined) return 0;
  const match = /^([+-]?)(.+)$/.exec(value.trim());
  const ms = match === null ? null : parseDuration(match[2]!);
  if (ms === null) {
    throw new UsageError(
      `--clock-offset must be a signed duration like 47s, -2m or 0 (got "${value}")`,
    );
  }
  return match![1] === '-' ? -ms : ms;
}

/** Pushes by others from `--push-rate` (0..1) and `--push-spread` (a duration, default 5s). */
function parsePushes(rate: string | undefined, spread: string | undefined): Pushes | null {
  if (rate === undefined) {
    if (spread !== undefined) throw new UsageError('--push-spread needs --push-rate');
    return null;
  }
  const share = Number(rate);
  if (rate.trim() === '' || !(share >= 0 && share <= 1)) {
    throw new UsageError(`--push-rate must be a number from 0 to 1 (got "${rate}")`);
  }
  const spreadMs = parseDuration(spread ?? '5s');
  if (spreadMs === null) {
    throw new UsageError(`--push-spread must be a duration like 5s or 500ms (got "${spread}")`);
  }
  return { rate: share, spreadMs };
}

/** Global webhook URLs from `--webhook` (any number), or null when none is given. */
function parseWebhooks(urls: readonly string[] | undefined): Webhooks | null {
  if (urls === undefined || urls.length === 0) return null;
  for (const url of urls) {
    if (!isLoopbackWebhookUrl(url))
      throw new UsageError(`--webhook ${WEBHOOK_URL_RULE} (got "${url}")`);
  }
  return { urls: [...urls] };
}

/**
 * A server that could not listen, as one line that names the option to change:
 * `cannot run the simulator on 127.0.0.1:3999: EADDRINUSE (… choose another with --port)`.
 */
export function listenFailure(raw: unknown, what: string, address: string, option: string): Error {
  const error = coerceError(raw);
  const cause = (error.cause ?? error) as NodeJS.ErrnoException;
  const code = cause.code ?? error.message;
  const hint =
    code === 'EADDRINUSE'
      ? `another process uses that port; free it or choose another with ${option}`
      : `check ${option}`;
  return new CodeshipCronError('ERR_LISTEN', `cannot ${what} on ${address}: ${code} (${hint})`, {
    cause: raw,
  });
}

/** The seed file, its problems as our error (the simulator has its own class, same code). */
function loadSeed(file: string): SimulatorSeed {
  try {
    return loadSeedFile(file);
  } catch (error) {
    if (error instanceof SimulatorError) {
      throw new CodeshipCronError(error.code, error.message, { cause: error });
    }
    throw error;
  }
}

const simulate: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'simulate');
  const port = parsePort(values.port, 3999);
  const host = values.host ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const clockOffsetMs = parseClockOffset(values['clock-offset']);
  const pushes = parsePushes(values['push-rate'], values['push-spread']);
  const webhooks = parseWebhooks(values.webhook);
  const seed: SimulatorSeed | undefined =
    values.seed === undefined ? undefined : loadSeed(values.seed);
  const simulator = await startSimulator({
    port,
    host,
    clockOffsetMs,
    pushes,
    webhooks,
    ...(seed === undefined ? {} : { seed }),
  }).catch((error: unknown) => {
    throw listenFailure(error, 'run the simulator', `${host}:${port}`, '--port');
  });
  // The default seed's demo password is public by design; a seed file's passwords are not printed.
  const who =
    seed === undefined
      ? `user ${DEMO_USERNAME}, password ${DEMO_PASSWORD}`
      : `user ${seed.users[0]?.username ?? 'none'}`;
  context.stdout(`codeship simulator listening on ${simulator.url} (${who})\n`);
  await new Promise<void>((resolve) => {
    if (context.signal.aborted) return resolve();
    context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await simulator.close();
  return 0;
};

export default simulate;
