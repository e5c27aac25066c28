/**
 * The interfaces the shell depends on. Adapters implement them; tests pass real implementations
 * (a manual clock, the simulator over HTTP, SQLite in a temp file), never mocks of libraries.
 */

import type { SlotSummary } from './core/attention.ts';
import type {
  AttemptRecord,
  AttemptResult,
  BuildSeen,
  BuildStatus,
  NewSlot,
  Project,
  RemoteBuild,
  SlotRecord,
} from './core/model.ts';
import type { ClockEstimate } from './core/server-clock.ts';

export interface Clock {
  now(): Date;
  /**
   * Milliseconds from an arbitrary origin that never jump (`performance.now()`), so a step of
   * `now()` shows as a change of `now() - monotonicMs()`. Absent on simulated clocks, whose jumps
   * move the simulated server's clock too.
   */
  monotonicMs?(): number;
  /** Resolves after `ms` (at once for `ms <= 0`), or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Which queue of the shared pacer a call waits in: triggers go before reconciliation, and the
 * chains' poll of upstream projects goes last.
 */
export type CallPriority = 'trigger' | 'normal' | 'reconcile' | 'poll';

export interface CallOptions {
  priority?: CallPriority;
  signal?: AbortSignal;
  /**
   * Called synchronously right before each request leaves (after the pacer let it go); a throw
   * cancels the call unsent. The daemon records a create's intent here, so the ledger's attempt
   * time is when the request really went out, not when it joined the queue.
   */
  beforeSend?: () => void | Promise<void>;
}

export interface BuildListOptions extends CallOptions {
  /** Page size, 1 to 50 (the API's maximum); default 50. */
  perPage?: number;
}

export interface CreateBuildRequest {
  /** A branch name; the client sends it as `heads/<branch>`. */
  branch: string;
  commitSha?: string;
}

/**
 * Codeship API v2 as this program uses it. Every call goes through one shared pacer; errors are
 * `CodeshipError`s with stable codes. `createBuild` is never retried by the client: when its
 * outcome is unknown it throws `ERR_CODESHIP_OUTCOME_UNKNOWN` and the caller looks for the build.
 */
export interface CodeshipApi {
  /**
   * The offset of Codeship's clock from ours (server = local + offset) as learned from the `Date`
   * headers of recent answers, or null before the first answer (core/server-clock.ts).
   */
  clockEstimate(): ClockEstimate | null;
  /** Forgets what was learned of the server's clock (our clock jumped). */
  resetServerClock(): void;
  /** UUID of the organization chosen by `CODESHIP_ORGANIZATION` (authenticates if needed). */
  organizationUuid(options?: CallOptions): Promise<string>;
  listProjects(options?: CallOptions): Promise<Project[]>;
  /** Builds newest first, fetched page by page only as far as the caller iterates. */
  listBuilds(projectUuid: string, options?: BuildListOptions): AsyncIterable<RemoteBuild>;
  getBuild(projectUuid: string, buildUuid: string, options?: CallOptions): Promise<RemoteBuild>;
  createBuild(
    projectUuid: string,
    request: CreateBuildRequest,
    options?: CallOptions,
  ): Promise<void>;
  stopBuild(projectUuid: string, buildUuid: string, options?: CallOptions): Promise<void>;
}

export type { BuildStatus };

/** A value now, or later: the SQLite store answers at once, a networked store asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/** Per schedule and state: how many slots, and the newest success and failure (metrics). */
export interface SlotCount {
  schedule: string;
  state: string;
  n: number;
  lastSuccess: string | null;
  lastFailure: string | null;
}

/**
 * The ledger (README, "The ledger and exactly-once"): every slot, written before the API is
 * called, moved through its states until its build finishes. The only way the rest of the program
 * reads or writes it; no SQL lives outside the store that implements this. Every method may answer
 * at once or with a promise, so callers always `await`.
 */
export interface LedgerStore {
  /** Where the ledger lives, for messages (a file path, or a URL without its password). */
  readonly location: string;
  /**
   * The leader lease of a ledger several daemons share (PostgreSQL); absent on a store only one
   * daemon uses (SQLite), whose daemon always leads.
   */
  readonly lease?: LeaseStore;
  /** Last nominal slot planned per schedule. */
  marks(): Awaitable<Map<string, Date>>;
  /**
   * Records planned slots and advances each schedule's mark, in one transaction; returns only the
   * rows this call inserted (the slots this process owns and may fire).
   */
  recordSlots(
    slots: readonly NewSlot[],
    marks: ReadonlyMap<string, Date>,
    now: Date,
  ): Awaitable<SlotRecord[]>;
  get(id: number): Awaitable<SlotRecord | null>;
  /**
   * Arms chains (README, "Chains"): each of `chains` not armed yet, or armed with other
   * `upstreams` (core/chain.ts `chainKey`), is armed at `now`; returns the instant each was
   * armed. Upstream builds that finished before never fire a chain.
   */
  armChains(
    chains: readonly { name: string; upstreams: string }[],
    now: Date,
  ): Awaitable<Map<string, Date>>;
  /**
   * Which of `uuids` (upstream builds) already have a slot of chain `schedule` (fired, skipped or
   * missed), and the newest upstream finish (`slotAt`) of its slots.
   */
  chainState(
    schedule: string,
    uuids: readonly string[],
  ): Awaitable<{ handled: Set<string>; lastFireAt: Date | null }>;
  /**
   * Claims create attempt number `expectedAttempts + 1` for a pending slot and records its intent
   * durably, with the server clock estimate in force; null when someone else got there first.
   */
  beginAttempt(
    id: number,
    projectUuid: string,
    expectedAttempts: number,
    now: Date,
    estimate?: ClockEstimate | null,
  ): Awaitable<number | null>;
  /** The same attempt sent again after a refused 401 or rate-limit 403. */
  touchAttempt(slotId: number, attemptId: number, now: Date): Awaitable<void>;
  finishAttempt(
    attemptId: number,
    slotId: number,
    result: AttemptResult,
    details: { now: Date; error?: string; retryAt?: Date; estimate?: ClockEstimate | null },
  ): Awaitable<void>;
  /** Leaves a pending slot for a later send: nothing reached Codeship. */
  postpone(id: number, retryAt: Date, message: string): Awaitable<void>;
  /**
   * A create whose outcome is unknown, with no build after the discovery window: due for its one
   * re-send (the sender sends it; attempt number 2).
   */
  markResend(id: number, now: Date): Awaitable<boolean>;
  /** Pending slots ready to send, oldest fire time first. */
  dueSends(now: Date, limit?: number): Awaitable<SlotRecord[]>;
  /**
   * Bounds the send backlog (README, "Overload"), in one transaction: every scheduled slot never
   * attempted (pending, `attempts` 0, no outcome unknown, not manual) that has a newer scheduled
   * slot of the same schedule and branch due by `now` and not skipped is recorded `skipped` with
   * reason `superseded (backlog)`. `inFlight` are slots this process is sending right now (they
   * wait in the pacer): never superseded. Returns the rows this call superseded, as they stand
   * after it.
   */
  supersedeBacklog(now: Date, inFlight?: Iterable<number>): Awaitable<SlotRecord[]>;
  /** Slots waiting to be sent: pending and not waiting on an unknown outcome (the send backlog). */
  sendBacklog(): Awaitable<number>;
  /** Slots that still need the API: waiting for discovery, or following a build to its end. */
  openSlots(): Awaitable<SlotRecord[]>;
  /** Which of `uuids` a slot already claimed (a UUID is never claimed twice). */
  knownBuildUuids(uuids: readonly string[]): Awaitable<Set<string>>;
  /** Attaches a discovered build to a slot; false when it already has one or the build is taken. */
  claimBuild(id: number, build: BuildSeen, now: Date, claim?: string | null): Awaitable<boolean>;
  /**
   * Records a followed build's newer status (a final one finishes its slot); false when the slot
   * was no longer running (another pass recorded its end first).
   */
  updateBuild(
    id: number,
    build: Omit<BuildSeen, 'uuid' | 'queuedAt'>,
    now: Date,
  ): Awaitable<boolean>;
  /**
   * A followed build Codeship no longer knows: the slot fails with `reason`. False when the slot
   * was no longer running (another call recorded it first).
   */
  loseBuild(id: number, reason: string, now: Date): Awaitable<boolean>;
  /** Ends a slot without a build: `skipped` with a reason, or `failed` with the error. */
  closeSlot(id: number, state: 'skipped' | 'failed', reason: string, now: Date): Awaitable<void>;
  /** The latest other slot of this schedule and branch that started a build. */
  previousBuildSlot(
    schedule: string,
    branch: string,
    excludeId: number,
  ): Awaitable<SlotRecord | null>;
  /** The latest finished slots with a build, oldest first (learning build durations). */
  recentFinished(limit: number): Awaitable<SlotRecord[]>;
  /** Slots newest first, optionally of one schedule. */
  listSlots(options: { schedule?: string | null; limit: number }): Awaitable<SlotRecord[]>;
  /** Names of every schedule with a slot in the ledger. */
  scheduleNames(): Awaitable<string[]>;
  /** The create attempts of a slot, oldest first. */
  attemptsOf(id: number): Awaitable<AttemptRecord[]>;
  /**
   * The newest `limit` slots of each of `schedules` (newest first), in one query; `only` keeps
   * slots with an outcome (finished or failed) or finished slots with a build. Schedules without
   * such slots are absent from the map.
   */
  recentSlotsOf(
    schedules: readonly string[],
    limit: number,
    only?: 'outcomes' | 'builds',
  ): Awaitable<Map<string, SlotRecord[]>>;
  /** Slot counts per schedule and state, with each schedule's newest success and failure. */
  slotCounts(): Awaitable<SlotCount[]>;
  /** A daemon runs on this ledger: records that it was alive at `now`. */
  heartbeat(now: Date): Awaitable<void>;
  /** When a daemon last said it was alive on this ledger, or null. */
  lastHeartbeat(): Awaitable<Date | null>;
  /**
   * Each of `schedules`' newest slot and newest outcome (core/attention.ts), read in one
   * transaction with two index lookups per schedule; schedules without slots are absent.
   */
  slotSummaries(schedules: readonly string[]): Awaitable<Map<string, SlotSummary>>;
  /**
   * Commits one write (readiness): throws what a tick's write would meet, a lock held elsewhere,
   * a full disk, a read-only file.
   */
  probeWrite(now: Date): Awaitable<void>;
  close(): Awaitable<void>;
}

/** Who holds the leader lease of a shared ledger, and until when (on the database's clock). */
export interface Lease {
  holder: string;
  epoch: number;
  acquiredAt: Date;
  expiresAt: Date;
}

/**
 * The leader lease of a shared ledger (README, "Several instances on PostgreSQL"). The store
 * keeps the lease this process holds and fences with it: once `acquireLease` was called, every
 * write that leads to a create (recordSlots, beginAttempt, touchAttempt, markResend) proves in
 * its own transaction that this process still holds an unexpired lease of that epoch, and throws
 * `ERR_LEDGER_NOT_LEADER` otherwise. Expiry is judged on the database's clock.
 */
export interface LeaseStore {
  /** This process's name in the lease (INSTANCE_NAME). */
  readonly holder: string;
  /** Takes the lease when it is free or expired (a new epoch); null when another holds it. */
  acquireLease(ttlMs: number): Promise<Lease | null>;
  /** Extends the lease this process holds; null when it is no longer ours (lost). */
  renewLease(ttlMs: number): Promise<Lease | null>;
  /** Gives the lease up (it expires now) when still ours; fenced writes fail from now on. */
  releaseLease(): Promise<void>;
  /** Forgets the lease locally, at once: fenced writes fail from now on. */
  dropLease(): void;
  /** The lease as stored, whoever holds it (null when nobody ever led). */
  currentLease(): Promise<Lease | null>;
  /**
   * Called when the lease is lost without a renewal saying so: its connection to the database
   * dropped (fenced writes already fail then).
   */
  onLost?(listener: (reason: string) => void): void;
}

/**
 * Whether this process leads (runs the tick, send and reconcile loops). On SQLite it always
 * does; on PostgreSQL the lease decides (daemon/leadership.ts).
 */
export interface Leadership {
  /** This instance's name (INSTANCE_NAME, default host name and pid). */
  readonly instance: string;
  isLeader(): boolean;
  /** The lease epoch this process leads with (null: not leading, or no lease). */
  epoch(): number | null;
  /** The leader as last seen (null: unknown or none), for the page, /readyz and /metrics. */
  leader(): { holder: string; epoch: number | null } | null;
  /** Called on every change of leadership with the reason; returns an unsubscribe. */
  onChange(listener: (leading: boolean, reason: string) => void): () => void;
}
