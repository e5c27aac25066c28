/**
 * An oracle for chains' exactly-once contract (README, "Chains: builds after other builds"),
 * checked against what the simulator really built. Like `ledger-oracle.ts` it reads the ledger
 * file read-only (raw SQL, never the Ledger adapter under test) and returns every problem found as
 * a readable line, so a failing test lists the offending slots and builds.
 */
import { matchBranch } from '../../src/core/branch-glob.ts';
import type { SimBuild } from '../../src/simulator/index.ts';
import { queryRows } from './ledger-sql.ts';

/** A chain slot as stored, with its cause parsed. */
export interface ChainSlotRow {
  id: number;
  schedule: string;
  slot_at: string;
  branch: string;
  project: string;
  state: string;
  reason: string | null;
  attempts: number;
  build_uuid: string | null;
  upstream_build: string | null;
  cause: ChainCauseRow | null;
}

/** A slot's `cause` JSON (core/model.ts `ChainCause`). */
export interface ChainCauseRow {
  project: string;
  branch: string;
  build: string;
  status: string;
  finishedAt: string;
  schedule?: string;
}

export interface ChainSnapshot {
  /** Slots of the chains asked for. */
  slots: ChainSlotRow[];
  /** Every claimed build UUID in the ledger, with the slots (any schedule) that claim it. */
  claims: Map<string, { id: number; schedule: string }[]>;
  /** `chain_marks`: when each chain was first armed (the daemon's clock). */
  armedAt: Map<string, Date>;
}

/** Reads what the chain oracle needs from the ledger at `file` (read-only; safe while a daemon runs). */
export function readChainLedger(file: string, chains: readonly string[]): ChainSnapshot {
  const names = JSON.stringify(chains);
  const slots = queryRows<Omit<ChainSlotRow, 'cause'> & { cause: string | null }>(
    file,
    `SELECT id, schedule, slot_at, branch, project, state, reason, attempts, build_uuid,
            upstream_build, cause
       FROM slots WHERE schedule IN (SELECT value FROM json_each(?)) ORDER BY schedule, slot_at`,
    names,
  ).map((row) => ({
    ...row,
    cause: row.cause === null ? null : (JSON.parse(row.cause) as ChainCauseRow),
  }));
  const claims = new Map<string, { id: number; schedule: string }[]>();
  for (const row of queryRows<{ id: number; schedule: string; build_uuid: string }>(
    file,
    'SELECT id, schedule, build_uuid FROM slots WHERE build_uuid IS NOT NULL',
  )) {
    claims.set(row.build_uuid, [
      ...(claims.get(row.build_uuid) ?? []),
      { id: row.id, schedule: row.schedule },
    ]);
  }
  const armedAt = new Map(
    queryRows<{ schedule: string; armed_at: string }>(
      file,
      'SELECT schedule, armed_at FROM chain_marks',
    ).map((row) => [row.schedule, new Date(row.armed_at)] as const),
  );
  return { slots, claims, armedAt };
}

/** What the oracle needs to know about one chain (a single upstream). */
export interface ExpectedChain {
  name: string;
  /** The downstream project's UUID and the chain's branch. */
  projectUuid: string;
  branch: string;
  upstream:
    | { kind: 'schedule'; schedule: string; projectUuid: string }
    | { kind: 'project'; projectUuid: string; branch: string };
  /** Final statuses that qualify (e.g. `['success']`). */
  statuses: readonly string[];
}

export interface ChainOracleInput {
  snapshot: ChainSnapshot;
  /** Every build the simulator made during the run (its `builds()`), with final statuses. */
  builds: readonly SimBuild[];
  chains: readonly ExpectedChain[];
  /** How far the simulator's clock is ahead of the daemon's (its `clockOffsetMs`). */
  serverOffsetMs: number;
  /**
   * How far the daemon's view of Codeship's clock may be off (its estimate comes from 1-second
   * `Date` headers): builds that finished this close to the arming may or may not fire.
   */
  armToleranceMs: number;
  /** Qualifying upstream builds that finished after this (server clock) need no slot yet. */
  until: Date;
}

/** States a chain slot may end in once everything settled. */
const FINAL = (s: ChainSlotRow) =>
  (s.state === 'finished' && s.build_uuid !== null) ||
  (s.state === 'skipped' && s.reason === 'missed');

export const describeChainSlot = (s: ChainSlotRow) =>
  `#${s.id} ${s.schedule} ${s.slot_at} ${s.branch} state=${s.state} reason=${s.reason ?? '-'} attempts=${s.attempts} upstream=${s.upstream_build ?? '-'} build=${s.build_uuid ?? '-'}`;
const describe = (b: SimBuild) =>
  `${b.uuid} ${b.branch} queued=${b.queuedAt} finished=${b.finishedAt ?? '-'} status=${b.status}${b.pusher ? ` pushed by ${b.username}` : ''}`;

