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

interface SerializedError {
  type: string;
  message: string;
  code: string | null;
  stack: string | null;
  [key: string]: unknown;
}

/**
 * pino's error serializer, with `code` on every line (null when the error has none). Pass the
 * Error itself (`{ err: error }`): its message, stable code, stack and cause chain come out.
 * Anything else is shown as what it is, never as an `Object` with an empty stack.
 */
export function serializeError(value: unknown): SerializedError {
  if (value instanceof Error) {
    const serialized = pino.stdSerializers.err(value) as unknown as SerializedError;
    const code = (value as { code?: unknown }).code;
    return { ...serialized, code: typeof code === 'string' ? code : null };
  }
  const fields = (value ?? {}) as { message?: unknown; code?: unknown; stack?: unknown };
  return {
    type: typeof value,
    message: typeof fields.message === 'string' ? fields.message : String(value),
    code: typeof fields.code === 'string' ? fields.code : null,
    stack: typeof fields.stack === 'string' ? fields.stack : null,
  };
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; default: stdout, written synchronously so no line is lost on a kill. */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

/** The root logger: JSON lines, ISO times, secrets redacted, errors with message, code and stack. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
