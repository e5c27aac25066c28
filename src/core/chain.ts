/**
 * Chains (README, "Chains: builds after other builds"): which finished upstream builds fire a
 * chain's slot. Pure: the daemon gathers the builds (its own reconciled builds, webhooks, a paced
 * poll) and records what this decides; the ledger's unique (schedule, upstream build, branch)
 * makes each decision happen once, whichever source saw the build first.
 */
import { matchBranch } from './branch-glob.ts';
import {
  type ChainCause,
  type ChainRule,
  isFinalStatus,
  qualifies,
  type Schedule,
  type Upstream,
} from './model.ts';

/** A finished build of an upstream, as the API or the ledger knows it. */
export interface UpstreamBuild {
  readonly uuid: string;
  /** The upstream's project as configured (or the schedule's project for `schedule:` upstreams). */
  readonly project: string;
  readonly branch: string;
  readonly status: string;
  /** When it finished, in Codeship's clock. */
  readonly finishedAt: Date;
  /** Set for builds of one of our schedules. */
  readonly schedule?: string;
}

export interface ChainInput {
  readonly rule: ChainRule;
  /** Finished builds seen of each upstream, in the order of `rule.upstreams` (any order inside). */
  readonly builds: readonly (readonly UpstreamBuild[])[];
  /** When the schedule was first loaded (Codeship's clock): builds finished by then never fire it. */
  readonly armedAt: Date;
  /**
   * When this process started watching (Codeship's clock): builds that finished before were
   * missed while no daemon watched, and catch-up rules apply to them.
   */
  readonly watchingSince: Date;
  /** The newest upstream finish that fired this chain (its newest slot's `slotAt`), or null. */
  readonly lastFireAt: Date | null;
  /** Upstream build UUIDs that already have a slot of this chain (fired, skipped or missed). */
  readonly handled: ReadonlySet<string>;
  /** Now, in Codeship's clock. */
  readonly now: Date;
  readonly catchupMs: number;
}

export interface ChainDecision {
  /** Causes to fire, oldest first. */
  readonly fire: ChainCause[];
  /** Causes that finished while no daemon watched and are older than what catch-up fires. */
  readonly missed: ChainCause[];
}

function causeOf(build: UpstreamBuild): ChainCause {
  return {
    project: build.project,
    branch: build.branch,
    build: build.uuid,
    status: build.status,
    finishedAt: build.finishedAt.toISOString(),
    ...(build.schedule ? { schedule: build.schedule } : {}),
  };
}

const byFinish = (a: UpstreamBuild, b: UpstreamBuild) =>
  a.finishedAt.getTime() - b.finishedAt.getTime() || (a.uuid < b.uuid ? -1 : 1);

/**
 * What a chain fires now. A single upstream fires once for every qualifying build that finished
 * after the chain was armed. A fan-in fires when a qualifying build completes a set: every other
 * upstream has a qualifying build that finished within `withinMs` before it, and every build of
 * the set finished after the chain's previous fire (a set is used once; the next fire needs fresh
 * builds of every upstream). Builds that finished before this process watched are caught up as
 * cron slots are: of those, only the latest fires, when it is at most `catchupMs` old; the
 * others are `missed`.
 */
