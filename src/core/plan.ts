/**
 * The tick planner: which slots of which schedules fire now, which are recorded as missed or
 * disabled, and when the next one becomes due. Pure: `now` is an input, nothing is read or
 * written; the daemon records and triggers what the plan lists (README, "Time semantics" and
 * "The ledger and exactly-once").
 */
import { jitterOffsetMs } from './jitter.ts';
import { isCronSchedule, type Schedule } from './model.ts';
import { collectDue, type DueSlots, FireCache } from './plan-fires.ts';
import { SECOND } from './time.ts';

export { FireCache } from './plan-fires.ts';

/** A slot whose fire time is at most this late is simply due: the loop wakes at least every 30 s. */
const DEFAULT_GRACE_MS = 90 * SECOND;
/** Most slots recorded as missed per schedule per plan; older ones are only counted. */
const DEFAULT_MAX_MISSED_PER_SCHEDULE = 1000;

export interface PlanInput {
  schedules: readonly Schedule[];
  /** Last nominal slot already recorded in the ledger per schedule name (absent: never fired). */
  marks: ReadonlyMap<string, Date>;
  /** Per schedule name: instant from which this process watches it when it has no mark (daemon start or when the schedule appeared). */
  watchingSince: ReadonlyMap<string, Date>;
  now: Date;
  /** A slot whose fire time is at most this late is simply due (default 90 s; the loop wakes at least every 30 s). */
  graceMs?: number;
  /** Most slots recorded as missed per schedule per plan (default 1000); older ones are counted, not listed. */
  maxMissedPerSchedule?: number;
  /**
   * A memo of cron answers the daemon keeps across ticks: it changes the cost of a plan, never its
   * content. With it, a tick in which many slots fall due answers from memory (the tick before
   * already computed each series' slot after its wake-up slot).
   */
  fireCache?: FireCache;
}

export type PlannedSlot =
  | { kind: 'fire'; schedule: Schedule; slotAt: Date; fireAt: Date; catchup: boolean }
  | { kind: 'skip'; schedule: Schedule; slotAt: Date; reason: 'missed' | 'disabled' };

export interface Plan {
  /** Sorted by fireAt (fires) or slotAt (skips) ascending, then schedule name, then slotAt. */
  slots: PlannedSlot[];
  /**
   * New mark per schedule that had due slots: the latest due slotAt. It is set even when no slot
   * of the schedule was listed (maxMissedPerSchedule 0), so the shell must store it as the
   * schedule's high-water mark, not derive it from the rows it wrote.
   */
  marks: Map<string, Date>;
  /**
   * Missed (or disabled) slots not listed because of maxMissedPerSchedule, per schedule. Exact
   * unless a backlog was too long to walk (a sub-minute schedule down for days): then it includes
   * an estimate from the spacing of the slots walked (`collectDue`).
   */
  uncounted: Map<string, number>;
  /** Earliest instant at which a slot of any schedule becomes due (its fireAt), or null if none ever will. */
  wakeAt: Date | null;
}

/** Jitter offsets by schedule object: the hash of a name is the same every tick. */
const offsets = new WeakMap<Schedule, number>();

function offsetOf(schedule: Schedule): number {
  if (!(schedule.jitterMs > 0)) return 0;
  let offsetMs = offsets.get(schedule);
  if (offsetMs === undefined) {
    offsetMs = jitterOffsetMs(schedule.name, schedule.jitterMs);
    offsets.set(schedule, offsetMs);
  }
  return offsetMs;
}

interface Entry {
  sortMs: number;
  name: string;
  slotMs: number;
  slot: PlannedSlot;
}

/**
 * Plans one tick. For each schedule, the lower bound L is its mark, else the instant this process
 * started watching it, else `now`; its due slots are the cron fires in its zone with L < slotAt and
 * slotAt + jitter <= now. Of those, at most one fires:
 * - the latest, when it is at most `graceMs` late (`catchup: false`);
 * - else the latest, when the schedule has a mark, `catchupMs > 0` and the slot is at most
 *   `catchupMs` old (`catchup: true`): downtime and clock jumps forward are caught up, coalesced;
 * - else none; a schedule without a mark never catches up.
 * Every other due slot is `skip missed` (`skip disabled` for a disabled schedule, which never
 * fires), the most recent `maxMissedPerSchedule` listed and the rest counted in `uncounted`. When
 * L >= now (the clock went back) nothing is due and no slot at or before a mark is ever planned.
 * Schedules sharing (cron, timezone, L) share their cron computations.
 */
