/**
 * The built daemon as a child process for end-to-end tests: spawned like an operator runs it,
 * killed like a crash or stopped like systemd does, its JSON log lines awaited by predicate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

/** One pino JSON line of the daemon's stdout (a non-JSON line becomes `{ msg }`). */
export interface LogLine {
  msg?: string;
  time?: string;
  [key: string]: unknown;
}

/** One spawned `codeship-cron run`, its parsed stdout and its end. */
export interface DaemonRun {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first line (already seen or to come) matching `match`; rejects on exit or after `timeoutMs`. */
  waitFor: (match: (line: LogLine) => boolean, timeoutMs: number) => Promise<LogLine>;
}

/**
 * Spawns the built CLI (`node dist/cli.js run`) with exactly `env` in `cwd`, parses its stdout
 * as pino JSON lines and appends each, prefixed with `label`, to `logFile`. `exited` resolves once
 * the process is gone and its output fully read.
 */
export function startDaemon(options: {
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  label: string;
  /** The built CLI; default `dist/cli.js` of this checkout (the benchmarks, compiled elsewhere, pass theirs). */
  cli?: string;
}): DaemonRun {
  const { env, logFile, label } = options;
  const child = spawn(process.execPath, [options.cli ?? CLI, 'run'], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    appendFileSync(logFile, `${label} ${text}\n`);
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ msg: text });
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': stdout may still hold lines when the process has exited.
    child.on('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    }),
  );
  const waitFor = (match: (line: LogLine) => boolean, timeoutMs: number) =>
    new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${label}: no matching log line within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (error: Error | null, line?: LogLine) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(line as LogLine);
      };
      const check = () => {
        const line = lines.find(match);
        if (line) return finish(null, line);
        if (child.exitCode !== null || child.signalCode !== null) {
          finish(
            new Error(
              `${label} exited (${child.exitCode ?? child.signalCode}) before the awaited log line; stderr: ${stderr}`,
            ),
          );
        }
      };
      waiters.add(check);
      check();
    });
  return { child, lines, stderr: () => stderr, exited, waitFor };
}

/** Matches a log line by its message. */
export const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;
/** The instant a log line was written (pino ISO time). */
export const timeOf = (line: LogLine) => new Date(line.time as string);
