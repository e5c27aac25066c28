#!/usr/bin/env node
/**
 * The command-line entry point and the only file that touches `process`: dotenv, signals, exit
 * codes. Each command lives in `src/commands/<name>.ts` and returns its exit code.
 */
import { readFileSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { pino } from 'pino';
import { createLogger } from './adapters/logger.ts';
import type { Command, CommandContext } from './commands/context.ts';
import { UsageError } from './commands/context.ts';
import { commandHelp, isCommand, overviewHelp, synopsis } from './commands/usage.ts';
import { CodeshipCronError, coerceError } from './core/errors.ts';

/** True when the arguments ask for help (`--help` or `-h` before a `--`). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overviewHelp());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0];
    process.stdout.write(
      topic !== undefined && isCommand(topic) ? commandHelp(topic) : overviewHelp(),
    );
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (!isCommand(name)) {
    process.stderr.write(`error: unknown command "${name}"\n\n${overviewHelp()}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(name));
    return 0;
  }
  // The real environment wins over .env (dotenv never overrides what is already set).
  loadDotenv({ quiet: true });
  const controller = new AbortController();
  const reloadListeners: (() => void)[] = [];
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`error: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', () => {
    for (const listener of reloadListeners) listener();
  });
  const context: CommandContext = {
    argv: rest,
    env: process.env,
    stdin: process.stdin,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signal: controller.signal,
    onReload: (listener) => reloadListeners.push(listener),
    readSecret: (path) => readFileSync(path, 'utf8'),
    logger: (level, base = {}) =>
      createLogger({ level, base, destination: pino.destination({ dest: 2, sync: true }) }),
  };
  try {
    const module = (await import(`./commands/${name}.js`)) as { default: Command };
    return await module.default(context);
  } catch (raw) {
    const error = coerceError(raw);
    if (error instanceof UsageError) {
      process.stderr.write(
        `error: ${error.message}\n\nusage: codeship-cron ${synopsis(name)}\n(codeship-cron ${name} --help explains every option)\n`,
      );
      return 2;
    }
    const known = error instanceof CodeshipCronError;
    process.stderr.write(`error: ${error.message}\n`);
    if (!known || process.env.DEBUG) process.stderr.write(`${error.stack ?? ''}\n`);
    return 1;
  }
}

/**
 * Exits with `code` once everything written to stdout and stderr has been handed to the OS. A
 * pipe to a slow reader (`status --json | jq`) is written asynchronously: exiting before it
 * drains would cut the output. The exit after the drain stops a stray handle (a keep-alive
 * socket) from holding the process.
 */
function exitAfterDrain(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// A reader that goes away (`status --json | head -1`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv.slice(2)).then(exitAfterDrain, (error: unknown) => {
  process.stderr.write(`error: ${coerceError(error).stack}\n`);
  exitAfterDrain(1);
});
