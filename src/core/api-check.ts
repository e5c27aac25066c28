/**
 * What `codeship-cron check` (and `run` at start) finds wrong with schedules once the API has
 * said which projects exist and which branches their build histories hold. Pure: the walk of the
 * history is in `src/daemon/api-check.ts`, these are the decisions.
 */
import { isBranchGlob, matchBranch } from './branch-glob.ts';
import { didYouMean, listNames } from './did-you-mean.ts';
import type { ScheduleIssue } from './errors.ts';
import type { Schedule } from './model.ts';

/** A project as far as the check needs it. */
interface ProjectRef {
  readonly uuid: string;
  readonly name: string;
}

/** The project `ref` names, as the daemon resolves it: its UUID, or its name in any case. */
export function findProject<P extends ProjectRef>(projects: readonly P[], ref: string): P | null {
  const wanted = ref.toLowerCase();
  return projects.find((p) => p.uuid === ref || p.name.toLowerCase() === wanted) ?? null;
}

/** What a walk of a project's build history (newest first) learnt. */
export interface HistoryFacts {
  /** Every branch seen among the builds read. */
  readonly branches: ReadonlySet<string>;
  /** Builds read. */
  readonly builds: number;
  /** True when the walk reached the oldest build; false when it stopped at its page limit. */
  readonly complete: boolean;
}

/** The patterns (names and globs) that match none of the `seen` branches; the walk stops at none. */
export function unmatchedPatterns(
  patterns: readonly string[],
  seen: ReadonlySet<string>,
): string[] {
  return patterns.filter((pattern) =>
    isBranchGlob(pattern) ? ![...seen].some((b) => matchBranch(pattern, b)) : !seen.has(pattern),
  );
}

/** One schedule's result: its project's UUID (null when not found) and what each pattern matched. */
export interface ScheduleCheck {
  readonly schedule: string;
  readonly projectUuid: string | null;
  /** Branches each pattern matched in the history; null when the history was not read. */
  readonly matches: readonly { pattern: string; branches: string[] }[] | null;
  readonly problems: readonly ScheduleIssue[];
}

function issue(schedule: Schedule, field: string, message: string): ScheduleIssue {
  return {
    file: schedule.source.file,
    line: schedule.source.line,
    schedule: schedule.name,
    field,
    message,
  };
}

function projectProblem(schedule: Schedule, projects: readonly ProjectRef[]): ScheduleIssue {
  const names = projects.map((p) => p.name).sort();
  const hint = didYouMean(schedule.project, names);
  return issue(
    schedule,
    'project',
    `"${schedule.project}" not found in the organization ${hint ? hint.trim() : `(expected one of: ${listNames(names)})`}`,
  );
}

function branchProblem(schedule: Schedule, pattern: string, facts: HistoryFacts): ScheduleIssue {
  const field = schedule.branches.length === 1 && !isBranchGlob(pattern) ? 'branch' : 'branches';
  const where = facts.complete
    ? `${schedule.project}'s build history`
    : `the newest ${facts.builds} builds of ${schedule.project}`;
  const seen = [...facts.branches].sort();
  if (seen.length === 0) {
    return issue(
      schedule,
      field,
      `"${pattern}" has no build: ${where} is empty (expected a branch that was built)`,
    );
  }
  if (isBranchGlob(pattern)) {
    return issue(
      schedule,
      field,
      `"${pattern}" matches no branch in ${where} (expected a glob matching one of: ${listNames(seen)})`,
    );
  }
  const hint = didYouMean(pattern, seen);
  return issue(
    schedule,
    field,
    `"${pattern}" has no build in ${where} ${hint ? hint.trim() : `(expected one of: ${listNames(seen)})`}`,
  );
}

/**
 * Checks one schedule against the organization's `projects` and, when it was read, the build
 * history of its project (`history` null: not read, so its branches are not judged).
 */
export function checkSchedule(
  schedule: Schedule,
  projects: readonly ProjectRef[],
  history: HistoryFacts | null,
): ScheduleCheck {
  const project = findProject(projects, schedule.project);
  if (project === null) {
    return {
      schedule: schedule.name,
      projectUuid: null,
      matches: null,
      problems: [projectProblem(schedule, projects)],
    };
  }
  // A chain's `project:` upstreams must be projects (`schedule:` upstreams are checked by validate).
  const upstreamProblems: ScheduleIssue[] = [];
  schedule.after?.upstreams.forEach((upstream, i) => {
    if (upstream.kind !== 'project' || findProject(projects, upstream.project)) return;
    const names = projects.map((p) => p.name).sort();
    const hint = didYouMean(upstream.project, names);
    upstreamProblems.push({
      ...issue(
        schedule,
        `after[${i}].project`,
        `"${upstream.project}" not found in the organization ${hint ? hint.trim() : `(expected one of: ${listNames(names)})`}`,
      ),
      line: upstream.line,
    });
  });
  if (history === null) {
    return {
      schedule: schedule.name,
      projectUuid: project.uuid,
      matches: null,
      problems: upstreamProblems,
    };
  }
  const seen = [...history.branches].sort();
  const matches = schedule.branches.map((pattern) => ({
    pattern,
    branches: seen.filter((branch) => matchBranch(pattern, branch)),
  }));
  const problems = [
    ...upstreamProblems,
    ...matches
      .filter((match) => match.branches.length === 0)
      .map((match) => branchProblem(schedule, match.pattern, history)),
  ];
  return { schedule: schedule.name, projectUuid: project.uuid, matches, problems };
}
