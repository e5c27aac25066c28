/**
 * Build discovery and reconciliation decisions. `POST …/builds` answers 202 with no body, so the
 * daemon finds the build it started in the project's newest-first build list and claims it
 * (PRODUCT.md, "The ledger and exactly-once"). Pure: the shell walks the list, calls these, and
 * writes what they decide to the ledger.
 */
import { isFinalStatus, type RemoteBuild, refForBranch } from './model.ts';
import { formatDuration, MINUTE, SECOND } from './time.ts';

/** Clock skew tolerated between this host and Codeship when matching a build to its intent. */
export const DISCOVERY_SKEW_MS = 30_000;

/** A ledger slot waiting for its build (state triggered, or pending with an unknown create outcome). */
export interface Claimant {
  id: number;
  /** The ref or branch the create was sent for (`heads/main` or `main`). */
  ref: string;
  /** When the first create was about to be sent; builds queued before this minus the skew are not ours. */
  intentAt: Date;
  /** When the latest create was about to be sent; builds queued well after it are not ours either. */
  lastAttemptAt?: Date;
  /**
   * True when Codeship accepted the create (202), false when its outcome is unknown; unconfirmed
   * claimants choose after the others, by nearness in time. Unset counts as confirmed.
   */
  confirmed?: boolean;
}

/**
 * How long after its create a build may be queued and still be that create's: the build is made
 * while the request is served, so anything much later was started by someone else (typically the
 * next slot of the same branch).
 */
export const DISCOVERY_LATE_MS = 2 * DISCOVERY_SKEW_MS;

/**
 * Which remote build each claimant gets, among unclaimed builds on the same ref queued in
 * [intentAt - DISCOVERY_SKEW_MS, (lastAttemptAt ?? intentAt) + DISCOVERY_LATE_MS):
 * - when every claimant on a ref is confirmed (202 seen, or `confirmed` unset), each gets the
 *   OLDEST such build in intentAt order (then id), so concurrent triggers of one branch map
 *   one-to-one in order;
 * - when some outcome on the ref is unknown, builds go to the claimant NEAREST in time to one of
 *   its attempts, closest pairs first: a create that failed must not take the build a later
 *   create of the same branch made (which, in flight or killed before its answer was recorded,
 *   may be unconfirmed too).
 * Builds in `claimedUuids` (already owned by a ledger row) and builds without a queuedAt are never
 * handed out. `builds` may be in any order. A claimant with no match is absent from the result.
 */
