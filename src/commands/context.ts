/**
 * What every command receives from the CLI shell, so commands never touch `process` themselves
 * and tests can run them in-process with their own streams, env and abort signal.
 */
import { parseArgs } from 'node:util';
import type { Logger } from '../adapters/logger.ts';
import type { Config, Env, ReadSecretFile } from '../config.ts';
import { CodeshipCronError } from '../core/errors.ts';
import { COMMAND_SPECS, type CommandName } from './usage.ts';

export interface CommandContext {
  /** Arguments after the command name. */
  readonly argv: readonly string[];
  /** The environment after `.env` was loaded (the real environment wins). */
  readonly env: Env;
  /** Standard input (only `logs` reads it). */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Aborted by the first SIGTERM or SIGINT. */
  readonly signal: AbortSignal;
  /** Registers a listener for SIGHUP (reload). */
  readonly onReload: (listener: () => void) => void;
  readonly readSecret: ReadSecretFile;
  /**
   * The logger of a one-shot command: pino JSON on stderr, so stdout holds only the command's
   * output (one JSON document with `--json`).
   */
  readonly logger: (level: Config['logLevel'], base?: Record<string, unknown>) => Logger;
}

/** A command returns its exit code: 0 ok, 1 failure or invalid input, 2 usage error. */
export type Command = (context: CommandContext) => Promise<number>;

/** A mistake in how the command was called; the CLI prints it with the usage line, exit 2. */
export class UsageError extends CodeshipCronError {
  override name = 'UsageError';
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

type Options<N extends CommandName> = (typeof COMMAND_SPECS)[N]['options'];

/** `parseArgs`' error in our words: one line naming the option (its own text is Node's advice). */
function parseArgsMessage(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(error.message)) return `${option} takes no value`;
    if (/ambiguous/.test(error.message))
      return `${option} needs a value (for one that starts with "-", write ${option}=VALUE)`;
    return `${option} needs a value`;
  }
  return (error.message.split('\n')[0] ?? error.message).trim();
}

/**
 * `parseArgs` over the options `usage.ts` lists for command `name` (so help and parsing agree),
 * with usage errors turned into UsageError and at most `maxPositionals` positionals.
 */
export function parseCommandArgs<N extends CommandName>(
  context: CommandContext,
  name: N,
  maxPositionals = 0,
) {
  const options = COMMAND_SPECS[name].options as Options<N>;
  let parsed: ReturnType<
    typeof parseArgs<{ options: Options<N>; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: [...context.argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error as Error & { code?: string }));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  }
  return parsed;
}

/** Parses a positive integer option, or throws a UsageError naming the option. */
/** A port option: an integer from 0 (any free port) to 65535; `fallback` when absent. */
export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got "${value}")`);
  }
  return port;
}

export function parsePositiveInt(
  value: string | undefined,
  option: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`${option} must be a positive integer (got "${value}")`);
  }
  return number;
}
