/**
 * One reconciliation pass: for every project with open slots, one newest-first walk of its build
 * list (stopping at the oldest thing still looked for) serves discovery of every triggered slot
 * and the follow-up of every running build. The decisions are the core's; this file carries them out.
 */

import {
  decideFollowUps,
  decidePending,
  learnedOwnNames,
  learnName,
  type PendingSlot,
  showsOwnName,
  walkHorizon,
} from '../core/discovery.ts';
import { coerceError, isNotFound } from '../core/errors.ts';
import type { SlotRecord } from '../core/model.ts';
import { isFinalStatus, type RemoteBuild } from '../core/model.ts';
import { expectedDurationMs, nextCheckAt } from '../core/reconcile-pacing.ts';
import { narrowed } from '../core/server-clock.ts';
import { MINUTE } from '../core/time.ts';
import type { LedgerStore } from '../ports.ts';
import type { Runtime } from './runtime.ts';

/** How often a build sent before our clock jumped back is looked at until the clock is back there. */
const AFTER_JUMP_LOOK_MS = 30_000;
/** How long a 202-accepted create may go without its build appearing before the slot fails. */
export const ACCEPTED_GIVE_UP_MS = 10 * MINUTE;
/** Pages a walk may read before the remaining followed builds are fetched one by one instead. */
const MAX_WALK_PAGES = 4;
const PER_PAGE = 50;

export interface ReconcileResult {
  open: number;
  apiCalls: number;
}

/** What reconciliation remembers between passes: when each project was walked, how long its builds take. */
export interface ReconcileMemory {
  lastWalkAt: Map<string, Date>;
  durationsMs: Map<string, Map<string, number>>;
}

/** Finished builds remembered per project for the expected duration. */
const DURATION_SAMPLES = 10;

/**
 * A fresh memory; given the ledger, it starts out knowing how long this daemon's recent builds
 * of each project took, so a restart does not forget the pacing.
 */
export async function createReconcileMemory(ledger?: LedgerStore): Promise<ReconcileMemory> {
  const memory: ReconcileMemory = { lastWalkAt: new Map(), durationsMs: new Map() };
  for (const slot of (await ledger?.recentFinished(500)) ?? []) learnDuration(memory, slot);
  return memory;
}

/** Remembers how long a slot's build took (only builds this daemon started count). */
function learnDuration(memory: ReconcileMemory, slot: SlotRecord): void {
  if (!slot.projectUuid || !slot.buildUuid || !slot.buildQueuedAt || !slot.finishedAt) return;
  const known = memory.durationsMs.get(slot.projectUuid) ?? new Map<string, number>();
  known.delete(slot.buildUuid);
  known.set(slot.buildUuid, slot.finishedAt.getTime() - slot.buildQueuedAt.getTime());
  // Insertion order is age order: drop the oldest beyond the sample size.
  for (const uuid of known.keys()) {
    if (known.size <= DURATION_SAMPLES) break;
    known.delete(uuid);
  }
  memory.durationsMs.set(slot.projectUuid, known);
}

function policyOf(rt: Runtime) {
  return {
    ...rt.match,
    ownUsernames: [...rt.match.ownUsernames, ...learnedOwnNames(rt.match.learnedNames)],
    discoveryWindowMs: rt.discoveryWindowMs,
    acceptedGiveUpMs: Math.max(ACCEPTED_GIVE_UP_MS, rt.discoveryWindowMs),
  };
}

/**
 * Which projects are due for a walk at `now`, and when the next one will be: the earliest
 * `nextCheckAt` of their open slots (core/reconcile-pacing.ts).
 */
