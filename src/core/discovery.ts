/**
 * Build discovery and reconciliation decisions. `POST …/builds` answers 202 with no body, so the
 * daemon finds the build it started in the project's newest-first build list and claims it
 * (README, "The ledger and exactly-once" and "Build identity"). Pure: the shell walks the list, calls these, and
 * writes what they decide to the ledger.
 */
import { isFinalStatus, type RemoteBuild, refForBranch } from './model.ts';
import { type ClockEstimate, offsetOf } from './server-clock.ts';
import { formatDuration, MINUTE, SECOND } from './time.ts';

/**
 * Added on each side of a create's window: `queued_at` is given to the millisecond and our clock
 * readings are taken just before the request leaves and just after its answer, so the window is
 * already conservative; this only absorbs rounding. A wider margin would make pushes by others a
 * fraction of a second from our request candidates too.
 */
export const CLAIM_MARGIN_MS = 50;

/**
 * The estimate assumed for an attempt recorded before the ledger kept one (a ledger written by an
 * older codeship-cron): the fixed window discovery used then, 30 s before to 60 s after the send.
 */
const LEGACY_ESTIMATE: ClockEstimate = { loMs: -30 * SECOND, hiMs: 60 * SECOND };

/**
 * The server makes the build while it serves the request, most likely halfway between send and
 * answer; a request that hung (a timeout) was most likely served on arrival, so the guess never
 * moves more than this past the send.
 */
const ANCHOR_MAX_MS = 1000;

/** One create request as the ledger recorded it (our clock). */
export interface SendWindow {
  /** When the request was about to leave. */
  sentAt: Date;
  /** When its answer (or error, or timeout) came back; null when the process died first. */
  answeredAt: Date | null;
  /** The server clock estimate in force for this request; null for a legacy record. */
  estimate: ClockEstimate | null;
}

/** A ledger slot waiting for its build (state triggered, or pending with an unknown create outcome). */
export interface Claimant {
  id: number;
  /** The ref or branch the create was sent for (`heads/main` or `main`). */
  ref: string;
  /** Every create request of the slot that may have made its build. */
  sends: readonly SendWindow[];
  /**
   * True when Codeship accepted the create (202), false when its outcome is unknown; at equal
   * evidence a confirmed claimant chooses first. Unset counts as confirmed.
   */
  confirmed?: boolean;
}

/** What matching needs to know besides the claimants and builds. */
export interface MatchPolicy {
  /** How long a request could still be served when its end was never recorded (a crash). */
  requestTimeoutMs: number;
  /** The API user's names as builds may show them (`username`). */
  ownUsernames?: readonly string[];
  /**
   * True once a build this process claimed for an accepted create showed one of `ownUsernames`
   * (`showsOwnName`): Codeship names the builds we start that way, so a
   * build under another name is never ours. Learned from our own builds, never from history (a
   * push by the same person under the login says nothing of how API builds are named).
   */
  ownNameSeen?: boolean;
}

/** Distinct claims that must show a name before it counts as ours (`learnName`). */
export const LEARNED_NAME_CLAIMS = 2;

/**
 * Learns from a build claimed for an accepted create as its only candidate (surely ours) whose
 * name is not the API user's: Codeship shows a login or a display name, and this is the one it
 * gives our builds. Counted in `learned`; true once the name has been seen `LEARNED_NAME_CLAIMS`
 * times, from then on one of ours (`learnedOwnNames`).
 */
export function learnName(learned: Map<string, number>, username: string): boolean {
  const name = username.toLowerCase();
  if (name === '') return false;
  const seen = (learned.get(name) ?? 0) + 1;
  learned.set(name, seen);
  return seen >= LEARNED_NAME_CLAIMS;
}

/** The learned names that count as ours (`learnName`). */
export function learnedOwnNames(learned: ReadonlyMap<string, number>): string[] {
  return [...learned].filter(([, seen]) => seen >= LEARNED_NAME_CLAIMS).map(([name]) => name);
}

