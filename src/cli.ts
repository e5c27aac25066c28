#!/usr/bin/env node
/**
 * The command-line entry point and the only file that touches `process`: dotenv, signals, exit
 * codes. Each command lives in `src/commands/<name>.ts` and returns its exit code.
 */
import { readFileSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import type { Command, CommandContext } from './commands/context.ts';
import { UsageError } from './commands/context.ts';
import { CodeshipCronError, coerceError } from './core/errors.ts';

const COMMANDS: Record<string, string> = {
  run: 'run the daemon',
  validate: 'check every schedule file and print every problem   [--schedules DIR]',
  next: 'the next fires of each schedule   [NAME] [--count N] [--from ISO] [--json]',
  status: 'the ledger: recent slots and their builds   [NAME] [--limit N] [--json]',
  trigger: 'fire a schedule now, recorded as manual   NAME [--branch B]',
  reconcile: 'one reconciliation pass, then exit',
  projects: "the organization's projects   [--json]",
  clock: "how far Codeship's clock is from this host's   [--samples N] [--json]",
  backup: 'online backup of the ledger, checked   FILE [--json]',
  simulate:
    'run the bundled Codeship simulator   [--port P] [--host H] [--seed FILE] [--clock-offset D] [--push-rate R] [--push-spread D]',
  demo: 'simulator + daemon + example schedules that fire every few seconds, on data/',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
  return `usage: codeship-cron <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    process.stderr.write(`error: unknown command "${name}"\n\n${usage()}`);
    return 2;
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
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signal: controller.signal,
    onReload: (listener) => reloadListeners.push(listener),
    readSecret: (path) => readFileSync(path, 'utf8'),
  };
  try {
    const module = (await import(`./commands/${name}.js`)) as { default: Command };
    return await module.default(context);
  } catch (raw) {
    const error = coerceError(raw);
    if (error instanceof UsageError) {
      process.stderr.write(
        `error: ${error.message}\n\nusage: codeship-cron ${name} ${COMMANDS[name]?.split('   ')[1] ?? ''}\n`,
      );
      return 2;
    }
    const known = error instanceof CodeshipCronError;
    process.stderr.write(`error: ${error.message}\n`);
    if (!known || process.env.DEBUG) process.stderr.write(`${error.stack ?? ''}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Commands settle their own work; exit so a stray handle (a keep-alive socket) cannot hold us.
    setImmediate(() => process.exit(code)).unref();
  },
  (error: unknown) => {
    process.stderr.write(`error: ${coerceError(error).stack}\n`);
    process.exitCode = 1;
  },
);
