/**
 * Domain types shared by the core and the shell. Instants are `Date` in memory and ISO-8601 UTC
 * text in the ledger and in JSON; durations are milliseconds with `Ms` in the name.
 */

import type { ClockEstimate } from './server-clock.ts';

export type OverlapPolicy = 'allow' | 'skip' | 'replace';
/** `unchanged:`: build every slot, or skip one whose branch head this schedule already built. */
export type UnchangedPolicy = 'build' | 'skip';
export const UNCHANGED_POLICIES = ['build', 'skip'] as const satisfies readonly UnchangedPolicy[];
export const OVERLAP_POLICIES = [
  'allow',
  'skip',
  'replace',
] as const satisfies readonly OverlapPolicy[];

/** `stale:` of a schedule: only branches whose newest build is older than `olderThanMs`, at most `max`. */
export interface StaleRule {
  readonly olderThanMs: number;
  readonly max: number;
}

/** Which finished upstream builds a chain counts (README, "Chains"). */
export type UpstreamStatus = 'success' | 'failure' | 'finished';
export const UPSTREAM_STATUSES = [
  'success',
  'failure',
  'finished',
] as const satisfies readonly UpstreamStatus[];

/** One upstream of a chain: builds of a project's branch (anyone's), or one of our schedules' builds. */
export type Upstream =
  | {
      readonly kind: 'project';
      readonly project: string;
      readonly branch: string;
      readonly status: UpstreamStatus;
      readonly line: number;
    }
  | {
      readonly kind: 'schedule';
      readonly schedule: string;
      readonly status: UpstreamStatus;
      readonly line: number;
    };

/** `after:` of a schedule: its upstreams, all of which must have a qualifying build within `withinMs`. */
export interface ChainRule {
  readonly upstreams: readonly Upstream[];
  readonly withinMs: number;
}

/** Build statuses a chain counts as a failure: final, and neither a success nor stopped by someone. */
const FAILURE_STATUSES: ReadonlySet<string> = new Set([
  'error',
  'failed',
  'infrastructure_failure',
  'blocked',
  'ignored',
]);

/** True when a finished build with `status` is what an upstream's `status:` asks for. */
export function qualifies(wanted: UpstreamStatus, status: BuildStatus): boolean {
  if (wanted === 'success') return status === 'success';
  if (wanted === 'failure') return FAILURE_STATUSES.has(status);
  return true;
}

/** A validated schedule entry with every default applied. */
export interface Schedule {
  readonly name: string;
  /** The expression as written (5 or 6 fields, or a nickname such as `@daily`); null for a chain. */
  readonly cron: string | null;
  /** A chain's upstreams (`after:`); null for a cron schedule. */
  readonly after: ChainRule | null;
  /** IANA zone the expression is evaluated in. */
  readonly timezone: string;
  /** Project UUID or project name, resolved to a UUID by the daemon. */
  readonly project: string;
  /** Branch names and globs (`release/*`), at least one; `branch:` becomes a one-element list. */
  readonly branches: readonly string[];
  readonly catchupMs: number;
  readonly overlap: OverlapPolicy;
  readonly unchanged: UnchangedPolicy;
  readonly jitterMs: number;
  readonly enabled: boolean;
  readonly stale: StaleRule | null;
  /** Where the entry was written, for messages. */
  readonly source: { readonly file: string; readonly line: number };
}

/** A schedule that fires on a cron expression (not a chain). */
export type CronSchedule = Schedule & { readonly cron: string };

export function isCronSchedule(schedule: Schedule): schedule is CronSchedule {
  return schedule.cron !== null;
}

/** Build statuses that still change (a build in one of these is not finished). */
const ACTIVE_BUILD_STATUSES = ['initiated', 'waiting', 'testing', 'stopping'] as const;
/** Build statuses that are final. */
const FINAL_BUILD_STATUSES = [
  'success',
  'error',
  'failed',
  'stopped',
  'infrastructure_failure',
  'ignored',
  'blocked',
] as const;
/** Every build status the API is known to send. */
export const BUILD_STATUSES = [...ACTIVE_BUILD_STATUSES, ...FINAL_BUILD_STATUSES] as const;

/** A build status; one the API is not known to send is kept as it came. */
export type BuildStatus = (typeof BUILD_STATUSES)[number] | (string & {});

const FINAL_STATUSES: ReadonlySet<string> = new Set(FINAL_BUILD_STATUSES);

