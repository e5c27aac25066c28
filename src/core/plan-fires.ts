/**
 * The fire-time enumeration under `planTick`: a memo of `nextFireAfter` answers and a bounded
 * collector of the due slots of one cron series. Split from plan.ts because croner answers a
 * `nextRun` in 30–50 µs, so the number of calls, not the planner's own logic, decides its speed.
 */
import { nextFireAfter } from './cron.ts';
import { SECOND } from './time.ts';

/** The fires of one (expression, zone) pair as a function of epoch milliseconds. */
export type NextFireFn = (afterMs: number) => number | null;

/** The memoised fires of one (expression, zone) series. */
interface SeriesFires {
  /** `nextFireAfter`, in epoch milliseconds, answered from memory when it was asked before. */
  readonly next: NextFireFn;
  /** The answer for `afterMs` if it was computed already, else undefined (never computes). */
  known(afterMs: number): number | null | undefined;
}

/** What schedule-keyed lookups need of a schedule: its series. */
interface SeriesKey {
  readonly cron: string;
  readonly timezone: string;
}

class SeriesMemo implements SeriesFires {
  private readonly answers = new Map<number, number | null>();
  private readonly cache: FireCache;
  readonly expression: string;
  readonly timezone: string;
  /** The cache generation this memo belongs to; an older one is no longer filled. */
  readonly generation: number;

  constructor(cache: FireCache, expression: string, timezone: string, generation: number) {
    this.cache = cache;
    this.expression = expression;
    this.timezone = timezone;
    this.generation = generation;
  }

  known(afterMs: number): number | null | undefined {
    return this.answers.get(afterMs);
  }

  readonly next: NextFireFn = (afterMs) => {
    const known = this.answers.get(afterMs);
    if (known !== undefined) return known;
    const fire = nextFireAfter(this.expression, this.timezone, new Date(afterMs));
    const fireMs = fire === null ? null : fire.getTime();
    if (this.cache.admit(this)) this.answers.set(afterMs, fireMs);
    return fireMs;
  };
}

/**
 * A memo of `nextFireAfter(expression, timezone, after)` keyed by (expression, zone, after).
 * Schedules that share an expression and zone share every answer. `planTick` makes a fresh one per
 * call; the daemon keeps one across ticks (pass it as `PlanInput.fireCache`) so the slot that was
 * the wake-up instant of one tick is not computed again in the next, and a tick in which nothing
 * is due reads one remembered answer per schedule. Answers are a pure function of the key, so a
 * cache never changes a plan, only its cost. When it holds `maxEntries` answers it starts over
 * (simpler than LRU, and a refill costs one tick): every series memo made before is dropped.
 */
export class FireCache {
  private bySeries = new Map<string, SeriesMemo>();
  /** Each schedule object's series, so a tick does not build a key string per schedule. */
  private readonly bySchedule = new WeakMap<SeriesKey, SeriesMemo>();
  private generation = 0;
  private size = 0;
  private computed = 0;
  readonly maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }

  /** How many answers were computed (not found in memory) so far; for tests and metrics. */
  get computedCount(): number {
    return this.computed;
  }

  /** The memoised `nextFireAfter` of one series, in epoch milliseconds. */
  series(expression: string, timezone: string): NextFireFn {
    let memo = this.memo(expression, timezone);
    return (afterMs) => {
      if (memo.generation !== this.generation) memo = this.memo(expression, timezone);
      return memo.next(afterMs);
    };
  }

  /**
   * The series of `schedule` (its cron and zone), remembered per schedule object: schedules are
   * immutable, so the same object always names the same series.
   */
  forSchedule(schedule: SeriesKey): SeriesFires {
    let memo = this.bySchedule.get(schedule);
    if (memo === undefined || memo.generation !== this.generation) {
      memo = this.memo(schedule.cron, schedule.timezone);
      this.bySchedule.set(schedule, memo);
    }
    return memo;
  }

  /**
   * Whether `memo` may store one more answer. A memo from before the last reset may not; at the
   * bound, everything is dropped (this answer included) and counting starts over.
   */
  admit(memo: SeriesMemo): boolean {
    this.computed += 1;
    if (memo.generation !== this.generation) return false;
    if (this.size >= this.maxEntries) {
      this.bySeries = new Map();
      this.size = 0;
      this.generation += 1;
      return false;
    }
    this.size += 1;
    return true;
  }

  private memo(expression: string, timezone: string): SeriesMemo {
    const key = `${timezone}\u0000${expression}`;
    let memo = this.bySeries.get(key);
    if (memo === undefined) {
      memo = new SeriesMemo(this, expression, timezone, this.generation);
      this.bySeries.set(key, memo);
    }
    return memo;
  }
}

