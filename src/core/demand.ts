/**
 * API demand ahead (README, "Overload"): how many creates each minute of the next 7 days
 * needs, computed from the same fire times the planner fires (`nextFireAfter`, each schedule's
 * stable jitter offset), so `validate` and `check` can say before a run that a folder asks for
 * more than `CODESHIP_RATE_LIMIT` allows. Pure: the window's start is an input.
 */
import { isBranchGlob } from './branch-glob.ts';
import { nextFireAfter } from './cron.ts';
import { jitterOffsetMs } from './jitter.ts';
import { isCronSchedule, type Schedule } from './model.ts';
import { DAY, MINUTE } from './time.ts';

/** How far ahead demand is computed. */
export const DEMAND_HORIZON_MS = 7 * DAY;

/**
 * API calls kept in reserve per create, for discovery and reconciliation of its build. The
 * benchmark measures 0.35 calls per build beyond its create when builds fire together and 1.40
 * when they fire one a minute (README, "Performance"; target ≤ 1.5): the reserve is that target,
 * so a create costs 2.5 calls of the budget and a sustained load never starves reconciliation.
 */
export const RESERVE_CALLS_PER_CREATE = 1.5;

/** Creates a minute the budget allows in a sustained load: the rate limit less the reserve. */
export function createBudgetPerMinute(rateLimitPerMinute: number): number {
  return Math.max(1, Math.floor(rateLimitPerMinute / (1 + RESERVE_CALLS_PER_CREATE)));
}

/**
 * Creates one fire of `schedule` sends: one per named branch; a sweep with `stale:` at most its
 * `max` (fewer when it names fewer branches and has no glob); a sweep with globs and no `stale:`
 * its named branches plus `globBranches` (the branches its globs matched together, as `check`
 * learns them from the API), or 1 per glob when unknown.
 */
export function createsPerFire(schedule: Schedule, globBranches?: number): number {
  const globs = schedule.branches.filter(isBranchGlob).length;
  const named = schedule.branches.length - globs;
  if (schedule.stale !== null) {
    return globs === 0 ? Math.min(schedule.stale.max, named) : schedule.stale.max;
  }
  return named + (globBranches ?? globs);
}

/** One schedule's share of the demand: its fire minutes (jitter included) and creates per fire. */
export interface ScheduleDemand {
  readonly schedule: Schedule;
  readonly createsPerFire: number;
  /** Minute indices (from `Demand.startMs`) of its fires, ascending. */
  readonly minutes: Int32Array;
  /** Fires in each of those minutes (a 6-field expression may fire several times in one). */
  readonly firesPerMinute: Int32Array;
}

export interface Demand {
  /** The first minute of the window (the minute `from` lies in), epoch milliseconds. */
  readonly startMs: number;
  /** Creates needed in each minute of the window. */
  readonly perMinute: Float64Array;
  /** Every enabled schedule that fires in the window, by name. */
  readonly schedules: ReadonlyMap<string, ScheduleDemand>;
}

export interface DemandInput {
  schedules: readonly Schedule[];
  from: Date;
  horizonMs?: number;
  /** Per schedule name: how many branches its globs matched (from `check`); default 1 per glob. */
  globBranches?: ReadonlyMap<string, number>;
}

/** The fire minutes of one (expression, zone) series, shared by the schedules that use it. */
interface SeriesMinutes {
  minutes: number[];
  firesPerMinute: number[];
}

/**
 * The minutes of `(fromMs, untilMs]` in which the series fires, with how many fires each. One
 * `nextFireAfter` call per fire minute: after a fire, the next is asked after the end of its
 * minute, and the fires inside a minute are counted once (the first minute that fires) since an
 * expression's second field is the same in every minute it matches.
 */
function seriesMinutes(cron: string, timezone: string, fromMs: number, untilMs: number) {
  const minutes: number[] = [];
  const firesPerMinute: number[] = [];
  let perMinute = 0;
  let cursorMs = fromMs;
  for (;;) {
    const fire = nextFireAfter(cron, timezone, new Date(cursorMs));
    if (fire === null || fire.getTime() > untilMs) break;
    const fireMs = fire.getTime();
    const minuteEndMs = Math.floor(fireMs / MINUTE) * MINUTE + MINUTE - 1;
    if (perMinute === 0) {
      // Counted over the whole minute: the first fire after `fromMs` may be mid-minute.
      for (let at = new Date(minuteEndMs - MINUTE); ; perMinute += 1) {
        const more = nextFireAfter(cron, timezone, at);
        if (more === null || more.getTime() > minuteEndMs) break;
        at = more;
      }
    }
    minutes.push(fireMs);
    firesPerMinute.push(perMinute);
    cursorMs = minuteEndMs;
  }
  return { minutes, firesPerMinute } satisfies SeriesMinutes;
}

/**
 * The creates each minute of `[from, from + horizon)` needs: every enabled schedule's slots after
 * `from` (its cron fires in its zone, moved by its jitter offset, as the planner fires them),
 * times its creates per fire. Schedules sharing an expression and zone share the cron math.
 */
export function computeDemand(input: DemandInput): Demand {
  const horizonMs = input.horizonMs ?? DEMAND_HORIZON_MS;
  const fromMs = input.from.getTime();
  const startMs = Math.floor(fromMs / MINUTE) * MINUTE;
  const length = Math.ceil((fromMs + horizonMs - startMs) / MINUTE);
  const perMinute = new Float64Array(length);
  const series = new Map<string, SeriesMinutes>();
  const schedules = new Map<string, ScheduleDemand>();
  for (const schedule of input.schedules) {
    // A chain's demand follows its upstreams' builds, which no timetable predicts.
    if (!schedule.enabled || !isCronSchedule(schedule)) continue;
    const offsetMs = jitterOffsetMs(schedule.name, schedule.jitterMs);
    const key = `${schedule.timezone}\u0000${schedule.cron}`;
    let fires = series.get(key);
    if (fires === undefined) {
      // Slots up to a day before the window may fire inside it (jitter is at most 1d).
      fires = seriesMinutes(schedule.cron, schedule.timezone, fromMs - DAY, fromMs + horizonMs);
      series.set(key, fires);
    }
    const creates = createsPerFire(schedule, input.globBranches?.get(schedule.name));
    const minutes: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < fires.minutes.length; i += 1) {
      const slotMs = fires.minutes[i] as number;
      const fireMs = slotMs + offsetMs;
      // Whatever fires inside the window counts, a slot of the day before moved in by jitter too.
      const index = Math.floor((fireMs - startMs) / MINUTE);
      if (index < 0 || index >= length) continue;
      const n = fires.firesPerMinute[i] as number;
      perMinute[index] = (perMinute[index] as number) + n * creates;
      if (minutes.at(-1) === index) counts[counts.length - 1] = (counts.at(-1) as number) + n;
      else {
        minutes.push(index);
        counts.push(n);
      }
    }
    if (minutes.length === 0) continue;
    schedules.set(schedule.name, {
      schedule,
      createsPerFire: creates,
      minutes: Int32Array.from(minutes),
      firesPerMinute: Int32Array.from(counts),
    });
  }
  return { startMs, perMinute, schedules };
}
