/**
 * The server's clock as seen from ours. Builds' `queued_at` is read in Codeship's clock, our
 * intents in ours; to tell our build from a push made seconds earlier we need the offset between
 * the two to within about one round trip, with no fixed skew allowance (README, "Build identity").
 *
 * Every answer carries a `Date` header (1 s resolution). An answer whose request left at `sentMs`
 * and came back at `answeredMs` (our clock) was stamped at some server instant S with
 * `Date <= S < Date + 1 s` and S = t + offset for some t in [sentMs, answeredMs], so
 * `offset ∈ [Date − answeredMs, Date + 1 s − sentMs]`. The intersection over recent answers pins
 * the offset; answers at different sub-second phases shrink it toward the round-trip time.
 * Pure: times come in as arguments.
 */

/** The offset of the server's clock from ours (server = local + offset), as a closed interval. */
export interface ClockEstimate {
  /** Lowest offset consistent with every recent answer, in ms. */
  readonly loMs: number;
  /** Highest offset consistent with every recent answer, in ms. */
  readonly hiMs: number;
}

/** Answers older than this no longer bound the offset (clocks drift). */
const CLOCK_BOUND_MAX_AGE_MS = 60 * 60 * 1000;
/** The `Date` header's resolution. */
const DATE_RESOLUTION_MS = 1000;
/** Bounds kept at most; older ones go first (a busy daemon answers thousands of calls an hour). */
const MAX_BOUNDS = 512;
/**
 * How far our wall clock may move against the monotonic clock between two answers before it
 * counts as a jump: a fixed tolerance plus NTP's largest slew rate (500 ppm) of the time between.
 */
const JUMP_TOLERANCE_MS = 20;
const MAX_SLEW = 0.0005;

/**
 * Our wall clock minus a monotonic clock at a request's send and at its answer (see
 * `Clock.monotonicMs`): it changes only when our wall clock jumps.
 */
export interface ClockEpochs {
  sentEpochMs?: number;
  answeredEpochMs?: number;
}

interface Bound extends ClockEstimate {
  /** Our clock when the answer came back: its age counts from here. */
  atMs: number;
}

/** Midpoint of an estimate: the single best guess of the offset. */
export function offsetOf(estimate: ClockEstimate): number {
  return (estimate.loMs + estimate.hiMs) / 2;
}

/** Width of an estimate: how well the offset is known. */
export function widthOf(estimate: ClockEstimate): number {
  return estimate.hiMs - estimate.loMs;
}

/**
 * The narrower of what a request recorded and what is known now: the offset does not change
 * between two answers minutes apart, so later answers sharpen an earlier request's window. When
 * the two disagree (a clock jumped in between) the recorded estimate stands.
 */
export function narrowed(
  recorded: ClockEstimate | null,
  current: ClockEstimate | null,
): ClockEstimate | null {
  if (recorded === null || current === null) return recorded;
  const loMs = Math.max(recorded.loMs, current.loMs);
  const hiMs = Math.min(recorded.hiMs, current.hiMs);
  return loMs <= hiMs ? { loMs, hiMs } : recorded;
}

/** Below this width the estimate is as good as the round trip allows; no probing needed. */
const PROBE_UNTIL_WIDTH_MS = 20;

/**
 * How long to hold a request that is due at `atMs` (our clock) so that it teaches the most: when
 * the server's second turns over right in the middle of the current estimate, its `Date` header
 * halves the interval either way. Requests sent on the same sub-second phase (a daemon whose fires
 * fall on whole seconds) would never narrow it below 1 s. 0 to 999 ms; 0 when the estimate is
 * already narrow or unknown.
 */
export function probeDelayMs(atMs: number, estimate: ClockEstimate | null): number {
  if (estimate === null || widthOf(estimate) <= PROBE_UNTIL_WIDTH_MS) return 0;
  const serverMs = atMs + offsetOf(estimate);
  const past = ((serverMs % DATE_RESOLUTION_MS) + DATE_RESOLUTION_MS) % DATE_RESOLUTION_MS;
  return Math.round(DATE_RESOLUTION_MS - past) % DATE_RESOLUTION_MS;
}

