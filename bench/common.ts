/**
 * What every benchmark scenario shares: the result protocol between a scenario process and the
 * runner, statistics, the machine description, /proc readers and temp folders.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** A scenario prints exactly one line starting with this, followed by its figures as JSON. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Figures of one scenario run: numbers (units are in the names) and a few labels. */
export type Figures = Record<string, number | string | boolean | null>;

/** Prints the figures for the runner (stdout); progress notes go to stderr. */
export function emitResult(figures: Figures): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
}

/** Progress note on stderr, prefixed with the scenario name. */
export function note(scenario: string, text: string): void {
  process.stderr.write(`  [${scenario}] ${text}\n`);
}

/** True when the scenario runs in the small, short CI mode. */
export function isQuick(argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.includes('--quick');
}

/** The value after `--name` in argv, or undefined. */
export function argValue(
  name: string,
  argv: readonly string[] = process.argv.slice(2),
): string | undefined {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? argv[index + 1] : undefined;
}

/** The median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The nearest-rank percentile `p` (0..100) of a list; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
}

/** The machine the figures come from. */
export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Linux clock ticks per second for /proc/PID/stat (USER_HZ; 100 on every mainstream kernel). */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  rssKiB: number;
  /** Peak resident set since the process started. */
  peakRssKiB: number;
  /** User + system CPU time in clock ticks. */
  cpuTicks: number;
}

/** Reads VmRSS, VmHWM (/proc/PID/status) and utime+stime (/proc/PID/stat) of a live process. */
export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces): utime is the 14th
  // field of the line, stime the 15th, i.e. index 11 and 12 after ") ".
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rssKiB: kib('VmRSS'),
    peakRssKiB: kib('VmHWM'),
    cpuTicks: Number(after[11]) + Number(after[12]),
  };
}

/** A fresh temp folder on the default temp file system; `remove` deletes it. */
export function tempDir(label: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(os.tmpdir(), `codeship-cron-bench-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A real-time pause (only for the wall-clock scenarios: start-up, idle window, bursts). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rounds to `digits` decimals (figures are printed and stored rounded). */
export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