export function assignBuilds(
  claimants: readonly Claimant[],
  builds: readonly RemoteBuild[],
  claimedUuids: ReadonlySet<string>,
): Map<number, RemoteBuild> {
  const byRef = new Map<string, RemoteBuild[]>();
  for (const build of builds) {
    if (build.queuedAt === null || claimedUuids.has(build.uuid)) continue;
    const ref = refForBranch(build.ref);
    const list = byRef.get(ref);
    if (list === undefined) byRef.set(ref, [build]);
    else list.push(build);
  }
  for (const list of byRef.values()) list.sort(oldestFirst);

  const taken = new Set<string>();
  const assigned = new Map<number, RemoteBuild>();
  const inWindow = (claimant: Claimant, build: RemoteBuild) => {
    const queuedMs = build.queuedAt!.getTime();
    const earliestMs = claimant.intentAt.getTime() - DISCOVERY_SKEW_MS;
    const latestMs = (claimant.lastAttemptAt ?? claimant.intentAt).getTime() + DISCOVERY_LATE_MS;
    return queuedMs >= earliestMs && queuedMs < latestMs;
  };
  const byIntent = (a: Claimant, b: Claimant) =>
    a.intentAt.getTime() - b.intentAt.getTime() || a.id - b.id;
  const claimantsByRef = new Map<string, Claimant[]>();
  for (const claimant of claimants) {
    const ref = refForBranch(claimant.ref);
    claimantsByRef.set(ref, [...(claimantsByRef.get(ref) ?? []), claimant]);
  }
  for (const [ref, group] of claimantsByRef) {
    const candidates = byRef.get(ref) ?? [];
    if (group.every((c) => c.confirmed !== false)) {
      // Every create on this ref was accepted, so each made one build: oldest first, in intent order.
      for (const claimant of group.sort(byIntent)) {
        const build = candidates.find((c) => !taken.has(c.uuid) && inWindow(claimant, c));
        if (build === undefined) continue;
        taken.add(build.uuid);
        assigned.set(claimant.id, build);
      }
      continue;
    }
    // Some create on this ref may have made nothing (or is still in flight): each build goes to
    // the create nearest to it in time, closest pairs first, so a failed older create never takes
    // the build a younger one made.
    const pairs: { claimant: Claimant; build: RemoteBuild; distanceMs: number }[] = [];
    for (const claimant of group) {
      for (const build of candidates) {
        if (taken.has(build.uuid) || !inWindow(claimant, build)) continue;
        const queuedMs = build.queuedAt!.getTime();
        const distanceMs = Math.min(
          Math.abs(queuedMs - claimant.intentAt.getTime()),
          Math.abs(queuedMs - (claimant.lastAttemptAt ?? claimant.intentAt).getTime()),
        );
        pairs.push({ claimant, build, distanceMs });
      }
    }
    pairs.sort(
      (a, b) =>
        a.distanceMs - b.distanceMs ||
        Number(b.claimant.confirmed !== false) - Number(a.claimant.confirmed !== false) ||
        byIntent(a.claimant, b.claimant) ||
        oldestFirst(a.build, b.build),
    );
    for (const { claimant, build } of pairs) {
      if (assigned.has(claimant.id) || taken.has(build.uuid)) continue;
      taken.add(build.uuid);
      assigned.set(claimant.id, build);
    }
  }
  return assigned;
}

function oldestFirst(a: RemoteBuild, b: RemoteBuild): number {
  const byQueuedAt = a.queuedAt!.getTime() - b.queuedAt!.getTime();
  if (byQueuedAt !== 0) return byQueuedAt;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/**
 * Where a newest-first walk of a project's builds may stop: once a build's queuedAt is older than
 * this (the earliest claimant intentAt minus the skew, or the earliest queuedAt/triggeredAt in
 * `followedSince` of the builds being followed), no later page can matter. Null when there is
 * nothing to look for, so no walk is needed.
 */
export function walkHorizon(
  claimants: readonly Claimant[],
  followedSince: readonly Date[],
): Date | null {
  let horizonMs = Number.POSITIVE_INFINITY;
  for (const claimant of claimants) {
    horizonMs = Math.min(horizonMs, claimant.intentAt.getTime() - DISCOVERY_SKEW_MS);
  }
  for (const since of followedSince) horizonMs = Math.min(horizonMs, since.getTime());
  return Number.isFinite(horizonMs) ? new Date(horizonMs) : null;
}

export type PendingDecision =
  | { kind: 'claim'; id: number; build: RemoteBuild }
  /** Unknown outcome, no build after the discovery window, only 1 attempt so far. */
  | { kind: 'resend'; id: number }
  | { kind: 'fail'; id: number; reason: string }
  | { kind: 'wait'; id: number };

export interface PendingSlot extends Claimant {
  state: 'pending' | 'triggered';
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
 * slot included). Then, for the others:
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
  policy: { discoveryWindowMs: number; acceptedGiveUpMs: number },
): PendingDecision[] {
  const claims = assignBuilds(
    pending.map((slot) => ({ ...slot, confirmed: slot.state === 'triggered' })),
    builds,
    claimedUuids,
  );
  return pending.map((slot): PendingDecision => {
    const build = claims.get(slot.id);
    if (build !== undefined) return { kind: 'claim', id: slot.id, build };
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
export const RECONCILE_FIRST_DELAY_MS = 5 * SECOND;
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