/**
 * Checks the chains' contract; returns one line per violation (empty when all holds):
 * (a) no upstream build has two slots of one chain (and branch);
 * (b) every slot's cause is a real build of the upstream's project and branch, with a qualifying
 *     final status, that finished after the chain was armed; for `schedule:` upstreams a build
 *     claimed by a slot of that schedule; the slot itself is final (finished with a build, or
 *     skipped `missed`);
 * (c) every qualifying upstream build that finished after the chain was armed (plus the
 *     tolerance) and by `until` has exactly one slot;
 * (d) every create the simulator built on a chain's downstream project and branch (pushes by
 *     others aside) is claimed by exactly one slot, of that chain; every chain slot's build is one.
 */
export function checkChains(input: ChainOracleInput): string[] {
  const { snapshot, builds, serverOffsetMs, armToleranceMs } = input;
  const problems: string[] = [];
  const byUuid = new Map(builds.map((b) => [b.uuid, b]));
  for (const chain of input.chains) {
    const slots = snapshot.slots.filter((s) => s.schedule === chain.name);
    const armed = snapshot.armedAt.get(chain.name);
    if (!armed) {
      problems.push(`chain ${chain.name} was never armed (no chain_marks row)`);
      continue;
    }
    const armedServerMs = armed.getTime() + serverOffsetMs;
    const upstreamOf = (b: SimBuild) => {
      const up = chain.upstream;
      if (b.projectUuid !== up.projectUuid) return false;
      if (up.kind === 'project') return matchBranch(up.branch, b.branch);
      return (snapshot.claims.get(b.uuid) ?? []).some((c) => c.schedule === up.schedule);
    };

    // (a)
    const byUpstream = new Map<string, ChainSlotRow[]>();
    for (const slot of slots) {
      const key = `${slot.upstream_build}|${slot.branch}`;
      byUpstream.set(key, [...(byUpstream.get(key) ?? []), slot]);
    }
    for (const [key, rows] of byUpstream) {
      if (rows.length > 1)
        problems.push(
          `${chain.name}: upstream build ${key} has ${rows.length} slots: ${rows.map(describeChainSlot).join('; ')}`,
        );
    }

    // (b)
    for (const slot of slots) {
      const cause = slot.cause;
      const build = cause ? byUuid.get(cause.build) : undefined;
      const finishedMs = build?.finishedAt ? Date.parse(build.finishedAt) : Number.NaN;
      const wrong = !cause
        ? 'has no cause'
        : cause.build !== slot.upstream_build
          ? `cause names ${cause.build}, upstream_build ${slot.upstream_build}`
          : !build
            ? 'cause is a build the simulator never made in this run'
            : !upstreamOf(build)
              ? `cause is not a build of the upstream (${describe(build)})`
              : !chain.statuses.includes(build.status) || cause.status !== build.status
                ? `cause status ${cause.status} for a build now ${build.status} (qualifying: ${chain.statuses.join(', ')})`
                : Date.parse(cause.finishedAt) !== finishedMs
                  ? `cause finished at ${cause.finishedAt}, the build at ${build.finishedAt}`
                  : finishedMs <= armedServerMs - armToleranceMs
                    ? `cause finished at ${build.finishedAt}, before the chain was armed (${new Date(armedServerMs).toISOString()} server time)`
                    : null;
      if (wrong) problems.push(`${chain.name}: ${wrong}: ${describeChainSlot(slot)}`);
      if (slot.branch !== chain.branch)
        problems.push(`${chain.name}: slot of another branch: ${describeChainSlot(slot)}`);
      if (!FINAL(slot))
        problems.push(
          `${chain.name}: slot not final (finished with a build or skipped missed): ${describeChainSlot(slot)}`,
        );
    }

    // (c)
    const handled = new Set(slots.map((s) => s.upstream_build));
    for (const build of builds) {
      if (!upstreamOf(build) || !chain.statuses.includes(build.status) || !build.finishedAt)
        continue;
      const finishedMs = Date.parse(build.finishedAt);
      if (finishedMs <= armedServerMs + armToleranceMs || finishedMs > input.until.getTime())
        continue;
      if (!handled.has(build.uuid))
        problems.push(`${chain.name}: qualifying upstream build has no slot: ${describe(build)}`);
    }

    // (d)
    for (const build of builds) {
      if (build.projectUuid !== chain.projectUuid || build.branch !== chain.branch) continue;
      if (build.pusher) continue;
      const claims = snapshot.claims.get(build.uuid) ?? [];
      if (claims.length !== 1 || claims[0]?.schedule !== chain.name)
        problems.push(
          `${chain.name}: downstream build claimed by ${claims.length === 0 ? 'no slot' : claims.map((c) => `#${c.id} ${c.schedule}`).join(', ')}: ${describe(build)}`,
        );
    }
    for (const slot of slots) {
      if (slot.build_uuid === null) continue;
      const build = byUuid.get(slot.build_uuid);
      if (
        !build ||
        build.pusher ||
        build.projectUuid !== chain.projectUuid ||
        build.branch !== chain.branch
      )
        problems.push(
          `${chain.name}: slot claims ${build ? describe(build) : 'a build the simulator never made'}: ${describeChainSlot(slot)}`,
        );
    }
  }
  return problems;
}