/** The due slots of one series in (afterMs, untilMs], as `collectDue` found them. */
export interface DueSlots {
  /** The most recent due slots, oldest first, at most `keep` of them; the last is the latest due slot. */
  readonly listedMs: readonly number[];
  /** How many due slots are older than the listed ones. */
  readonly olderCount: number;
  /** True when `olderCount` includes an estimate (the collector jumped over a long backlog). */
  readonly estimated: boolean;
  /** The first slot after the due ones (after `afterMs` when none is due); null if the series ends. */
  readonly followingMs: number | null;
}

/** After a jump, enough slots are left before `untilMs` to list `keep` even if the spacing shrinks by half. */
const JUMP_MARGIN = 2;
/** Chunks after which the collector stops trusting spacing estimates (see the bound below). */
const MAX_CHUNKS = 32;

/**
 * Collects the slots of a series in (afterMs, untilMs] and keeps the most recent `keep` (>= 1).
 *
 * Bounded work, because a schedule firing every second that was down for a year is 31 million
 * slots: the collector walks forward from `afterMs` in chunks. The first chunk is `keep + 1` slots,
 * so a backlog of at most `keep` slots is always walked and counted exactly. When a chunk ends
 * before `untilMs`, the spacing seen in that chunk predicts where the last `2 × keep` slots start,
 * and the walk jumps there, counting the slots jumped over from that spacing (`estimated`). Later
 * chunks are `4 × keep` slots; a chunk that still ends early means the slots got denser, and the
 * next jump uses the denser spacing. After MAX_CHUNKS chunks the walk jumps to `untilMs - keep`
 * seconds, which holds at most `keep` slots because a cron fires at most once a second. So a call
 * costs at most about (keep + 1) + MAX_CHUNKS × 4 × keep + keep `nextFireAfter` calls, and for real
 * schedules (even spacing) about 3 × keep. The latest due slot is always found exactly, since the
 * last chunk always reaches `untilMs`.
 */
export function collectDue(
  nextAfter: NextFireFn,
  afterMs: number,
  untilMs: number,
  keep: number,
): DueSlots {
  let window: number[] = [];
  let olderCount = 0;
  let estimated = false;
  let cursorMs = afterMs;
  let chunkStartMs = afterMs;
  let inChunk = 0;
  let chunkLimit = keep + 1;
  let chunks = 0;
  for (;;) {
    const atMs = nextAfter(cursorMs);
    if (atMs === null || atMs > untilMs) {
      const excess = Math.max(0, window.length - keep);
      return {
        listedMs: excess > 0 ? window.slice(excess) : window,
        olderCount: olderCount + excess,
        estimated,
        followingMs: atMs,
      };
    }
    window.push(atMs);
    cursorMs = atMs;
    inChunk += 1;
    if (window.length >= 4 * keep) {
      olderCount += window.length - keep;
      window = window.slice(-keep);
    }
    if (inChunk < chunkLimit) continue;

    chunks += 1;
    const spacingMs = (cursorMs - chunkStartMs) / inChunk;
    const targetMs =
      chunks >= MAX_CHUNKS
        ? untilMs - keep * SECOND
        : untilMs - Math.ceil(JUMP_MARGIN * keep * spacingMs);
    if (targetMs > cursorMs) {
      olderCount += window.length + Math.floor((targetMs - cursorMs) / spacingMs);
      window = [];
      cursorMs = targetMs;
      estimated = true;
    }
    chunkStartMs = cursorMs;
    inChunk = 0;
    chunkLimit = 4 * keep;
  }
}
