/**
 * The API demand ahead as `validate` and `check` print it (README, "Overload"): notices for peaks
 * and warnings for a sustained excess, on stdout after the command's own output; `--strict` turns
 * warnings into exit 1. The prediction itself is core/demand-report.ts.
 */
import { type DemandReport, predictDemand } from '../core/demand-report.ts';
import type { Schedule } from '../core/model.ts';
import type { CommandContext } from './context.ts';

/** The demand of `schedules` over the next 7 days from now against `rateLimitPerMinute`. */
export function predictFromNow(
  schedules: readonly Schedule[],
  rateLimitPerMinute: number,
  globBranches?: ReadonlyMap<string, number>,
): DemandReport {
  return predictDemand({ schedules, from: new Date(), rateLimitPerMinute, globBranches });
}

/** Prints the report's notices and warnings on stdout. */
export function printDemand(context: CommandContext, report: DemandReport): void {
  for (const line of [...report.notices, ...report.warnings]) context.stdout(`${line}\n`);
}

/** The report as `check --json` shows it under `demand`. */
export function demandJson(report: DemandReport) {
  return {
    rate_limit_per_minute: report.rateLimitPerMinute,
    reserve_calls_per_create: report.reserveCallsPerCreate,
    creates_per_minute_budget: report.budgetPerMinute,
    peak_creates_per_minute: report.peakCreatesPerMinute,
    peaks: report.peaks.map((p) => ({
      at: p.at.toISOString(),
      creates: p.creates,
      drain_minutes: p.drainMinutes,
      days: p.days,
      text: p.text,
    })),
    excesses: report.excesses.map((e) => ({
      from: e.from.toISOString(),
      creates: e.creates,
      allowed: e.allowed,
      schedules: e.schedules,
      collide_minutes: e.collideMinutes.map((at) => at.toISOString()),
      repeats: e.repeats,
      text: e.lines.join('\n'),
    })),
    notices: report.notices,
    warnings: report.warnings,
  };
}

/** Exit code after the demand: 1 under `--strict` when there are warnings, else `code`. */
export function strictCode(code: number, strict: boolean, report: DemandReport): number {
  return code === 0 && strict && report.warnings.length > 0 ? 1 : code;
}
