/**
 * The interfaces the shell depends on. Adapters implement them; tests pass real implementations
 * (a manual clock, the simulator over HTTP, SQLite in a temp file), never mocks of libraries.
 */
import type { BuildStatus, Project, RemoteBuild } from './core/model.ts';
import type { ClockEstimate } from './core/server-clock.ts';

export interface Clock {
  now(): Date;
  /** Resolves after `ms` (at once for `ms <= 0`), or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Which queue of the shared pacer a call waits in: triggers go before reconciliation. */
export type CallPriority = 'trigger' | 'normal' | 'reconcile';

export interface CallOptions {
  priority?: CallPriority;
  signal?: AbortSignal;
  /**
   * Called synchronously right before each request leaves (after the pacer let it go); a throw
   * cancels the call unsent. The daemon records a create's intent here, so the ledger's attempt
   * time is when the request really went out, not when it joined the queue.
   */
  beforeSend?: () => void;
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
