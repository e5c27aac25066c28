/**
 * The chain loop (README, "Chains: builds after other builds"): learns of finished upstream builds
 * and records one slot per qualifying build (or completed fan-in set) for the sender to send.
 * Three sources feed one decision (core/chain.ts `decideChain`):
 * - this daemon's own builds, as reconciliation settles them (`schedule:` upstreams, at once);
 * - a webhook's hint: the upstream project's first page is read at once, through the pacer;
 * - a paced poll of each upstream project's first page (UPSTREAM_POLL, lowest priority).
 * Reconciliation's own walks feed it too (the `listed` event), for free. Whichever source sees a
 * build first, the ledger's unique (schedule, upstream build, branch) records it once.
 */

import { matchBranch } from '../core/branch-glob.ts';
import { chainKey, decideChain, describeCause, type UpstreamBuild } from '../core/chain.ts';
import { coerceError } from '../core/errors.ts';
import { jitterOffsetMs } from '../core/jitter.ts';
import {
  type ChainCause,
  type ChainRule,
  isFinalStatus,
  type NewSlot,
  type RemoteBuild,
  type Schedule,
  type SlotRecord,
} from '../core/model.ts';
import { SECOND } from '../core/time.ts';
import type { CallPriority } from '../ports.ts';
import { Loop } from './loop.ts';
import type { Runtime } from './runtime.ts';

/** Builds of one page: what a read of an upstream project sees. */
const FIRST_PAGE = 50;
/** Slots of a `schedule:` upstream looked at per decision. */
const SCHEDULE_BUILDS = 50;
/** An upstream project that cannot be resolved is tried again after this long. */
const RESOLVE_RETRY_MS = 60_000;
/** How long decisions wait at start for the first API answer to tell Codeship's clock. */
const CLOCK_WAIT_MS = 30 * SECOND;

export interface ChainsOptions {
  /** The live schedules. */
  schedules: () => readonly Schedule[];
  /** When this process started watching each schedule (start-up, or the reload that added it). */
  watchingSince: ReadonlyMap<string, Date>;
  /** UPSTREAM_POLL; 0: no poll (webhooks and own builds only). */
  pollMs: number;
  /** Pending slots were recorded: the sender has work. */
  onPending: () => void;
}

interface Read {
  builds: readonly RemoteBuild[];
  atMs: number;
}

export class Chains extends Loop {
  private readonly options: ChainsOptions;
  /** When each chain was armed, with the upstreams it was armed for (`chainKey`). */
  private readonly armed = new Map<string, { key: string; at: Date }>();
  /** The newest first page seen of each project. */
  private readonly reads = new Map<string, Read>();
  /** Upstream project (as configured) -> UUID, or when resolving failed. */
  private readonly resolved = new Map<string, string | { failedAtMs: number }>();
  private readonly reading = new Map<string, { again: CallPriority | null }>();
  private readonly polledAtMs = new Map<string, number>();
  /** Chains to decide again: new builds of an upstream were seen. */
  private readonly dirty = new Set<string>();
  private started = false;
  private startedAtMs = 0;
  private readonly onListed = (listed: {
    projectUuid: string;
    builds: readonly RemoteBuild[];
    at: Date;
  }) => this.learn(listed.projectUuid, listed.builds, listed.at.getTime());
  private readonly onSettled = (slot: SlotRecord) => {
    if (slot.state !== 'finished' || slot.buildUuid === null) return;
    for (const chain of this.chains()) {
      if (
        chain.after?.upstreams.some((u) => u.kind === 'schedule' && u.schedule === slot.schedule)
      ) {
        this.dirty.add(chain.name);
      }
    }
    if (this.dirty.size > 0) this.notify();
  };

  constructor(rt: Runtime, signal: AbortSignal, options: ChainsOptions) {
    super(rt, signal);
    this.options = options;
    rt.events.on('listed', this.onListed);
    rt.events.on('settled', this.onSettled);
    this.signal.addEventListener(
      'abort',
      () => {
        rt.events.off('listed', this.onListed);
        rt.events.off('settled', this.onSettled);
      },
      { once: true },
    );
  }

  private chains(): Schedule[] {
    return this.options.schedules().filter((s) => s.after !== null);
  }

  /** Schedules were reloaded: new chains are armed and decided. */
  reloaded(): void {
    for (const chain of this.chains()) this.dirty.add(chain.name);
    this.notify();
  }

  /**
   * A webhook said a build of `projectUuid` changed (README, "Chains"): a hint, never proof. When
   * it names a finished build and the project is an upstream, its first page is read at once.
   */
  hint(projectUuid: string): boolean {
    const upstream = [...this.resolved.values()].includes(projectUuid);
    if (upstream) this.read(projectUuid, 'normal');
    return upstream;
  }