/** True when one of `builds` carries one of the API user's names. */
export function showsOwnName(
  builds: readonly RemoteBuild[],
  ownUsernames: readonly string[] | undefined,
): boolean {
  const own = new Set((ownUsernames ?? []).map((name) => name.toLowerCase()));
  return own.size > 0 && builds.some((build) => own.has(build.username.toLowerCase()));
}

/** How a claim was made, as the ledger keeps it: `exact` or `nearest of N`. */
export function claimLabel(candidates: number): string {
  return candidates <= 1 ? 'exact' : `nearest of ${candidates}`;
}

/** A build handed to a claimant, with how many candidates it was chosen from. */
interface Assignment {
  build: RemoteBuild;
  candidates: number;
}

interface ServerWindow {
  /** Earliest server instant the build may carry (margin included). */
  fromMs: number;
  /** Latest server instant the build may carry (margin included). */
  toMs: number;
  /** The request's own interval in server time at the best offset guess, margin excluded. */
  coreFromMs: number;
  coreToMs: number;
  /** Where the server most likely made the build, at the best offset guess (see ANCHOR_MAX_MS). */
  anchorMs: number;
}

/**
 * A request's window in the server's clock: it left at `sentAt` and was answered (or gave up) at
 * `answeredAt`, so a build it made was queued between those two instants plus the offset, which
 * lies in [lo, hi]. A request whose end was never recorded may have been served until its timeout.
 */
function serverWindow(send: SendWindow, requestTimeoutMs: number): ServerWindow {
  const estimate = send.estimate ?? LEGACY_ESTIMATE;
  const sentMs = send.sentAt.getTime();
  const endMs = send.answeredAt?.getTime() ?? sentMs + requestTimeoutMs;
  const coreFromMs = sentMs + estimate.loMs;
  const coreToMs = Math.max(sentMs, endMs) + estimate.hiMs;
  return {
    fromMs: coreFromMs - CLAIM_MARGIN_MS,
    toMs: coreToMs + CLAIM_MARGIN_MS,
    coreFromMs,
    coreToMs,
    anchorMs:
      sentMs +
      (send.answeredAt === null ? 0 : Math.min((endMs - sentMs) / 2, ANCHOR_MAX_MS)) +
      offsetOf(estimate),
  };
}

/** How well `build` fits a claimant: null when outside every window; smaller is better. */
function fitOf(
  windows: readonly ServerWindow[],
  build: RemoteBuild,
): { outsideMs: number; anchorMs: number } | null {
  const queuedMs = build.queuedAt!.getTime();
  let best: { outsideMs: number; anchorMs: number } | null = null;
  for (const w of windows) {
    if (queuedMs < w.fromMs || queuedMs > w.toMs) continue;
    const outsideMs = Math.max(0, w.coreFromMs - queuedMs, queuedMs - w.coreToMs);
    const anchorMs = Math.abs(queuedMs - w.anchorMs);
    if (
      best === null ||
      outsideMs < best.outsideMs ||
      (outsideMs === best.outsideMs && anchorMs < best.anchorMs)
    ) {
      best = { outsideMs, anchorMs };
    }
  }
  return best;
}

/**
 * Which remote build each claimant gets (README, "Build identity"). A build is a candidate of a
 * claimant when it is on the same ref, unclaimed, and queued (server time) inside the window of
 * one of its creates (`serverWindow`): pushes by others seconds before or after a create fall
 * outside. Once our own builds showed the API user's name (`ownNameSeen`), or a build inside one
 * of the windows does, builds under other names are someone else's and no candidates at all. When several builds compete,
 * pairs are taken best first:
 * - a build whose `username` is the API user's before one under another name;
 * - then confirmed (202) claimants before unknown outcomes: an accepted create surely made a
 *   build inside its window, a failed or killed one maybe nothing;
 * - then the one inside a request's own interval before one only inside its margins;
 * - then the one nearest to where the server most likely made it; then older slots first.
 * A confirmed claimant left with no build while its candidates went to neighbours that could
 * take another of theirs gets one by moving them (an augmenting path), never by unseating one.
 * Each assignment says how many candidates the claimant had (`claim`: exact, or nearest of N).
 * Builds in `claimedUuids` (already in the ledger) and builds without a queuedAt are never handed
 * out; a build goes to one claimant only. `builds` may be in any order. A claimant with no
 * candidate is absent from the result.
 */
