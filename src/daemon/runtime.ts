/**
 * What the daemon's parts share: the ledger, the API, the clock, the logger and an event stream
 * that tests and the status page listen to instead of polling.
 */
import { EventEmitter } from 'node:events';

/** True for an error that means another process holds the ledger's lock (retry soon). */
export { isLedgerBusy } from '../adapters/ledger-busy.ts';

import type { Logger } from '../adapters/logger.ts';
import type { RemoteBuild, Schedule, SlotRecord } from '../core/model.ts';
import type { Clock, CodeshipApi, Leadership, LedgerStore } from '../ports.ts';
import type { BranchHistory } from './branch-history.ts';
import type { ProjectResolver } from './projects.ts';

export interface DaemonEvents {
  /** A tick planned and recorded its slots. */
  tick: [{ at: Date; recorded: number; wakeAt: Date | null }];
  /** A slot was written to the ledger (pending or skipped). */
  recorded: [SlotRecord];
  /** A create attempt ended: accepted (202), unknown outcome, rejected, or not sent. */
  attempt: [{ slot: SlotRecord; result: string; error: string | null }];
  /** Discovery decided a create with an unknown outcome is to be sent once more. */
  resend: [{ id: number }];
  /** A slot's build was discovered. */
  claimed: [SlotRecord];
  /** A slot reached an end state: finished, failed or skipped (after having been pending). */
  settled: [SlotRecord];
  /** The sender recorded these never-sent slots `skipped: superseded (backlog)`. */
  superseded: [readonly SlotRecord[]];
  /** A project's first page was read (reconciliation, or a chain's upstream read). */
  listed: [{ projectUuid: string; builds: readonly RemoteBuild[]; at: Date }];
  /** A webhook arrived: `accepted`, or why it was refused. */
  webhook: [{ result: WebhookResult }];
  /** One reconciliation pass ended. */
  reconciled: [{ at: Date; open: number; apiCalls: number }];
  /** Schedules were (re)loaded. */
  schedules: [{ count: number; issues: number }];
}

/** How a webhook request ended (`codeship_cron_webhooks_total{result}`). */
export type WebhookResult = 'accepted' | 'bad_secret' | 'bad_request' | 'too_large';

/** What a Codeship notification webhook says, as far as the daemon uses it: a hint, never proof. */
export interface WebhookHint {
  /** The project's legacy numeric id. */
  readonly projectId: number | null;
  /** `acme/api` (project_full_name), or the project_name. */
  readonly projectName: string | null;
  readonly status: string;
  readonly branch: string | null;
}

export interface Runtime {
  readonly ledger: LedgerStore;
  readonly api: CodeshipApi;
  readonly projects: ProjectResolver;
  readonly history: BranchHistory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventEmitter<DaemonEvents>;
  readonly discoveryWindowMs: number;
  /** `CODESHIP_RATE_LIMIT`: requests a minute this process may spend (the backlog warning). */
  readonly rateLimitPerMinute: number;
  /**
   * Build identity (core/discovery.ts `MatchPolicy`): how long a create whose end was never
   * recorded could still have been served, and the API user's names as builds show them.
   */
  readonly match: {
    readonly requestTimeoutMs: number;
    readonly ownUsernames: readonly string[];
    /** Learned by discovery: a build claimed for an accepted create showed one of our names. */
    ownNameSeen: boolean;
    /**
     * Names (lower case) of builds claimed for accepted creates as their only candidate, with how
     * often: Codeship may show our builds under a display name, not the login (core/discovery.ts
     * `learnName`).
     */
    readonly learnedNames: Map<string, number>;
  };
  /**
   * Slots whose create this process is sending right now (waiting in the pacer after a rate
   * limit included): their build cannot be told apart from a neighbour's until the answer is in,
   * so discovery leaves them alone until then.
   */
  readonly sending: Set<number>;
  /**
   * A fresh look at a project's builds now (discovery and outcomes), for a decision that cannot
   * wait for reconciliation's own pacing (an overlap check). The daemon's reconciler serves it
   * with its memory; a one-shot command's runtime runs one pass for that project.
   */
  look: (projectUuid: string, signal?: AbortSignal) => Promise<void>;
  /**
   * A webhook's hint (README, "Chains"): the daemon reads that project's first page soon (waking
   * its reconciliation, or its chains' upstream read). Without a daemon, nothing happens.
   */
  hint: (hint: WebhookHint) => void;
  /** Current schedules by name (the daemon's live set; the CLI's loaded set). */
  readonly schedule: (name: string) => Schedule | undefined;
  /** Whether this process leads (always, on SQLite): the page, /readyz and /metrics show it. */
  leadership: Leadership;
}

export function createEvents(): EventEmitter<DaemonEvents> {
  const events = new EventEmitter<DaemonEvents>();
  events.setMaxListeners(100);
  return events;
}