export function decideChain(input: ChainInput): ChainDecision {
  const armedMs = input.armedAt.getTime();
  const qualifying = input.rule.upstreams.map((upstream, i) =>
    (input.builds[i] ?? [])
      .filter(
        (b) =>
          b.finishedAt.getTime() > armedMs &&
          isFinalStatus(b.status) &&
          qualifies(upstream.status, b.status),
      )
      .sort(byFinish),
  );
  const candidates: UpstreamBuild[] = [];
  if (qualifying.length === 1) {
    for (const build of qualifying[0] ?? [])
      if (!input.handled.has(build.uuid)) candidates.push(build);
  } else {
    let consumedMs = input.lastFireAt?.getTime() ?? Number.NEGATIVE_INFINITY;
    const all = dedupe(qualifying.flatMap((builds, i) => builds.map((b) => ({ b, i }))));
    all.sort((x, y) => byFinish(x.b, y.b));
    for (const { b, i } of all) {
      const atMs = b.finishedAt.getTime();
      if (atMs <= consumedMs || input.handled.has(b.uuid)) continue;
      const fromMs = Math.max(consumedMs, atMs - input.rule.withinMs);
      const complete = qualifying.every(
        (builds, j) =>
          j === i ||
          builds.some((o) => {
            const oMs = o.finishedAt.getTime();
            return oMs > fromMs && oMs <= atMs && o.uuid !== b.uuid;
          }),
      );
      if (!complete) continue;
      candidates.push(b);
      consumedMs = atMs;
    }
  }
  const watchingMs = input.watchingSince.getTime();
  const early = candidates.filter((b) => b.finishedAt.getTime() < watchingMs);
  const fire = candidates.filter((b) => b.finishedAt.getTime() >= watchingMs);
  const latest = early.at(-1);
  const missed: ChainCause[] = [];
  for (const build of early) {
    const fresh = input.now.getTime() - build.finishedAt.getTime() <= input.catchupMs;
    if (build === latest && input.catchupMs > 0 && fresh) fire.unshift(build);
    else missed.push(causeOf(build));
  }
  return { fire: fire.map(causeOf), missed };
}

/** One entry per build UUID (a build may qualify for two upstreams of one fan-in). */
function dedupe<T extends { b: UpstreamBuild }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter(({ b }) => {
    if (seen.has(b.uuid)) return false;
    seen.add(b.uuid);
    return true;
  });
}

/**
 * What a chain follows, as one string: its upstreams (statuses included) and window. A chain
 * whose key changes is armed again, so an edited upstream never fires for its older builds.
 */
export function chainKey(rule: ChainRule): string {
  const parts = rule.upstreams.map((u) =>
    u.kind === 'schedule'
      ? `schedule:${u.schedule}:${u.status}`
      : `project:${u.project.toLowerCase()}:${u.branch}:${u.status}`,
  );
  return `${parts.join(',')};within:${rule.withinMs}`;
}

/** `acme/api main (success)`, or `schedule nightly-api (success)`. */
export function describeUpstream(upstream: Upstream): string {
  return upstream.kind === 'project'
    ? `${upstream.project} ${upstream.branch} (${upstream.status})`
    : `schedule ${upstream.schedule} (${upstream.status})`;
}

/** `after acme/api main (success)`; a fan-in lists every upstream and its window. */
export function describeChain(rule: ChainRule): string {
  const parts = rule.upstreams.map(describeUpstream);
  const within = rule.upstreams.length > 1 ? ` within ${formatWithin(rule.withinMs)}` : '';
  return `after ${parts.join(' and ')}${within}`;
}

function formatWithin(ms: number): string {
  const hours = ms / 3_600_000;
  if (Number.isInteger(hours)) return `${hours}h`;
  const minutes = ms / 60_000;
  return Number.isInteger(minutes) ? `${minutes}m` : `${Math.round(ms / 1000)}s`;
}

/** How a schedule fires, in a few words: its cron expression, or its chain. */
export function describeTrigger(schedule: Schedule): string {
  return schedule.after ? describeChain(schedule.after) : `"${schedule.cron}"`;
}

/** `acme/api main 1f0c… (success)`: a chain slot's cause in one line. */
export function describeCause(cause: ChainCause): string {
  const what = cause.schedule ? `${cause.schedule}: ${cause.project}` : cause.project;
  return `${what} ${cause.branch} build ${cause.build} (${cause.status})`;
}

/** A problem of a chain's upstream, for validation (`after[upstream]`). */
export interface ChainProblem {
  readonly schedule: Schedule;
  readonly upstream: number;
  /** `schedule` or `project`: the upstream's key the problem is about. */
  readonly key: 'schedule' | 'project';
  readonly message: string;
}

