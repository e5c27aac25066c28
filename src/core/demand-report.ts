/**
 * What `validate` and `check` say about the API demand ahead (README, "Overload"): a peak a
 * minute's creates cannot leave in that minute is a notice with its drain time (creates go before
 * every other call, so a burst drains at the full rate limit); an hour that needs more creates
 * than the budget allows (the rate limit less the reserve for discovery and reconciliation) is a
 * sustained excess, a warning naming the schedules that cause it and the minutes they collide.
 * Pure: texts are built from the demand and the rate limit alone.
 */
import {
  computeDemand,
  createBudgetPerMinute,
  type Demand,
  type DemandInput,
  RESERVE_CALLS_PER_CREATE,
} from './demand.ts';
import { MINUTE } from './time.ts';

/** Minutes in the window over which a sustained excess is judged. */
const HOUR_MINUTES = 60;
/** Notices and warnings printed at most; the rest are counted. */
const MAX_NOTICES = 10;
const MAX_WARNINGS = 5;
/** Schedules named per warning, and collision minutes listed, at most. */
const MAX_NAMED = 5;
const MAX_MINUTES_LISTED = 8;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export interface DemandPeak {
  /** The minute (UTC) of the largest occurrence. */
  at: Date;
  creates: number;
  /** Minutes until the creates queued from this minute on are all sent, at the full rate limit. */
  drainMinutes: number;
  /** Weekdays (UTC) on which this time of day peaks, in window order. */
  days: string[];
  text: string;
}

export interface DemandExcess {
  /** The first minute of the worst hour of the episode. */
  from: Date;
  creates: number;
  allowed: number;
  schedules: { schedule: string; creates: number }[];
  /** Minutes of that hour whose creates exceed a minute's budget. */
  collideMinutes: Date[];
  /** Further hours over budget caused by the same schedules (other episodes). */
  repeats: number;
  lines: string[];
}

