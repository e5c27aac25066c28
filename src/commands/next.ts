/**
 * `codeship-cron next [NAME] [--count N] [--from ISO] [--json] [--schedules DIR]`: the next N
 * fires (nominal instants) of each schedule strictly after `--from` (default now). No credentials,
 * network or database. JSON: `[{"schedule","at"}]` sorted by `at`.
 */

import { loadScheduleDir } from '../adapters/schedule-dir.ts';
import { loadConfig } from '../config.ts';
import { isBranchGlob } from '../core/branch-glob.ts';
import { describeChain } from '../core/chain.ts';
import { describeCron, nextFireAfter } from '../core/cron.ts';
import { didYouMean, listNames } from '../core/did-you-mean.ts';
import { formatScheduleIssue } from '../core/errors.ts';
import { jitterOffsetMs } from '../core/jitter.ts';
import type { Schedule } from '../core/model.ts';
import { formatDuration, parseInstant, toIso } from '../core/time.ts';
import { formatWallTime } from '../core/wall-time.ts';
import { type Command, parseCommandArgs, parsePositiveInt, UsageError } from './context.ts';

export const MAX_COUNT = 1000;

function fires(schedule: Schedule, from: Date, count: number): Date[] {
  const result: Date[] = [];
  // A chain has no timetable: it fires once per qualifying upstream build.
  if (schedule.cron === null) return result;
  let cursor = from;
  while (result.length < count) {
    const next = nextFireAfter(schedule.cron, schedule.timezone, cursor);
    if (next === null) break;
    result.push(next);
    cursor = next;
  }
  return result;
}

function header(schedule: Schedule): string[] {
  const disabled = schedule.enabled ? '' : ' (disabled: does not fire)';
  const lines = [
    schedule.after
      ? `${schedule.name}: ${describeChain(schedule.after)}${disabled}`
      : `${schedule.name}: "${schedule.cron}" in ${schedule.timezone}: ${describeCron(schedule.cron ?? '')}${disabled}`,
  ];
  const resolved = schedule.branches.some(isBranchGlob) || schedule.stale !== null;
  const branchWord = schedule.branches.length === 1 && !resolved ? 'branch' : 'branches';
  let detail = `  project ${schedule.project}, ${branchWord} ${schedule.branches.join(', ')}`;
  if (resolved) detail += ' (the branch set is resolved at fire time from the build history)';
  lines.push(detail);
  if (schedule.stale) {
    lines.push(
      `  stale: only branches whose newest build is older than ${formatDuration(schedule.stale.olderThanMs)}, at most ${schedule.stale.max} per fire`,
    );
  }
  if (schedule.after) {
    lines.push(
      schedule.enabled
        ? '  fires once for every qualifying upstream build (no timetable)'
        : '  does not fire while disabled',
    );
  }
  if (schedule.jitterMs > 0) {
    lines.push(
      `  jitter: each fire starts ${formatOffset(jitterOffsetMs(schedule.name, schedule.jitterMs))} after the times below (jitter ${formatDuration(schedule.jitterMs)}; the slot keeps the nominal time)`,
    );
  }
  return lines;
}

/** A jitter offset as minutes and seconds, e.g. `4m 07s`. */
function formatOffset(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

const next: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(context, 'next', 1);
  const count = parsePositiveInt(values.count, '--count', 5);
  if (count > MAX_COUNT)
    throw new UsageError(`--count must be at most ${MAX_COUNT} (got "${values.count}")`);
  let from = new Date();
  if (values.from !== undefined) {
    const parsed = parseInstant(values.from);
    if (parsed === null) {
      throw new UsageError(
        `--from must be an ISO-8601 instant such as 2026-03-29T00:00:00Z (got "${values.from}")`,
      );
    }
    from = parsed;
  }
  const config = loadConfig(context.env);
  const dir = values.schedules ?? config.schedulesDir;
  const loaded = loadScheduleDir(dir, { defaultTimezone: config.defaultTimezone });
  for (const issue of loaded.issues) context.stderr(`${formatScheduleIssue(issue)}\n`);
  if (loaded.schedules.length === 0) {
    // Problems are printed above; an empty folder says so, on stderr, as validate does.
    if (loaded.issues.length > 0) {
      const count = loaded.issues.length;
      context.stderr(
        `error: ${count} problem${count === 1 ? '' : 's'}; no valid schedule to show\n`,
      );
      return 1;
    }
    context.stderr(
      loaded.files.length === 0
        ? `error: no schedule files in ${dir} (expected *.yaml, *.yml or *.json files)\n`
        : `error: no schedules in ${dir} (every file's schedules: list is empty)\n`,
    );
    return 1;
  }
  let selected = loaded.schedules;
  const name = positionals[0];
  if (name !== undefined) {
    selected = selected.filter((schedule) => schedule.name === name);
    if (selected.length === 0) {
      const names = loaded.schedules.map((s) => s.name);
      context.stderr(
        `error: no valid schedule named "${name}" in ${dir}${didYouMean(name, names)}; known: ${listNames(names)}\n`,
      );
      return 1;
    }
  }
  const exitCode = loaded.issues.length > 0 ? 1 : 0;
  if (values.json) {
    const rows = selected
      .filter((schedule) => schedule.enabled)
      .flatMap((schedule) =>
        fires(schedule, from, count).map((at) => ({ schedule: schedule.name, at })),
      )
      .sort((a, b) => a.at.getTime() - b.at.getTime() || a.schedule.localeCompare(b.schedule))
      .map((row) => ({ schedule: row.schedule, at: toIso(row.at) }));
    context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return exitCode;
  }
  const blocks = selected.map((schedule) => {
    const lines = header(schedule);
    if (schedule.enabled) {
      for (const at of fires(schedule, from, count)) {
        lines.push(`  ${formatWallTime(at, schedule.timezone)}   ${toIso(at)}`);
      }
    }
    return lines.join('\n');
  });
  context.stdout(
    `fires after ${toIso(from)} (local time in each schedule's zone, then UTC):\n\n${blocks.join('\n\n')}\n`,
  );
  return exitCode;
};

export default next;
