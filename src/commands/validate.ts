/**
 * `codeship-cron validate [--schedules DIR]`: checks every schedule file and prints every problem
 * (stderr, exit 1), or one summary line per file (stdout, exit 0), then the API demand ahead
 * (notices and warnings; `--strict` exits 1 on a warning). No credentials, network or database.
 */
import { loadScheduleDir } from '../adapters/schedule-dir.ts';
import { loadConfig } from '../config.ts';
import { isBranchGlob } from '../core/branch-glob.ts';
import { formatScheduleIssue } from '../core/errors.ts';
import { type Command, parseCommandArgs } from './context.ts';
import { predictFromNow, printDemand, strictCode } from './demand-output.ts';

const validate: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'validate');
  const config = loadConfig(context.env);
  const dir = values.schedules ?? config.schedulesDir;
  const loaded = loadScheduleDir(dir, { defaultTimezone: config.defaultTimezone });
  if (loaded.issues.length > 0) {
    for (const issue of loaded.issues) context.stderr(`${formatScheduleIssue(issue)}\n`);
    const badFiles = loaded.files.filter((file) => file.issues.length > 0).length;
    const count = loaded.issues.length;
    const where =
      loaded.files.length === 0
        ? ''
        : ` in ${badFiles} of ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`;
    context.stderr(`error: ${count} problem${count === 1 ? '' : 's'}${where}\n`);
    return 1;
  }
  if (loaded.files.length === 0) {
    context.stderr(`error: no schedule files in ${dir} (expected *.yaml, *.yml or *.json files)\n`);
    return 1;
  }
  if (config.rateLimitPerMinute === null) {
    const issue = config.apiIssues.find((text) => text.startsWith('CODESHIP_RATE_LIMIT'));
    context.stderr(`error: ${issue ?? 'CODESHIP_RATE_LIMIT is invalid'}\n`);
    return 1;
  }
  for (const file of loaded.files) {
    const n = file.schedules.length;
    const names = file.schedules.map((s) => s.name + (s.enabled ? '' : ' (disabled)')).join(', ');
    const globs = file.schedules.some((s) => s.branches.some(isBranchGlob) || s.stale !== null);
    context.stdout(
      `${file.file}: ok, ${n} schedule${n === 1 ? '' : 's'}${n > 0 ? ` (${names})` : ''}${globs ? ', branch globs resolved at fire time' : ''}\n`,
    );
  }
  const demand = predictFromNow(loaded.schedules, config.rateLimitPerMinute);
  printDemand(context, demand);
  return strictCode(0, values.strict === true, demand);
};

export default validate;
