/**
 * What the daemon's parts share: the ledger, the API, the clock, the logger and an event stream
 * that tests and the status page listen to instead of polling.
 */
import { EventEmitter } from 'node:events';

/** True for an error that means another process holds the ledger's lock (retry soon). */
export { isLedgerBusy } from '../adapters/ledger-busy.ts';

import type { Logger } from '../adapters/logger.ts';
import type { Schedule, SlotRecord } from '../core/model.ts';
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
  /** One reconciliation pass ended. */
  reconciled: [{ at: Date; open: number; apiCalls: number }];
  /** Schedules were (re)loaded. */
  schedules: [{ count: number; issues: number }];
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
    /** Learned by discovery: a listed build showed the API user's name. */
    ownNameSeen: boolean;
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