export async function dueProjects(
  rt: Runtime,
  memory: ReconcileMemory,
  now: Date,
): Promise<{ due: string[]; nextAt: Date | null }> {
  const dueAt = new Map<string, number>();
  const nowMs = now.getTime();
  for (const slot of await rt.ledger.openSlots()) {
    if (slot.projectUuid === null) continue;
    const durations = memory.durationsMs.get(slot.projectUuid);
    // Our clock went back (README, "Time semantics"): a walk or a send recorded on the far side
    // of the jump lies in the future, and pacing from it would leave the build unlooked-at until
    // the clock is back there, as long as the jump. A walk in the future says nothing about now.
    const walked = memory.lastWalkAt.get(slot.projectUuid) ?? null;
    const lastWalkAt = walked !== null && walked.getTime() > nowMs ? null : walked;
    let at = nextCheckAt(
      slot,
      lastWalkAt,
      expectedDurationMs(durations ? [...durations.values()] : []),
      policyOf(rt),
    );
    if (at === null) continue;
    if (slot.lastAttemptAt !== null && slot.lastAttemptAt.getTime() > nowMs) {
      // Sent before the jump: looked at now, then every AFTER_JUMP_LOOK_MS until the clock is
      // back past its send (its discovery and re-send windows count from the send, so they wait).
      at = new Date(
        Math.min(
          at.getTime(),
          (lastWalkAt?.getTime() ?? nowMs) + (lastWalkAt ? AFTER_JUMP_LOOK_MS : 0),
        ),
      );
    }
    const current = dueAt.get(slot.projectUuid);
    if (current === undefined || at.getTime() < current) dueAt.set(slot.projectUuid, at.getTime());
  }
  const due: string[] = [];
  let nextMs = Number.POSITIVE_INFINITY;
  for (const [project, atMs] of dueAt) {
    if (atMs <= now.getTime()) due.push(project);
    else nextMs = Math.min(nextMs, atMs);
  }
  return { due, nextAt: Number.isFinite(nextMs) ? new Date(nextMs) : null };
}

/** Attempt results whose request may have made a build. */
const MAY_HAVE_BUILT: ReadonlySet<string> = new Set(['sending', 'accepted', 'unknown']);

async function toPending(rt: Runtime, slot: SlotRecord): Promise<PendingSlot> {
  const current = rt.api.clockEstimate();
  const sends = (await rt.ledger.attemptsOf(slot.id))
    .filter((attempt) => MAY_HAVE_BUILT.has(attempt.result))
    .map(({ sentAt, answeredAt, estimate }) => ({
      sentAt,
      answeredAt,
      estimate: narrowed(estimate, current),
    }));
  return {
    id: slot.id,
    ref: `heads/${slot.branch}`,
    sends,
    intentAt: slot.intentAt ?? slot.fireAt,
    lastAttemptAt: slot.lastAttemptAt ?? undefined,
    state: slot.state === 'triggered' ? 'triggered' : 'pending',
    attempts: slot.attempts,
    outcomeUnknown: slot.outcomeUnknown,
  };
}

async function walk(
  rt: Runtime,
  projectUuid: string,
  horizon: Date | null,
  wanted: Set<string>,
  signal?: AbortSignal,
): Promise<{ builds: RemoteBuild[]; calls: number }> {
  const builds: RemoteBuild[] = [];
  for await (const build of rt.api.listBuilds(projectUuid, {
    perPage: PER_PAGE,
    priority: 'reconcile',
    signal,
  })) {
    builds.push(build);
    wanted.delete(build.uuid);
    const queuedAt = build.queuedAt?.getTime() ?? Number.POSITIVE_INFINITY;
    // A page already read costs nothing more: its older builds show whose names builds carry.
    if (builds.length % PER_PAGE !== 0) continue;
    if (horizon && queuedAt < horizon.getTime() && wanted.size === 0) break;
    if (builds.length >= MAX_WALK_PAGES * PER_PAGE && (!horizon || queuedAt < horizon.getTime()))
      break;
  }
  return { builds, calls: Math.max(1, Math.ceil(builds.length / PER_PAGE)) };
}