export function planTick(input: PlanInput): Plan {
  const nowMs = input.now.getTime();
  const graceMs = input.graceMs ?? DEFAULT_GRACE_MS;
  const maxMissed = Math.max(0, input.maxMissedPerSchedule ?? DEFAULT_MAX_MISSED_PER_SCHEDULE);
  const fires = input.fireCache ?? new FireCache(Number.POSITIVE_INFINITY);
  const collected = new Map<string, DueSlots>();
  const entries: Entry[] = [];
  const marks = new Map<string, Date>();
  const uncounted = new Map<string, number>();
  let wakeMs = Number.POSITIVE_INFINITY;

  for (const schedule of input.schedules) {
    // Chains fire after upstream builds, not on a timetable (daemon/chains.ts).
    if (!isCronSchedule(schedule)) continue;
    const { name } = schedule;
    const mark = input.marks.get(name);
    const lowerMs = (mark ?? input.watchingSince.get(name) ?? input.now).getTime();
    const offsetMs = offsetOf(schedule);
    const untilMs = nowMs - offsetMs;
    const series = fires.forSchedule(schedule);
    // Most ticks find nothing due: when the first slot after the lower bound is remembered and not
    // yet due, that slot is all this schedule contributes (its wake-up), and costs no cron math.
    const firstMs = series.known(lowerMs);
    if (firstMs === null) continue;
    if (firstMs !== undefined && firstMs > untilMs) {
      wakeMs = Math.min(wakeMs, firstMs + offsetMs);
      continue;
    }
    const dueKey = `${schedule.timezone}\u0000${schedule.cron}\u0000${lowerMs}\u0000${untilMs}`;
    let due = collected.get(dueKey);
    if (due === undefined) {
      // One more slot than may be listed as missed: the latest may fire instead.
      due = collectDue(series.next, lowerMs, untilMs, maxMissed + 1);
      collected.set(dueKey, due);
      // With a cache kept across ticks, a tick in which nothing of this series is due answers now
      // what the tick in which its wake-up slot is due will ask (the slot after it): the same
      // work, moved out of the latency-critical tick.
      const idle = due.listedMs.length === 0 && due.olderCount === 0;
      if (input.fireCache !== undefined && idle && due.followingMs !== null) {
        series.next(due.followingMs);
      }
    }
    if (due.followingMs !== null) wakeMs = Math.min(wakeMs, due.followingMs + offsetMs);
    const latestMs = due.listedMs.at(-1);
    if (latestMs === undefined) continue;

    marks.set(name, new Date(latestMs));
    const fire = schedule.enabled
      ? fireKind(schedule, latestMs, offsetMs, nowMs, graceMs, mark)
      : null;
    let skippedMs = fire === null ? due.listedMs : due.listedMs.slice(0, -1);
    let older = due.olderCount;
    if (skippedMs.length > maxMissed) {
      older += skippedMs.length - maxMissed;
      skippedMs = skippedMs.slice(skippedMs.length - maxMissed);
    }
    if (older > 0) uncounted.set(name, older);
    const reason = schedule.enabled ? 'missed' : 'disabled';
    for (const slotMs of skippedMs) {
      entries.push({
        sortMs: slotMs,
        name,
        slotMs,
        slot: { kind: 'skip', schedule, slotAt: new Date(slotMs), reason },
      });
    }
    if (fire !== null) {
      const fireAtMs = latestMs + offsetMs;
      entries.push({
        sortMs: fireAtMs,
        name,
        slotMs: latestMs,
        slot: {
          kind: 'fire',
          schedule,
          slotAt: new Date(latestMs),
          fireAt: new Date(fireAtMs),
          catchup: fire === 'catchup',
        },
      });
    }
  }

  entries.sort(compareEntries);
  return {
    slots: entries.map((entry) => entry.slot),
    marks,
    uncounted,
    wakeAt: Number.isFinite(wakeMs) ? new Date(wakeMs) : null,
  };
}

/** Whether the latest due slot of an enabled schedule fires, and how. */
function fireKind(
  schedule: Schedule,
  latestMs: number,
  offsetMs: number,
  nowMs: number,
  graceMs: number,
  mark: Date | undefined,
): 'on-time' | 'catchup' | null {
  if (nowMs - (latestMs + offsetMs) <= graceMs) return 'on-time';
  const inWindow = schedule.catchupMs > 0 && nowMs - latestMs <= schedule.catchupMs;
  return mark !== undefined && inWindow ? 'catchup' : null;
}

function compareEntries(a: Entry, b: Entry): number {
  if (a.sortMs !== b.sortMs) return a.sortMs - b.sortMs;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.slotMs - b.slotMs;
}
