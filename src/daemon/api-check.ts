/**
 * Checks schedules against the API: one project list, then a newest-first walk of each project's
 * build history that stops as soon as every branch name and glob of that project's schedules has
 * matched a build (or at the sweeps' page limit), all through the shared pacer. The decisions are
 * `src/core/api-check.ts`. Used by `codeship-cron check` and by `run` at start (with a page budget).
 */

import type { Logger } from '../adapters/logger.ts';
import {
  checkSchedule,
  findProject,
  type HistoryFacts,
  type ScheduleCheck,
  unmatchedPatterns,
} from '../core/api-check.ts';
import { CodeshipError, coerceError, formatScheduleIssue } from '../core/errors.ts';
import type { Project, Schedule } from '../core/model.ts';
import type { CallPriority, CodeshipApi } from '../ports.ts';
import { MAX_HISTORY_PAGES } from './branch-history.ts';

const PER_PAGE = 50;

export interface ApiCheckOptions {
  priority?: CallPriority;
  signal?: AbortSignal;
  /** History pages read at most over all projects (default: no limit beyond each project's). */
  maxPages?: number;
}

export interface ApiCheckReport {
  /** One result per schedule, in the order given. */
  readonly checks: readonly ScheduleCheck[];
  /** Schedules whose branches were not judged because `maxPages` ran out. */
  readonly unchecked: readonly string[];
  readonly projects: number;
  /** History pages read. */
  readonly pages: number;
}

interface Walk {
  facts: HistoryFacts | null;
  pages: number;
}

/**
 * Reads `project`'s history until every pattern matched, the history ended, MAX_HISTORY_PAGES
 * (what a sweep reads) or the `budget` of pages ran out. `facts` is null when the budget stopped
 * the walk with patterns still unmatched: nothing can be said of them then.
 */
async function walkHistory(
  api: CodeshipApi,
  projectUuid: string,
  patterns: readonly string[],
  budget: number,
  options: ApiCheckOptions,
): Promise<Walk> {
  const seen = new Set<string>();
  let builds = 0;
  let pages = 0;
  const facts = (complete: boolean) => ({ branches: seen, builds, complete });
  if (budget <= 0) return { facts: null, pages };
  const list = api.listBuilds(projectUuid, {
    perPage: PER_PAGE,
    priority: options.priority,
    signal: options.signal,
  });
  pages = 1;
  for await (const build of list) {
    seen.add(build.branch);
    builds += 1;
    if (builds % PER_PAGE !== 0) continue;
    // A page ends here: read the next one only if a pattern is still unmatched.
    if (unmatchedPatterns(patterns, seen).length === 0) return { facts: facts(true), pages };
    if (pages >= MAX_HISTORY_PAGES) return { facts: facts(false), pages };
    if (pages >= budget) return { facts: null, pages };
    pages += 1;
  }
  return { facts: facts(true), pages };
}

/** Checks every schedule: project existence for all, branches as far as `maxPages` allows. */
export async function checkAgainstApi(
  api: CodeshipApi,
  schedules: readonly Schedule[],
  options: ApiCheckOptions = {},
): Promise<ApiCheckReport> {
  const call = { priority: options.priority, signal: options.signal };
  const projects: Project[] = await api.listProjects(call);
  const byProject = new Map<string, Schedule[]>();
  for (const schedule of schedules) {
    const project = findProject(projects, schedule.project);
    if (project) byProject.set(project.uuid, [...(byProject.get(project.uuid) ?? []), schedule]);
  }
  const histories = new Map<string, HistoryFacts | null>();
  const failures = new Map<string, string>();
  let pages = 0;
  for (const [projectUuid, own] of byProject) {
    const patterns = [...new Set(own.flatMap((s) => s.branches))];
    const budget = (options.maxPages ?? Number.POSITIVE_INFINITY) - pages;
    try {
      const walk = await walkHistory(api, projectUuid, patterns, budget, options);
      pages += walk.pages;
      histories.set(projectUuid, walk.facts);
    } catch (error) {
      // A project this user cannot read is a problem of its schedules; anything else stops the check.
      if (!(error instanceof CodeshipError)) throw error;
      if (error.code !== 'ERR_CODESHIP_NOT_FOUND' && error.code !== 'ERR_CODESHIP_PERMISSION')
        throw error;
      failures.set(projectUuid, error.message);
      histories.set(projectUuid, null);
    }
  }
  const unchecked: string[] = [];
  const checks = schedules.map((schedule) => {
    const project = findProject(projects, schedule.project);
    const history = project ? (histories.get(project.uuid) ?? null) : null;
    const check = checkSchedule(schedule, projects, history);
    const failure = project ? failures.get(project.uuid) : undefined;
    if (failure !== undefined) {
      return {
        ...check,
        problems: [
          {
            file: schedule.source.file,
            line: schedule.source.line,
            schedule: schedule.name,
            field: 'project',
            message: `cannot read the build history of "${schedule.project}" (${failure})`,
          },
        ],
      };
    }
    if (project && history === null) unchecked.push(schedule.name);
    return check;
  });
  return { checks, unchecked, projects: projects.length, pages };
}

/** History pages `run` spends at start on the check, at the lowest priority. */
export const START_CHECK_MAX_PAGES = 20;
/** Problems logged one per line at start; more are counted in one line. */
export const START_CHECK_MAX_LINES = 20;

/**
 * `run`'s check at start: the same problems as `codeship-cron check`, logged as warnings, never
 * fatal. It spends at most START_CHECK_MAX_PAGES history pages at the pacer's lowest priority
 * (projects beyond that are named in the summary line: `check` reads them all). Never rejects.
 */
export async function logStartCheck(
  api: CodeshipApi,
  schedules: readonly Schedule[],
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    const report = await checkAgainstApi(api, schedules, {
      priority: 'reconcile',
      signal,
      maxPages: START_CHECK_MAX_PAGES,
    });
    const problems = report.checks.flatMap((c) => c.problems);
    for (const problem of problems.slice(0, START_CHECK_MAX_LINES))
      logger.warn({ problem: formatScheduleIssue(problem) }, 'schedule problem');
    if (problems.length > START_CHECK_MAX_LINES) {
      logger.warn(
        { more: problems.length - START_CHECK_MAX_LINES },
        'more schedule problems: codeship-cron check lists them all',
      );
    }
    logger.info(
      {
        schedules: schedules.length,
        problems: problems.length,
        branchesUnchecked: report.unchecked.length,
        pages: report.pages,
      },
      'schedules checked against the API',
    );
  } catch (raw) {
    if (signal.aborted) return;
    logger.warn({ err: coerceError(raw) }, 'schedule check failed; the schedules run as they are');
  }
}
