/**
 * `codeship-cron simulate [--port P] [--seed FILE] [--host H]`: runs the bundled Codeship API v2
 * simulator until SIGTERM/SIGINT, then closes it and exits 0.
 */
import {
  DEMO_PASSWORD,
  DEMO_USERNAME,
  loadSeedFile,
  type SimulatorSeed,
  startSimulator,
} from '../simulator/index.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

/** The port option: an integer from 0 (any free port) to 65535. */
function parsePort(value: string | undefined): number {
  if (value === undefined) return 3999;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got "${value}")`);
  }
  return port;
}

const simulate: Command = async (context) => {
  const { values } = parseCommandArgs(context, {
    port: { type: 'string' },
    seed: { type: 'string' },
    host: { type: 'string' },
  });
  const port = parsePort(values.port);
  const host = values.host ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const seed: SimulatorSeed | undefined =
    values.seed === undefined ? undefined : loadSeedFile(values.seed);
  const simulator = await startSimulator({ port, host, ...(seed === undefined ? {} : { seed }) });
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