export function assignBuilds(
  claimants: readonly Claimant[],
  builds: readonly RemoteBuild[],
  claimedUuids: ReadonlySet<string>,
  policy: MatchPolicy,
): Map<number, Assignment> {
  const own = new Set((policy.ownUsernames ?? []).map((name) => name.toLowerCase()));
  const isOwn = (build: RemoteBuild) => own.has(build.username.toLowerCase());
  const byRef = new Map<string, RemoteBuild[]>();
  for (const build of builds) {
    if (build.queuedAt === null || claimedUuids.has(build.uuid)) continue;
    const ref = refForBranch(build.ref);
    const list = byRef.get(ref);
    if (list === undefined) byRef.set(ref, [build]);
    else list.push(build);
  }
  let pairs: {
    claimant: Claimant;
    build: RemoteBuild;
    foreign: number;
    outsideMs: number;
    anchorMs: number;
  }[] = [];
  for (const claimant of claimants) {
    const windows = claimant.sends.map((send) => serverWindow(send, policy.requestTimeoutMs));
    for (const build of byRef.get(refForBranch(claimant.ref)) ?? []) {
      const match = fitOf(windows, build);
      if (match === null) continue;
      const foreign = own.size > 0 && !isOwn(build) ? 1 : 0;
      pairs.push({ claimant, build, foreign, ...match });
    }
  }
  // Codeship names the builds we start with the API user's name when our own builds showed it
  // (`ownNameSeen`), or when a build inside one of our windows does now: then a build under
  // another name is someone else's and no candidate. History under that name proves nothing (a
  // person may push under the login), nor does its absence (Codeship may show a display name).
  const namesTell = own.size > 0 && (policy.ownNameSeen === true || pairs.some((p) => !p.foreign));
  if (namesTell) pairs = pairs.filter((pair) => !pair.foreign);
  const candidateCount = new Map<number, number>(claimants.map((c) => [c.id, 0]));
  for (const pair of pairs)
    candidateCount.set(pair.claimant.id, (candidateCount.get(pair.claimant.id) ?? 0) + 1);
  pairs.sort(
    (a, b) =>
      a.foreign - b.foreign ||
      Number(b.claimant.confirmed !== false) - Number(a.claimant.confirmed !== false) ||
      a.outsideMs - b.outsideMs ||
      a.anchorMs - b.anchorMs ||
      a.claimant.id - b.claimant.id ||
      oldestFirst(a.build, b.build),
  );
  const holder = new Map<string, number>();
  const assigned = new Map<number, Assignment>();
  const candidatesOf = new Map<number, RemoteBuild[]>();
  for (const { claimant, build } of pairs) {
    candidatesOf.set(claimant.id, [...(candidatesOf.get(claimant.id) ?? []), build]);
    if (assigned.has(claimant.id) || holder.has(build.uuid)) continue;
    holder.set(build.uuid, claimant.id);
    assigned.set(claimant.id, { build, candidates: candidateCount.get(claimant.id) ?? 1 });
  }
  // Best pair first can strand a claimant whose candidates all went to neighbours that had other
  // candidates too (three creates of one branch within the clock estimate's width). An accepted
  // create surely made a build in its window, so each confirmed claimant left without one looks
  // for an augmenting path: a neighbour moves to another of its own candidates (best first), so
  // every claimant keeps a build and one more gets one.
  const augment = (id: number, seen: Set<string>): boolean => {
    for (const build of candidatesOf.get(id) ?? []) {
      if (seen.has(build.uuid)) continue;
      seen.add(build.uuid);
      const other = holder.get(build.uuid);
      if (other === undefined || augment(other, seen)) {
        holder.set(build.uuid, id);
        assigned.set(id, { build, candidates: candidateCount.get(id) ?? 1 });
        return true;
      }
    }
    return false;
  };
  for (const claimant of claimants) {
    if (claimant.confirmed !== false && !assigned.has(claimant.id)) augment(claimant.id, new Set());
  }
  return assigned;
}