/** Parses an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`); null when absent or unreadable. */
export function parseHttpDate(value: unknown): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Keeps the intersection of the bounds given by recent answers. A bound that contradicts the
 * intersection (our clock or the server's jumped) starts it over from that bound alone, and so
 * does `reset()`. A jump of our clock too small to contradict (a step of half a second still
 * overlaps a 1 s bound) would leave an intersection that holds neither the old nor the new offset,
 * and creates sent meanwhile would record a window that misses their own build: given `epochs`
 * (wall minus monotonic time), a change of that difference starts it over, and an answer whose
 * request straddled the jump counts its send time in the clock that read the answer.
 */
export class ServerClock {
  private bounds: Bound[] = [];
  private lastEpoch: { epochMs: number; atMs: number } | null = null;

  /** Records one answer: sent and answered in our clock, `dateMs` from its `Date` header. */
  observe(sentMs: number, answeredMs: number, dateMs: number, epochs: ClockEpochs = {}): void {
    const { sentEpochMs, answeredEpochMs } = epochs;
    if (answeredEpochMs !== undefined) {
      const last = this.lastEpoch;
      this.lastEpoch = { epochMs: answeredEpochMs, atMs: answeredMs };
      const jumped = (epochMs: number, sinceMs: number) =>
        Math.abs(answeredEpochMs - epochMs) >
        JUMP_TOLERANCE_MS + MAX_SLEW * Math.abs(answeredMs - sinceMs);
      if (last !== null && jumped(last.epochMs, last.atMs)) this.bounds = [];
      if (sentEpochMs !== undefined && jumped(sentEpochMs, sentMs)) {
        // Our clock jumped while this request was out: its send time, moved to the clock that
        // read its answer, still bounds the offset as that clock sees it.
        this.bounds = [];
        sentMs = Math.min(answeredMs, sentMs + (answeredEpochMs - sentEpochMs));
      }
    }
    if (!(answeredMs >= sentMs)) return;
    const bound: Bound = {
      loMs: dateMs - answeredMs,
      hiMs: dateMs + DATE_RESOLUTION_MS - sentMs,
      atMs: answeredMs,
    };
    this.prune(answeredMs);
    const current = this.estimate(answeredMs);
    if (current !== null && (bound.loMs > current.hiMs || bound.hiMs < current.loMs)) {
      this.bounds = [];
    }
    this.bounds.push(bound);
    if (this.bounds.length > MAX_BOUNDS) this.bounds.splice(0, this.bounds.length - MAX_BOUNDS);
  }

  /** The intersection of the bounds of the last hour at `nowMs`, or null before any answer. */
  estimate(nowMs: number): ClockEstimate | null {
    let loMs = Number.NEGATIVE_INFINITY;
    let hiMs = Number.POSITIVE_INFINITY;
    for (const bound of this.bounds) {
      if (nowMs - bound.atMs > CLOCK_BOUND_MAX_AGE_MS || bound.atMs > nowMs) continue;
      loMs = Math.max(loMs, bound.loMs);
      hiMs = Math.min(hiMs, bound.hiMs);
    }
    if (!Number.isFinite(loMs) || !Number.isFinite(hiMs) || loMs > hiMs) return null;
    return { loMs, hiMs };
  }

  /** Forgets every bound (our clock jumped: what we measured before no longer holds). */
  reset(): void {
    this.bounds = [];
    this.lastEpoch = null;
  }

  private prune(nowMs: number): void {
    // Bounds from our future mean our clock went back: they no longer describe it.
    this.bounds = this.bounds.filter(
      (b) => nowMs - b.atMs <= CLOCK_BOUND_MAX_AGE_MS && b.atMs <= nowMs,
    );
  }
}
