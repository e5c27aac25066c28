/**
 * `codeship-cron check [--json]`: validates the schedule files, then asks the API, for every
 * schedule, whether its project exists and which branches of its build history its names and
 * globs match. Problems go to stderr as `FILE:LINE: schedule NAME: field: …` (exit 1); each sound
 * schedule gets a line on stdout, then the API demand ahead (as `validate` prints it, sweeps'
 * globs counted as matched); `--strict` exits 1 on a demand warning. `--json` prints one document
 * on stdout either way, the demand under `demand`.
 */
import { loadScheduleDir } from '../adapters/schedule-dir.ts';
import { loadConfig, requireApi } from '../config.ts';
import type { ScheduleCheck } from '../core/api-check.ts';
import { isBranchGlob } from '../core/branch-glob.ts';
import { formatScheduleIssue, type ScheduleIssue } from '../core/errors.ts';
import { checkAgainstApi } from '../daemon/api-check.ts';
import { createApi } from '../deps.ts';
import { type Command, parseCommandArgs } from './context.ts';
import { demandJson, predictFromNow, printDemand, strictCode } from './demand-output.ts';

/** `nightly-api: ok (acme/api: main; release/* matches release/1.0, release/2.0)`. */
function describeSound(check: ScheduleCheck, project: string): string {
  const branches = (check.matches ?? []).map(({ pattern, branches }) =>
    branches.length === 1 && branches[0] === pattern
      ? pattern
      : `${pattern} matches ${branches.join(', ')}`,
  );
  return `${check.schedule}: ok (${project}: ${branches.join('; ')})`;
}

const check: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'check');
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const loaded = loadScheduleDir(config.schedulesDir, { defaultTimezone: config.defaultTimezone });
  if (loaded.files.length === 0 && loaded.issues.length === 0) {
    context.stderr(
      `error: no schedule files in ${config.schedulesDir} (expected *.yaml, *.yml or *.json files)\n`,
    );
    return 1;
  }
  const api = createApi(config, context.logger(config.logLevel, { command: 'check' }));
  const report = await checkAgainstApi(api, loaded.schedules, { signal: context.signal });
  const problems: ScheduleIssue[] = [...loaded.issues, ...report.checks.flatMap((c) => c.problems)];
  // Branches the globs matched in the build history: what a sweep without `stale:` triggers.
  const globBranches = new Map<string, number>();
  for (const c of report.checks) {
    const matched = (c.matches ?? []).filter((m) => isBranchGlob(m.pattern));
    if (matched.length > 0) {
      globBranches.set(c.schedule, new Set(matched.flatMap((m) => m.branches)).size);
    }
  }
  const demand = predictFromNow(
    loaded.schedules,
    requireApi(config).rateLimitPerMinute,
    globBranches,
  );
  const strict = values.strict === true;
  if (values.json) {
    const bySchedule = new Map(loaded.schedules.map((s) => [s.name, s]));
    const document = {
      ok: problems.length === 0,
      problems: problems.map((p) => ({ ...p, text: formatScheduleIssue(p) })),
      schedules: report.checks.map((c) => ({
        schedule: c.schedule,
        project: bySchedule.get(c.schedule)?.project ?? null,
        project_uuid: c.projectUuid,
        branches: c.matches,
        ok: c.problems.length === 0,
      })),
      demand: demandJson(demand),
    };
    context.stdout(`${JSON.stringify(document, null, 2)}\n`);
    return strictCode(problems.length === 0 ? 0 : 1, strict, demand);
  }
  for (const issue of problems) context.stderr(`${formatScheduleIssue(issue)}\n`);
  const projectOf = new Map(loaded.schedules.map((s) => [s.name, s.project]));
  for (const c of report.checks) {
    if (c.problems.length === 0)
      context.stdout(`${describeSound(c, projectOf.get(c.schedule) ?? '')}\n`);
  }
  printDemand(context, demand);
  if (problems.length > 0) {
    const n = problems.length;
    context.stderr(`error: ${n} problem${n === 1 ? '' : 's'}\n`);
    return 1;
  }
  return strictCode(0, strict, demand);
};

export default check;
