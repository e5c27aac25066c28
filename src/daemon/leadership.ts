/**
 * Which daemon leads (README, "Several instances on PostgreSQL"). On SQLite the one daemon always
 * leads. On PostgreSQL the leader lease decides: a standby tries to take it every
 * STANDBY_POLL_MS; the leader renews it every RENEW_EVERY_MS and gives up leading on its own as
 * soon as a renewal fails for good, its lease connection drops, or its last good renewal is older
 * than LEASE_TTL_MS - SAFETY_MARGIN_MS, so it stops before the lease can expire elsewhere.
 * The fence in the store (ports.ts `LeaseStore`) is the last word: a write that leads to a create
 * proves the lease in its own transaction. Timers here are real (the lease expires on the
 * database's clock, in real time), whatever clock the daemon's loops use.
 */
import type { Logger } from '../adapters/logger.ts';
import { coerceError } from '../core/errors.ts';
import { SECOND } from '../core/time.ts';
import type { Leadership, Lease, LeaseStore } from '../ports.ts';
import { realDelay } from './loop.ts';

/** How long a lease lasts without renewal: a dead leader is replaced within this plus a poll. */
export const LEASE_TTL_MS = 10 * SECOND;
/** How often the leader renews. */
export const RENEW_EVERY_MS = 2500;
/** The leader stops leading this long before its lease could expire. */
export const SAFETY_MARGIN_MS = 3 * SECOND;
/** How often a standby tries to take the lease. */
export const STANDBY_POLL_MS = SECOND;
/** After losing the lease, an instance lets the others take it first for this long. */
export const COOLDOWN_MS = LEASE_TTL_MS;

type Listener = (leading: boolean, reason: string) => void;

/** The lease's timings (the constants above; tests shorten them). */
export interface LeaseTimings {
  ttlMs: number;
  renewEveryMs: number;
  safetyMarginMs: number;
  standbyPollMs: number;
  cooldownMs: number;
}

const DEFAULT_TIMINGS: LeaseTimings = {
  ttlMs: LEASE_TTL_MS,
  renewEveryMs: RENEW_EVERY_MS,
  safetyMarginMs: SAFETY_MARGIN_MS,
  standbyPollMs: STANDBY_POLL_MS,
  cooldownMs: COOLDOWN_MS,
};

/** The single daemon of a SQLite ledger: it always leads. */
export function alwaysLeader(instance: string): Leadership {
  return {
    instance,
    isLeader: () => true,
    epoch: () => null,
    leader: () => ({ holder: instance, epoch: null }),
    onChange: () => () => undefined,
  };
}

/** Leadership by the store's lease; `run` keeps it (or waits for it) until the signal aborts. */
export class LeaseLeadership implements Leadership {
  readonly instance: string;
  private readonly lease: LeaseStore;
  private readonly logger: Logger;
  private leading: Lease | null = null;
  private seen: Lease | null = null;
  private validUntilMs = 0;
  private cooldownUntilMs = 0;
  /** When acquiring the lease started failing (the database unreachable), or null. */
  private unreachableSince: number | null = null;
  private readonly listeners = new Set<Listener>();
  private watchdog: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private readonly timings: LeaseTimings;

  constructor(lease: LeaseStore, logger: Logger, timings: Partial<LeaseTimings> = {}) {
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    this.lease = lease;
    this.instance = lease.holder;
    this.logger = logger;
    lease.onLost?.((reason) => this.lose(reason));
  }

  isLeader(): boolean {
    return this.leading !== null;
  }

  epoch(): number | null {
    return this.leading?.epoch ?? null;
  }