function oldestFirst(a: RemoteBuild, b: RemoteBuild): number {
  const byQueuedAt = a.queuedAt!.getTime() - b.queuedAt!.getTime();
  if (byQueuedAt !== 0) return byQueuedAt;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/**
 * Where a newest-first walk of a project's builds may stop (server time): once a build's queuedAt
 * is older than this (the earliest start of any claimant's window, or the earliest queuedAt or
 * triggeredAt in `followedSince` of the builds being followed), no later page can matter. Null
 * when there is nothing to look for, so no walk is needed.
 */
export function walkHorizon(
  claimants: readonly Claimant[],
  followedSince: readonly Date[],
  requestTimeoutMs: number,
): Date | null {
  let horizonMs = Number.POSITIVE_INFINITY;
  for (const claimant of claimants) {
    for (const send of claimant.sends) {
      horizonMs = Math.min(horizonMs, serverWindow(send, requestTimeoutMs).fromMs);
    }
  }
  for (const since of followedSince) horizonMs = Math.min(horizonMs, since.getTime());
  return Number.isFinite(horizonMs) ? new Date(horizonMs) : null;
}

type PendingDecision =
  | { kind: 'claim'; id: number; build: RemoteBuild; claim: string }
  /** Unknown outcome, no build after the discovery window, only 1 attempt so far. */
  | { kind: 'resend'; id: number }
  | { kind: 'fail'; id: number; reason: string }
  | { kind: 'wait'; id: number };

export interface PendingSlot extends Claimant {
  state: 'pending' | 'triggered';
  /** When the first create was about to be sent. */
  intentAt: Date;
  /** Creates sent so far (1, or 2 after the one re-send). */
  attempts: number;
  /** True when the last create may or may not have reached Codeship (crash, timeout, 5xx, reset). */
  outcomeUnknown: boolean;
  /** When the latest create was about to be sent; defaults to intentAt. Windows count from here. */
  lastAttemptAt?: Date;
}

/**
 * What to do with each slot waiting for its build, given a walk of the project's builds that
 * reached `walkHorizon`. First every slot that matches a build claims it (`assignBuilds`, a re-sent
 * slot included), with the claim's label. Then, for the others:
 * - `triggered` (a 202 was seen) is never re-sent; it fails once `acceptedGiveUpMs` has passed
 *   since its last attempt with no build, else it waits;
 * - `pending` with an unknown outcome waits until `discoveryWindowMs` has passed since its last
 *   attempt; then, after 1 attempt it is re-sent (the shell records the second attempt), after 2
 *   it fails: the contract allows one re-send and never a blind third;
 * - `pending` with a known outcome (the create is in flight) waits.
 * Decisions come in the order of `pending`.
 */
export function decidePending(
  pending: readonly PendingSlot[],
  builds: readonly RemoteBuild[],
  claimedUuids: ReadonlySet<string>,
  now: Date,
  policy: MatchPolicy & { discoveryWindowMs: number; acceptedGiveUpMs: number },
): PendingDecision[] {
  const claims = assignBuilds(
    pending.map((slot) => ({ ...slot, confirmed: slot.state === 'triggered' })),
    builds,
    claimedUuids,
    policy,
  );
  return pending.map((slot): PendingDecision => {
    const match = claims.get(slot.id);
    if (match !== undefined) {
      return {
        kind: 'claim',
        id: slot.id,
        build: match.build,
        claim: claimLabel(match.candidates),
      };
    }
    const sinceAttemptMs = now.getTime() - (slot.lastAttemptAt ?? slot.intentAt).getTime();
    if (slot.state === 'triggered') {
      if (sinceAttemptMs < policy.acceptedGiveUpMs) return { kind: 'wait', id: slot.id };
      const within = formatDuration(policy.acceptedGiveUpMs);
      return {
        kind: 'fail',
        id: slot.id,
        reason: `accepted (202) but no build appeared within ${within}`,
      };
    }
    if (!slot.outcomeUnknown || sinceAttemptMs < policy.discoveryWindowMs) {
      return { kind: 'wait', id: slot.id };
    }
    if (slot.attempts <= 1) return { kind: 'resend', id: slot.id };
    const within = formatDuration(policy.discoveryWindowMs);
    return {
      kind: 'fail',
      id: slot.id,
      reason: `create outcome unknown and no build appeared within ${within} of attempt ${slot.attempts}; both attempts are recorded, not sending again`,
    };
  });
}

/**
 * For builds already claimed and not final: the new status and finishedAt of each one whose
 * status changed or that is now final (`isFinalStatus`). Builds absent from `builds` (not reached
 * by the walk) produce nothing; the shell may fetch them one by one.
 */
export function decideFollowUps(
  followed: readonly { id: number; buildUuid: string; buildStatus: string }[],
  builds: readonly RemoteBuild[],
): { id: number; status: string; finishedAt: Date | null; final: boolean }[] {
  const byUuid = new Map(builds.map((build) => [build.uuid, build]));
  const changes: { id: number; status: string; finishedAt: Date | null; final: boolean }[] = [];
  for (const row of followed) {
    const build = byUuid.get(row.buildUuid);
    if (build === undefined) continue;
    const final = isFinalStatus(build.status, build.finishedAt);
    if (!final && build.status === row.buildStatus) continue;
    changes.push({ id: row.id, status: build.status, finishedAt: build.finishedAt, final });
  }
  return changes;
}

/** Right after a trigger: builds appear in the list within seconds, so look soon. */
const RECONCILE_FIRST_DELAY_MS = 5 * SECOND;
/** A youngest intent younger than this is fresh: its build may not be discovered yet. */
const FRESH_MS = 5 * SECOND;
const MIN_DELAY_MS = 15 * SECOND;
const MAX_DELAY_MS = 5 * MINUTE;
/** While a slot still has no build, look at least this often so a re-send or give-up is not late. */
const UNDISCOVERED_MAX_DELAY_MS = MINUTE;
/** The API's largest page: a walk costs about one list call per this many waiting builds. */
const BUILDS_PER_PAGE = 50;

/**
 * Delay until the next reconciliation pass, or null when nothing is pending (no pass needed until
 * the next trigger). The numbers, for the API economy target (at most 1.5 calls per build beyond
 * its create with 10-minute builds, where per-build polling every 30 s spends 20):
 * - youngest intent under 5 s old: 5 s, so a build is discovered within seconds of its 202;
 * - then a sixth of the youngest intent's age, clamped to 15 s … 5 min: a build is seen finished at
 *   most ~17 % of its age late. A 10-minute build is looked at ~19 times over its life, and one
 *   walk (one page per 50 builds) serves every build of a project, so a batch of N builds costs
 *   ~19 × ceil(N / 50) calls, under 1.5 per build from N = 13;
 * - at most 1 min while `oldestPendingAt` is set (a slot still without a build), so a re-send or a
 *   give-up after the discovery window is at most a minute late;
 * - never under 5 s per page a walk costs (ceil(pendingCount / 50)), so following many builds does
 *   not spend more than about 12 calls a minute, a fifth of the 60/min budget.
 * `youngestIntentAt`: latest intent among slots not final; `oldestPendingAt`: earliest intent among
 * slots still waiting for their build; `pendingCount`: slots not final.
 */
export function nextReconcileDelayMs(input: {
  now: Date;
  youngestIntentAt: Date | null;
  oldestPendingAt: Date | null;
  pendingCount: number;
}): number | null {
  if (input.pendingCount <= 0) return null;
  let delayMs = MAX_DELAY_MS;
  if (input.youngestIntentAt !== null) {
    const ageMs = Math.max(0, input.now.getTime() - input.youngestIntentAt.getTime());
    delayMs =
      ageMs < FRESH_MS ? RECONCILE_FIRST_DELAY_MS : clamp(ageMs / 6, MIN_DELAY_MS, MAX_DELAY_MS);
  }
  if (input.oldestPendingAt !== null) delayMs = Math.min(delayMs, UNDISCOVERED_MAX_DELAY_MS);
  const pageFloorMs = RECONCILE_FIRST_DELAY_MS * Math.ceil(input.pendingCount / BUILDS_PER_PAGE);
  return Math.round(Math.max(delayMs, Math.min(pageFloorMs, MAX_DELAY_MS)));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
