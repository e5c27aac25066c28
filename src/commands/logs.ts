/**
 * `codeship-cron logs`: reads pino JSON log lines on stdin and prints each as one readable line,
 * so logs on a server read well without pino-pretty (a development dependency):
 * `journalctl -u codeship-cron -o cat -f | codeship-cron logs`.
 */
import { createInterface } from 'node:readline';
import { formatLogLine } from '../core/log-line.ts';
import { type Command, parseCommandArgs } from './context.ts';

const logs: Command = async (context) => {
  parseCommandArgs(context, 'logs');
  const lines = createInterface({ input: context.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  context.signal.addEventListener('abort', () => lines.close(), { once: true });
  for await (const line of lines) context.stdout(`${formatLogLine(line)}\n`);
  return 0;
};

export default logs;