/** True when a build will not change status any more (or the API says it finished). */
export function isFinalStatus(status: BuildStatus, finishedAt: Date | null = null): boolean {
  return FINAL_STATUSES.has(status) || finishedAt !== null;
}

/** A build as the API describes it, validated at the client boundary. */
export interface RemoteBuild {
  readonly uuid: string;
  readonly projectUuid: string;
  readonly projectId: number | null;
  readonly organizationUuid: string;
  /** `heads/<branch>` as the API reports it. */
  readonly ref: string;
  /** The branch name (the API's `branch`, or `ref` without `heads/`). */
  readonly branch: string;
  readonly commitSha: string;
  readonly commitMessage: string;
  readonly username: string;
  readonly status: BuildStatus;
  readonly queuedAt: Date | null;
  readonly allocatedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly links: Readonly<Record<string, string>>;
}

export type ProjectType = 'basic' | 'pro';

/** A project as the API describes it; fields this program does not use are kept in `raw`. */
export interface Project {
  readonly uuid: string;
  readonly id: number | null;
  readonly name: string;
  readonly type: ProjectType;
  readonly repositoryUrl: string;
  readonly repositoryProvider: string;
  readonly organizationUuid: string;
  readonly createdAt: Date | null;
  readonly updatedAt: Date | null;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** States of a slot in the ledger (README, "The ledger and exactly-once"). */
export type SlotState = 'pending' | 'triggered' | 'running' | 'finished' | 'skipped' | 'failed';

/**
 * Reason of a scheduled slot never sent because a newer slot of its schedule and branch was due
 * first (README, "Overload"): only the newest unsent slot of each schedule and branch waits.
 */
export const SUPERSEDED_REASON = 'superseded (backlog)';

/** Normalises a branch name to the ref the API needs: `heads/<branch>` (idempotent). */
export function refForBranch(branch: string): string {
  return branch.startsWith('heads/') ? branch : `heads/${branch}`;
}

/** One slot of the ledger as stored: `(schedule, nominal instant, branch)` and its progress. */
export interface SlotRecord {
  readonly id: number;
  readonly schedule: string;
  readonly slotAt: Date;
  readonly branch: string;
  readonly manual: boolean;
  readonly project: string;
  readonly projectUuid: string | null;
  readonly state: SlotState;
  readonly reason: string | null;
  readonly fireAt: Date;
  readonly nextAttemptAt: Date | null;
  /** When the first create attempt was about to be sent (discovery looks for builds from here). */
  readonly intentAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly attempts: number;
  readonly outcomeUnknown: boolean;
  readonly error: string | null;
  readonly buildUuid: string | null;
  readonly buildStatus: string | null;
  readonly buildQueuedAt: Date | null;
  /** The claimed build's commit. */
  readonly commitSha: string | null;
  /** How the build was identified: `exact` (one candidate) or `nearest of N`. */
  readonly claim: string | null;
  /** A chain's slot: the upstream build that fired it (fan-in: the one that completed the set). */
  readonly cause: ChainCause | null;
  readonly triggeredAt: Date | null;
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A slot about to be recorded. */
export interface NewSlot {
  schedule: string;
  slotAt: Date;
  branch: string;
  project: string;
  fireAt: Date;
  state: 'pending' | 'skipped';
  reason?: string | null;
  manual?: boolean;
  /** A chain's slot: unique per (schedule, cause build, branch). */
  cause?: ChainCause | null;
}

/** The upstream build behind a chain's slot (README, "Chains"). */
export interface ChainCause {
  /** The upstream's project (name or UUID as configured, or as the API names it). */
  readonly project: string;
  readonly branch: string;
  readonly build: string;
  readonly status: string;
  /** When the upstream build finished (Codeship's clock). */
  readonly finishedAt: string;
  /** Set when the upstream is one of our schedules. */
  readonly schedule?: string;
}

export type AttemptResult = 'accepted' | 'unknown' | 'rejected' | 'not_sent';

/** One create request as recorded: sent and answered in our clock, with the estimate in force. */
export interface AttemptRecord {
  sentAt: Date;
  /** Null while the request is out, or when the process died before its end was recorded. */
  answeredAt: Date | null;
  result: string;
  error: string | null;
  estimate: ClockEstimate | null;
}

/** A build as discovery or reconciliation saw it, to be written to its slot. */
export interface BuildSeen {
  uuid: string;
  commitSha?: string | null;
  status: string;
  queuedAt: Date | null;
  finishedAt: Date | null;
  final: boolean;
}