async function reconcileProject(
  rt: Runtime,
  projectUuid: string,
  slots: SlotRecord[],
  memory: ReconcileMemory,
  signal?: AbortSignal,
) {
  const now = rt.clock.now();
  // Only how deep to walk: the claims are decided on the slots open once the page is read.
  const pendingBefore = await Promise.all(
    slots.filter((s) => s.buildUuid === null).map((s) => toPending(rt, s)),
  );
  const followed = slots.filter((s) => s.buildUuid !== null && s.state === 'running');
  const horizon = walkHorizon(
    pendingBefore,
    followed.map((s) => s.buildQueuedAt ?? s.intentAt ?? s.fireAt),
    rt.match.requestTimeoutMs,
  );
  const wanted = new Set(followed.map((s) => s.buildUuid as string));
  const { builds, calls } = await walk(rt, projectUuid, horizon, wanted, signal);
  memory.lastWalkAt.set(projectUuid, now);
  // The first page serves chains whose upstream this project is, for no extra call.
  rt.events.emit('listed', { projectUuid, builds: builds.slice(0, PER_PAGE), at: rt.clock.now() });
  let apiCalls = calls;
  // Creates sent while the page was read (by slots not open when this pass began) may have builds
  // on it: a slot whose outcome is unknown, with its wide window, would take such a build from the
  // slot whose accepted create made it. So claims are decided on the slots open now (every create
  // whose build can be listed recorded its intent before it was sent), and while a create of a
  // branch is in flight (rt.sending), its build may already be listed but cannot be told from a
  // neighbour's: that branch's claims wait until its answer is in.
  const open = (await rt.ledger.openSlots()).filter((s) => s.projectUuid === projectUuid);
  const busy = new Set(open.filter((s) => rt.sending.has(s.id)).map((s) => s.branch));
  const pending = await Promise.all(
    open.filter((s) => s.buildUuid === null && !busy.has(s.branch)).map((s) => toPending(rt, s)),
  );
  // Followed builds older than the pages walked: fetched one by one (rare: very long builds).
  for (const uuid of wanted) {
    apiCalls += 1;
    try {
      builds.push(await rt.api.getBuild(projectUuid, uuid, { priority: 'reconcile', signal }));
    } catch (raw) {
      if (!isNotFound(raw)) throw coerceError(raw);
      for (const slot of followed.filter((s) => s.buildUuid === uuid)) await loseBuild(rt, slot);
    }
  }
  const claimed = await rt.ledger.knownBuildUuids(builds.map((build) => build.uuid));
  const decisions = decidePending(pending, builds, claimed, rt.clock.now(), policyOf(rt));
  for (const decision of decisions) {
    const slot = open.find((s) => s.id === decision.id);
    if (!slot) continue;
    const log = rt.logger.child({
      schedule: slot.schedule,
      slot: slot.slotAt.toISOString(),
      branch: slot.branch,
    });
    if (decision.kind === 'claim') {
      const build = decision.build;
      const final = isFinalStatus(build.status, build.finishedAt);
      const ok = await rt.ledger.claimBuild(
        slot.id,
        {
          uuid: build.uuid,
          commitSha: build.commitSha,
          status: build.status,
          queuedAt: build.queuedAt,
          finishedAt: build.finishedAt,
          final,
        },
        rt.clock.now(),
        decision.claim,
      );
      if (!ok) continue;
      // An accepted create's build shows how Codeship names ours (core/discovery.ts
      // `ownNameSeen`, `learnName`): the API user's name, or one learned from such builds.
      if (slot.state === 'triggered') {
        if (showsOwnName([build], rt.match.ownUsernames)) rt.match.ownNameSeen = true;
        else if (decision.claim === 'exact' && learnName(rt.match.learnedNames, build.username))
          rt.match.ownNameSeen = true;
      }
      const after = (await rt.ledger.get(slot.id)) as SlotRecord;
      log.info(
        { buildUuid: build.uuid, buildStatus: build.status, claim: decision.claim },
        'build discovered',
      );
      rt.events.emit('claimed', after);
      if (final) {
        learnDuration(memory, after);
        logOutcome(rt, after);
      }
    } else if (decision.kind === 'resend') {
      // The sender makes the re-send (the one place a create is sent); discovery only decides.
      if (await rt.ledger.markResend(slot.id, rt.clock.now())) {
        log.warn(
          { attempts: slot.attempts },
          'no build appeared within the discovery window: sending once more',
        );
        rt.events.emit('resend', { id: slot.id });
      }
    } else if (decision.kind === 'fail') {
      await rt.ledger.closeSlot(slot.id, 'failed', decision.reason, rt.clock.now());
      const after = (await rt.ledger.get(slot.id)) as SlotRecord;
      log.error({ reason: decision.reason }, 'slot failed');
      rt.events.emit('settled', after);
    }
  }
  const followUps = decideFollowUps(
    followed.map((s) => ({
      id: s.id,
      buildUuid: s.buildUuid as string,
      buildStatus: s.buildStatus ?? '',
    })),
    builds,
  );
  for (const change of followUps) {
    const changed = await rt.ledger.updateBuild(
      change.id,
      { status: change.status, finishedAt: change.finishedAt, final: change.final },
      rt.clock.now(),
    );
    // Two passes over one project (a webhook's look beside the loop's own) may both see the end:
    // the one that recorded it says so.
    if (!changed) continue;
    const after = (await rt.ledger.get(change.id)) as SlotRecord;
    if (change.final) {
      learnDuration(memory, after);
      logOutcome(rt, after);
    }
  }
  return apiCalls;
}