  protected async round(): Promise<number> {
    const chains = this.chains();
    if (chains.length === 0) return Number.POSITIVE_INFINITY;
    const now = this.rt.clock.now();
    // New chains, and chains whose upstreams were edited, are armed (again) now.
    const unarmed = chains
      .map((c) => ({ name: c.name, upstreams: chainKey(c.after as ChainRule) }))
      .filter((c) => this.armed.get(c.name)?.key !== c.upstreams);
    if (unarmed.length > 0) {
      const armedAt = await this.rt.ledger.armChains(unarmed, now);
      for (const chain of unarmed) {
        const at = armedAt.get(chain.name);
        if (!at) continue;
        const before = this.armed.get(chain.name);
        if (before && before.at.getTime() !== at.getTime()) {
          this.rt.logger.info({ schedule: chain.name }, 'chain upstreams changed: armed again');
        }
        this.armed.set(chain.name, { key: chain.upstreams, at });
        this.dirty.add(chain.name);
      }
    }
    const projects = await this.resolveUpstreams(chains, now.getTime());
    let wakeMs = Number.POSITIVE_INFINITY;
    for (const projectUuid of projects) {
      const polled = this.polledAtMs.get(projectUuid);
      // Each upstream project is read once at start (builds that finished while no daemon
      // watched are caught up), then every UPSTREAM_POLL.
      const dueMs =
        polled === undefined
          ? now.getTime()
          : this.options.pollMs > 0
            ? polled + this.options.pollMs
            : Number.POSITIVE_INFINITY;
      if (dueMs <= now.getTime()) {
        this.polledAtMs.set(projectUuid, now.getTime());
        this.read(projectUuid, polled === undefined ? 'normal' : 'poll');
        if (this.options.pollMs > 0) wakeMs = Math.min(wakeMs, now.getTime() + this.options.pollMs);
      } else wakeMs = Math.min(wakeMs, dueMs);
    }
    if (!this.started) {
      this.started = true;
      this.startedAtMs = now.getTime();
      for (const chain of chains) this.dirty.add(chain.name);
    }
    // A chain's catch-up rule measures upstream finish times, which are Codeship's: until the first
    // answer tells its clock (at most CLOCK_WAIT_MS), decisions wait rather than take ours for it.
    const clockWaitMs = this.startedAtMs + CLOCK_WAIT_MS - now.getTime();
    if (this.rt.api.clockEstimate() === null && clockWaitMs > 0) {
      return Math.min(wakeMs - now.getTime(), SECOND, clockWaitMs);
    }
    const names = [...this.dirty];
    this.dirty.clear();
    for (const name of names) {
      const chain = chains.find((c) => c.name === name);
      if (!chain) continue;
      try {
        await this.decide(chain);
      } catch (error) {
        this.dirty.add(name); // decided again next round
        throw error;
      }
    }
    return wakeMs - this.rt.clock.now().getTime();
  }

  /** The UUIDs of every upstream project of `chains` (resolved once, retried after failures). */
  private async resolveUpstreams(chains: readonly Schedule[], nowMs: number): Promise<Set<string>> {
    const uuids = new Set<string>();
    for (const chain of chains) {
      for (const upstream of chain.after?.upstreams ?? []) {
        if (upstream.kind !== 'project') continue;
        const known = this.resolved.get(upstream.project);
        if (typeof known === 'string') {
          uuids.add(known);
          continue;
        }
        if (known && nowMs - known.failedAtMs < RESOLVE_RETRY_MS) continue;
        try {
          const uuid = await this.rt.projects.resolve(upstream.project, {
            priority: 'normal',
            signal: this.signal,
          });
          this.resolved.set(upstream.project, uuid);
          uuids.add(uuid);
        } catch (error) {
          if (this.signal.aborted) throw error;
          this.resolved.set(upstream.project, { failedAtMs: nowMs });
          this.rt.logger.warn(
            { schedule: chain.name, upstream: upstream.project, err: coerceError(error) },
            'upstream project cannot be resolved; retrying in a minute',
          );
        }
      }
    }
    return uuids;
  }

  /** Reads a project's first page (one list call); a read asked for meanwhile follows it. */
  private read(projectUuid: string, priority: CallPriority): void {
    const inFlight = this.reading.get(projectUuid);
    if (inFlight) {
      // The read under way may have left before the build finished: one more after it.
      if (inFlight.again === null || priority !== 'poll') inFlight.again = priority;
      return;
    }
    const state = { again: null as CallPriority | null };
    this.reading.set(projectUuid, state);
    const run = async () => {
      const builds: RemoteBuild[] = [];
      for await (const build of this.rt.api.listBuilds(projectUuid, {
        perPage: FIRST_PAGE,
        priority,
        signal: this.signal,
      })) {
        builds.push(build);
        if (builds.length >= FIRST_PAGE) break;
      }
      this.learn(projectUuid, builds, this.rt.clock.now().getTime());
    };
    run()
      .catch((error: unknown) => {
        if (!this.signal.aborted) {
          this.rt.logger.warn({ projectUuid, err: coerceError(error) }, 'upstream read failed');
        }
      })
      .finally(() => {
        this.reading.delete(projectUuid);
        if (state.again !== null && !this.signal.aborted) this.read(projectUuid, state.again);
      });
  }