  leader(): { holder: string; epoch: number | null } | null {
    if (this.leading) return { holder: this.instance, epoch: this.leading.epoch };
    return this.seen ? { holder: this.seen.holder, epoch: this.seen.epoch } : null;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keeps trying to lead, and renewing while leading, until `signal` aborts; then releases. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const waitMs = this.leading ? await this.renew() : await this.tryAcquire();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void realDelay(waitMs, signal).then(resolve);
      });
      this.wake = null;
    }
    if (this.leading) {
      this.lose('shutting down');
      // Released, not left to expire: a standby takes over at its next poll.
      await this.lease.releaseLease().catch(() => undefined);
    }
  }

  private async tryAcquire(): Promise<number> {
    if (Date.now() < this.cooldownUntilMs) {
      await this.look();
      return this.timings.standbyPollMs;
    }
    const startedMs = Date.now();
    let lease: Lease | null;
    try {
      lease = await this.lease.acquireLease(this.timings.ttlMs);
    } catch (raw) {
      // Said once per outage, then quietly: the database may be down for minutes.
      if (this.unreachableSince === null) {
        this.unreachableSince = Date.now();
        this.logger.warn(
          { err: coerceError(raw) },
          'leader lease unreachable; retrying every poll',
        );
      } else {
        this.logger.debug({ err: coerceError(raw) }, 'leader lease still unreachable');
      }
      await this.look();
      return this.timings.standbyPollMs;
    }
    if (this.unreachableSince !== null) {
      this.logger.info(
        { downMs: Date.now() - this.unreachableSince },
        'leader lease reachable again',
      );
      this.unreachableSince = null;
    }
    if (lease) {
      this.gain(lease, startedMs);
      return this.timings.renewEveryMs;
    }
    await this.look();
    return this.timings.standbyPollMs;
  }

  /** Reads who leads (for the page and /readyz), quietly. */
  private async look(): Promise<void> {
    try {
      const current = await this.lease.currentLease();
      // Said once per leader (epoch): which instance this one stands by for.
      const changed = current?.epoch !== this.seen?.epoch || current?.holder !== this.seen?.holder;
      if (changed && current && !this.leading)
        this.logger.info({ leader: current.holder, epoch: current.epoch }, 'standing by');
      this.seen = current;
    } catch {
      // The next poll tries again; the lease store logs nothing, and neither does a standby.
    }
  }

  private async renew(): Promise<number> {
    const startedMs = Date.now();
    try {
      const lease = await this.lease.renewLease(this.timings.ttlMs);
      if (!this.leading) return this.timings.standbyPollMs; // lost while renewing (connection dropped)
      if (!lease) {
        this.lose('lease taken or expired (renewal refused)');
        return this.timings.standbyPollMs;
      }
      this.leading = lease;
      this.arm(startedMs);
      return this.timings.renewEveryMs;
    } catch (raw) {
      // Not lost yet: the watchdog ends leadership if no renewal succeeds in time.
      this.logger.warn({ err: coerceError(raw) }, 'leader lease renewal failed');
      return Math.min(this.timings.renewEveryMs, SECOND);
    }
  }

  private gain(lease: Lease, startedMs: number): void {
    const previous = this.seen;
    this.leading = lease;
    this.seen = lease;
    this.arm(startedMs);
    const reason = previous
      ? `lease of ${previous.holder} (epoch ${previous.epoch}) free or expired`
      : 'no leader yet';
    this.logger.info(
      { instance: this.instance, epoch: lease.epoch, reason },
      'leadership acquired',
    );
    for (const listener of this.listeners) listener(true, reason);
  }

  /** Leading is valid until the last good renewal's start plus the TTL, less the margin. */
  private arm(startedMs: number): void {
    this.validUntilMs = startedMs + this.timings.ttlMs - this.timings.safetyMarginMs;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.lose('lease not renewed in time'),
      Math.max(0, this.validUntilMs - Date.now()),
    );
    this.watchdog.unref();
  }

  private lose(reason: string): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.lease.dropLease();
    if (!this.leading) return;
    const epoch = this.leading.epoch;
    this.leading = null;
    this.seen = null;
    this.cooldownUntilMs = reason === 'shutting down' ? 0 : Date.now() + this.timings.cooldownMs;
    if (reason === 'shutting down') {
      this.logger.info({ instance: this.instance, epoch, reason }, 'leadership released');
    } else {
      this.logger.warn({ instance: this.instance, epoch, reason }, 'leadership lost');
    }
    for (const listener of this.listeners) listener(false, reason);
    if (reason !== 'shutting down') {
      // Given up at once (when the database still answers): another standby need not wait out
      // the lease's expiry.
      // Tried twice: a cut connection may leave the first try on a dead pooled connection.
      void this.lease
        .releaseLease()
        .catch(() => this.lease.releaseLease())
        .catch(() => undefined);
    }
    this.wake?.();
  }
}