export interface DemandReport {
  rateLimitPerMinute: number;
  reserveCallsPerCreate: number;
  budgetPerMinute: number;
  peakCreatesPerMinute: number;
  peaks: DemandPeak[];
  excesses: DemandExcess[];
  /** `notice: …` lines, ready to print. */
  notices: string[];
  /** `warning: …` lines, ready to print (`--strict` exits 1 when there are any). */
  warnings: string[];
}

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (at: Date) => `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}Z`;
const dayAndTime = (at: Date) => `${at.toISOString().slice(0, 10)} ${hhmm(at)}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Sums of `perMinute` over each window of HOUR_MINUTES minutes starting at index i. */
function hourSums(perMinute: Float64Array): Float64Array {
  const count = Math.max(0, perMinute.length - HOUR_MINUTES + 1);
  const sums = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < perMinute.length; i += 1) {
    sum += perMinute[i] as number;
    if (i >= HOUR_MINUTES) sum -= perMinute[i - HOUR_MINUTES] as number;
    if (i >= HOUR_MINUTES - 1) sums[i - HOUR_MINUTES + 1] = sum;
  }
  return sums;
}

/** Creates of each schedule in minutes [from, from + 60), largest first. */
function shares(demand: Demand, from: number): { schedule: string; creates: number }[] {
  const out: { schedule: string; creates: number }[] = [];
  for (const [name, s] of demand.schedules) {
    let creates = 0;
    for (let i = 0; i < s.minutes.length; i += 1) {
      const m = s.minutes[i] as number;
      if (m >= from + HOUR_MINUTES) break;
      if (m >= from) creates += (s.firesPerMinute[i] as number) * s.createsPerFire;
    }
    if (creates > 0) out.push({ schedule: name, creates });
  }
  return out.sort((a, b) => b.creates - a.creates || (a.schedule < b.schedule ? -1 : 1));
}

function excessLines(e: Omit<DemandExcess, 'lines'>, rateLimit: number, budget: number): string[] {
  const lines = [
    `warning: ${e.creates} creates in the hour from ${dayAndTime(e.from)}, more than the ${e.allowed} the API budget allows (${budget} a minute: CODESHIP_RATE_LIMIT ${rateLimit} less ${RESERVE_CALLS_PER_CREATE} calls per create for discovery and reconciliation); older unsent slots will be skipped as superseded${e.repeats > 0 ? ` (and ${plural(e.repeats, 'more hour')} like it)` : ''}`,
  ];
  for (const share of e.schedules.slice(0, MAX_NAMED)) {
    lines.push(`warning:   ${share.schedule}: ${share.creates} creates in that hour`);
  }
  if (e.schedules.length > MAX_NAMED) {
    lines.push(`warning:   and ${plural(e.schedules.length - MAX_NAMED, 'more schedule')}`);
  }
  const n = e.collideMinutes.length;
  if (n === HOUR_MINUTES) lines.push('warning:   they collide in every minute of that hour');
  else if (n > 0) {
    const listed = e.collideMinutes.slice(0, MAX_MINUTES_LISTED).map(hhmm).join(', ');
    lines.push(
      `warning:   they collide at ${listed}${n > MAX_MINUTES_LISTED ? ` and ${n - MAX_MINUTES_LISTED} more minutes` : ''}`,
    );
  } else lines.push('warning:   spread over the hour, no single minute over its budget');
  return lines;
}

/**
 * Judges a demand against `rateLimitPerMinute`. An excess episode is a run of overlapping hours
 * over budget; each is reported by its worst hour, and episodes caused by the same schedules are
 * reported once (the first in time, with a count of the others). A peak is a minute outside every
 * hour over budget whose creates exceed the rate limit; peaks at the same UTC time of day are one
 * notice (the largest, with the weekdays it occurs on).
 */
export function judgeDemand(demand: Demand, rateLimitPerMinute: number): DemandReport {
  const budget = createBudgetPerMinute(rateLimitPerMinute);
  const allowed = budget * HOUR_MINUTES;
  const { perMinute, startMs } = demand;
  const minuteAt = (index: number) => new Date(startMs + index * MINUTE);
  const sums = hourSums(perMinute);
  const inExcess = new Uint8Array(perMinute.length);
  const byCause = new Map<string, Omit<DemandExcess, 'lines'>>();
  for (let t = 0; t < sums.length; ) {
    if ((sums[t] as number) <= allowed) {
      t += 1;
      continue;
    }
    let worst = t;
    let end = t;
    for (; end < sums.length && (sums[end] as number) > allowed; end += 1) {
      if ((sums[end] as number) > (sums[worst] as number)) worst = end;
    }
    inExcess.fill(1, t, end - 1 + HOUR_MINUTES);
    const named = shares(demand, worst);
    const key = named
      .slice(0, MAX_NAMED)
      .map((s) => s.schedule)
      .join('\u0000');
    const known = byCause.get(key);
    if (known) known.repeats += 1;
    else {
      const collideMinutes: Date[] = [];
      for (let m = worst; m < worst + HOUR_MINUTES; m += 1) {
        if ((perMinute[m] as number) > budget) collideMinutes.push(minuteAt(m));
      }
      byCause.set(key, {
        from: minuteAt(worst),
        creates: sums[worst] as number,
        allowed,
        schedules: named,
        collideMinutes,
        repeats: 0,
      });
    }
    t = end;
  }
  const excesses = [...byCause.values()].map((e) => ({
    ...e,
    lines: excessLines(e, rateLimitPerMinute, budget),
  }));

  const peaksByTime = new Map<string, DemandPeak>();
  let peakCreates = 0;
  for (let m = 0; m < perMinute.length; m += 1) {
    const creates = perMinute[m] as number;
    peakCreates = Math.max(peakCreates, creates);
    if (creates <= rateLimitPerMinute || inExcess[m] === 1) continue;
    let queued = 0;
    let drain = 0;
    for (let i = m; i < perMinute.length; i += 1) {
      queued = Math.max(0, queued + (perMinute[i] as number) - rateLimitPerMinute);
      drain += 1;
      if (queued === 0) break;
    }
    const at = minuteAt(m);
    const key = hhmm(at);
    const day = WEEKDAYS[at.getUTCDay()] as string;
    const known = peaksByTime.get(key);
    if (known === undefined) {
      peaksByTime.set(key, { at, creates, drainMinutes: drain, days: [day], text: '' });
    } else {
      known.days.push(day);
      if (creates > known.creates) Object.assign(known, { at, creates, drainMinutes: drain });
    }
  }
  const windowDays = Math.floor(perMinute.length / (24 * 60));
  const peaks = [...peaksByTime.values()]
    .sort((a, b) => b.creates - a.creates || a.at.getTime() - b.at.getTime())
    .map((p) => {
      const when = p.days.length >= windowDays ? '' : ` (on ${p.days.join(', ')})`;
      const text = `notice: ${hhmm(p.at)} needs ${p.creates} creates: drained in about ${p.drainMinutes} min${when}`;
      return { ...p, text };
    });
  const notices = peaks.slice(0, MAX_NOTICES).map((p) => p.text);
  if (peaks.length > MAX_NOTICES) {
    notices.push(`notice: and ${plural(peaks.length - MAX_NOTICES, 'more peak')}`);
  }
  const warnings = excesses.slice(0, MAX_WARNINGS).flatMap((e) => e.lines);
  if (excesses.length > MAX_WARNINGS) {
    warnings.push(
      `warning: and ${plural(excesses.length - MAX_WARNINGS, 'more excess', 'more excesses')} caused by other schedules`,
    );
  }
  return {
    rateLimitPerMinute,
    reserveCallsPerCreate: RESERVE_CALLS_PER_CREATE,
    budgetPerMinute: budget,
    peakCreatesPerMinute: peakCreates,
    peaks,
    excesses,
    notices,
    warnings,
  };
}

/** `computeDemand` then `judgeDemand`: what `validate` and `check` print. */
export function predictDemand(input: DemandInput & { rateLimitPerMinute: number }): DemandReport {
  return judgeDemand(computeDemand(input), input.rateLimitPerMinute);
}