  /** A first page of `projectUuid` was read (here or by reconciliation). */
  private learn(projectUuid: string, builds: readonly RemoteBuild[], atMs: number): void {
    const previous = this.reads.get(projectUuid);
    if (previous && previous.atMs > atMs) return;
    this.reads.set(projectUuid, { builds, atMs });
    let woke = false;
    for (const chain of this.chains()) {
      const uses = chain.after?.upstreams.some(
        (u) => u.kind === 'project' && this.resolved.get(u.project) === projectUuid,
      );
      if (uses) {
        this.dirty.add(chain.name);
        woke = true;
      }
    }
    if (woke) this.notify();
  }

  /** Codeship's clock now, as well as this process knows it (the middle of the estimate). */
  private toServer(at: Date): Date {
    const estimate = this.rt.api.clockEstimate();
    return estimate ? new Date(at.getTime() + (estimate.loMs + estimate.hiMs) / 2) : at;
  }

  /** Decides one chain and records its slots. */
  private async decide(chain: Schedule): Promise<void> {
    const rule = chain.after;
    const armed = this.armed.get(chain.name);
    if (!rule || !armed || armed.key !== chainKey(rule)) return;
    const armedAt = armed.at;
    const builds: UpstreamBuild[][] = [];
    for (const upstream of rule.upstreams) {
      if (upstream.kind === 'project') {
        const uuid = this.resolved.get(upstream.project);
        const read = typeof uuid === 'string' ? this.reads.get(uuid) : undefined;
        if (!read) {
          // Not read yet: a single upstream has nothing to decide; a fan-in cannot know its set.
          return;
        }
        builds.push(
          read.builds
            .filter(
              (b) =>
                b.finishedAt !== null &&
                isFinalStatus(b.status, b.finishedAt) &&
                matchBranch(upstream.branch, b.branch),
            )
            .map((b) => ({
              uuid: b.uuid,
              project: upstream.project,
              branch: b.branch,
              status: b.status,
              finishedAt: b.finishedAt as Date,
            })),
        );
      } else {
        const slots =
          (await this.rt.ledger.recentSlotsOf([upstream.schedule], SCHEDULE_BUILDS, 'builds')).get(
            upstream.schedule,
          ) ?? [];
        builds.push(
          slots
            .filter((s) => s.buildUuid !== null && s.finishedAt !== null && s.buildStatus !== null)
            .map((s) => ({
              uuid: s.buildUuid as string,
              project: s.project,
              branch: s.branch,
              status: s.buildStatus as string,
              finishedAt: s.finishedAt as Date,
              schedule: upstream.schedule,
            })),
        );
      }
    }
    const uuids = [...new Set(builds.flat().map((b) => b.uuid))];
    if (uuids.length === 0) return;
    const { handled, lastFireAt } = await this.rt.ledger.chainState(chain.name, uuids);
    const now = this.rt.clock.now();
    const watchingSince = this.toServer(this.options.watchingSince.get(chain.name) ?? armedAt);
    const decision = decideChain({
      rule,
      builds,
      armedAt: this.toServer(armedAt),
      watchingSince,
      lastFireAt,
      handled,
      now: this.toServer(now),
      catchupMs: chain.catchupMs,
    });
    if (decision.fire.length === 0 && decision.missed.length === 0) return;
    const fireAt = new Date(now.getTime() + jitterOffsetMs(chain.name, chain.jitterMs));
    const rows: NewSlot[] = [];
    const add = (cause: ChainCause, state: 'pending' | 'skipped', reason: string | null) => {
      for (const branch of chain.branches) {
        rows.push({
          schedule: chain.name,
          slotAt: new Date(cause.finishedAt),
          branch,
          project: chain.project,
          fireAt,
          state,
          reason,
          cause,
        });
      }
    };
    for (const cause of decision.missed) add(cause, 'skipped', 'missed');
    for (const cause of decision.fire) {
      // A build that finished before this process watched fires as a catch-up.
      const catchUp = new Date(cause.finishedAt).getTime() < watchingSince.getTime();
      if (chain.enabled) add(cause, 'pending', catchUp ? 'catch-up' : null);
      else add(cause, 'skipped', 'disabled');
    }
    const recorded = await this.rt.ledger.recordSlots(rows, new Map(), now);
    for (const slot of recorded) {
      const cause = slot.cause as ChainCause;
      const fields = {
        schedule: slot.schedule,
        branch: slot.branch,
        upstream: describeCause(cause),
      };
      if (slot.state === 'pending') this.rt.logger.info(fields, 'chain fired');
      else this.rt.logger.warn({ ...fields, reason: slot.reason }, 'chain slot skipped');
      this.rt.events.emit('recorded', slot);
    }
    if (recorded.some((slot) => slot.state === 'pending')) this.options.onPending();
  }

  protected failed(raw: unknown): void {
    if (this.signal.aborted) return;
    this.rt.logger.error({ err: coerceError(raw) }, 'chain decision failed');
  }
}