function logOutcome(rt: Runtime, slot: SlotRecord): void {
  const fields = {
    schedule: slot.schedule,
    slot: slot.slotAt.toISOString(),
    branch: slot.branch,
    buildUuid: slot.buildUuid,
    buildStatus: slot.buildStatus,
  };
  if (slot.buildStatus === 'success') rt.logger.info(fields, 'build finished');
  else rt.logger.warn(fields, 'build finished');
  rt.events.emit('settled', slot);
}

/**
 * Reconciles every open slot once. Errors of one project are logged and leave its slots for the
 * next pass; they never stop the others.
 */
export async function reconcileOnce(
  rt: Runtime,
  signal?: AbortSignal,
  options: { memory?: ReconcileMemory; projects?: readonly string[] } = {},
): Promise<ReconcileResult> {
  const memory = options.memory ?? (await createReconcileMemory(rt.ledger));
  const only = options.projects ? new Set(options.projects) : null;
  const open = (await rt.ledger.openSlots()).filter(
    (s) => s.projectUuid !== null && (only === null || only.has(s.projectUuid)),
  );
  const byProject = new Map<string, SlotRecord[]>();
  for (const slot of open) {
    const list = byProject.get(slot.projectUuid as string) ?? [];
    list.push(slot);
    byProject.set(slot.projectUuid as string, list);
  }
  let apiCalls = 0;
  for (const [projectUuid, slots] of byProject) {
    if (signal?.aborted) break;
    try {
      apiCalls += await reconcileProject(rt, projectUuid, slots, memory, signal);
    } catch (raw) {
      const error = coerceError(raw);
      if (signal?.aborted) break;
      rt.logger.warn(
        { project: slots[0]?.project, projectUuid, err: error },
        'reconciliation of a project failed',
      );
    }
  }
  const result = { open: open.length, apiCalls };
  rt.events.emit('reconciled', { at: rt.clock.now(), ...result });
  return result;
}

/**
 * Records that the build `slot` followed is gone from Codeship (a 404): deleted, or a ledger
 * pointed at another account or simulator. It will never finish, so the slot fails with that
 * reason and settles (chains after it decide).
 */
export async function loseBuild(rt: Runtime, slot: SlotRecord): Promise<void> {
  const reason = `build ${slot.buildUuid} no longer exists in Codeship (HTTP 404)`;
  if (!(await rt.ledger.loseBuild(slot.id, reason, rt.clock.now()))) return; // recorded already
  rt.logger.warn(
    { schedule: slot.schedule, slot: slot.slotAt.toISOString(), buildUuid: slot.buildUuid },
    'build vanished',
  );
  const after = await rt.ledger.get(slot.id);
  if (after) rt.events.emit('settled', after);
}