/** True when `builder`'s builds are builds `upstream` follows (a project upstream). */
function buildsFor(upstream: Upstream, builder: Schedule): boolean {
  return (
    upstream.kind === 'project' &&
    upstream.project.toLowerCase() === builder.project.toLowerCase() &&
    builder.branches.some((branch) => matchBranch(upstream.branch, branch))
  );
}

/**
 * Problems of the chains among `schedules` (all files): an unknown `schedule:` upstream, a chain
 * after itself, and cycles (`a` after `b` after `a`), also those through project builds: a chain
 * whose `project:` upstream is a project and branch that another chain of the cycle builds (or it
 * builds itself) would fire for ever. Projects are compared by how they are written (names
 * case-insensitively). `known` holds every name defined anywhere, valid file or not.
 */
export function chainProblems(
  schedules: readonly Schedule[],
  known: ReadonlySet<string>,
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const byName = new Map(schedules.map((s) => [s.name, s]));
  const chains = schedules.filter((s) => s.after !== null);
  for (const schedule of chains) {
    schedule.after?.upstreams.forEach((upstream, i) => {
      if (upstream.kind === 'project') {
        if (buildsFor(upstream, schedule)) {
          problems.push({
            schedule,
            upstream: i,
            key: 'project',
            message: `follows ${upstream.project} ${upstream.branch}, which this chain builds itself (it would fire after its own builds for ever)`,
          });
        }
        return;
      }
      if (upstream.schedule === schedule.name) {
        problems.push({
          schedule,
          upstream: i,
          key: 'schedule',
          message: 'names this schedule itself (a chain cannot follow itself)',
        });
      } else if (!known.has(upstream.schedule)) {
        problems.push({
          schedule,
          upstream: i,
          key: 'schedule',
          message: `names ${JSON.stringify(upstream.schedule)}, which no schedule file defines (expected the name of one of our schedules)`,
        });
      }
    });
  }
  /** The other chains whose builds `name`'s upstreams follow, with the upstream's index. */
  const upstreamChains = (name: string): { index: number; name: string }[] => {
    const schedule = byName.get(name);
    const found: { index: number; name: string }[] = [];
    schedule?.after?.upstreams.forEach((upstream, index) => {
      if (upstream.kind === 'schedule') {
        const other = byName.get(upstream.schedule);
        if (other?.after && other.name !== name) found.push({ index, name: other.name });
        return;
      }
      for (const other of chains) {
        if (other.name !== name && buildsFor(upstream, other))
          found.push({ index, name: other.name });
      }
    });
    return found;
  };
  // Cycles: a depth-first walk over upstream chains; each cycle is reported on every member.
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const inCycle = new Map<string, string[]>();
  const visit = (name: string) => {
    const mark = state.get(name);
    if (mark === 'done') return;
    if (mark === 'open') {
      const cycle = path.slice(path.indexOf(name));
      cycle.forEach((member, i) => {
        // Each member's message starts with it: `b after a after b`.
        const rotated = [...cycle.slice(i), ...cycle.slice(0, i)];
        if (!inCycle.has(member)) inCycle.set(member, [...rotated, member]);
      });
      return;
    }
    state.set(name, 'open');
    path.push(name);
    for (const upstream of upstreamChains(name)) visit(upstream.name);
    path.pop();
    state.set(name, 'done');
  };
  for (const schedule of chains) visit(schedule.name);
  for (const [name, cycle] of inCycle) {
    const schedule = byName.get(name) as Schedule;
    const next = cycle[1];
    const via = upstreamChains(name).find((u) => u.name === next);
    const upstream = schedule.after?.upstreams[via?.index ?? 0];
    problems.push({
      schedule,
      upstream: via?.index ?? 0,
      key: upstream?.kind ?? 'schedule',
      message: `makes a cycle (${cycle.join(' after ')}; expected chains that end)`,
    });
  }
  return problems;
}
