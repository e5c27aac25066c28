/**
 * The one root pino logger: JSON on stdout for journald, secrets redacted. Components take child
 * loggers (`logger.child({ component: 'daemon' })`), slots a child with schedule, slot and branch.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config.ts';

export type { Logger };

/** Paths that may carry a credential; redaction is a safety net, not a licence to log secrets. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'err.options.headers.authorization',
  'err.options.password',
  'err.options.username',
  'config.api.password',
  'dashboardToken',
];

interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; default: stdout, written synchronously so no line is lost on a kill. */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
