/**
 * An oracle for the ledger's exactly-once contract (README, "The ledger and exactly-once"),
 * checked against what the simulator really built. It reads the ledger file read-only with
 * better-sqlite3 (never through the Ledger adapter, so a bug there cannot hide itself) and returns
 * every problem found as a readable line, so a failing test lists the offending rows and builds.
 */
import Database from 'better-sqlite3';
import { firesBetween } from '../../src/core/cron.ts';
import { isPostgresUrl } from '../../src/core/database-url.ts';
import type { SimBuild } from '../../src/simulator/index.ts';
import { rawRows } from './ledger-raw.ts';

/** A `slots` row as stored (snake_case columns, ISO-8601 instants). */
export interface SlotRow {
  id: number;
  schedule: string;
  slot_at: string;
  branch: string;
  manual: number;
  project: string;
  project_uuid: string | null;
  state: string;
  reason: string | null;
  attempts: number;
  outcome_unknown: number;
  build_uuid: string | null;
  build_status: string | null;
  claim: string | null;
}

/** An `attempts` row as stored. */
export interface AttemptRow {
  id: number;
  slot_id: number;
  sent_at: string;
  result: string;
  error: string | null;
}

export interface LedgerSnapshot {
  slots: SlotRow[];
  attempts: AttemptRow[];
  marks: Map<string, string>;
  integrity: string;
}

/** Reads the whole ledger at `file` read-only (safe while a daemon writes it: WAL). */
export function readLedger(file: string): LedgerSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const slots = db
      .prepare('SELECT * FROM slots ORDER BY schedule, slot_at, branch')
      .all() as SlotRow[];
    const attempts = db.prepare('SELECT * FROM attempts ORDER BY id').all() as AttemptRow[];
    const marks = new Map(
      (
        db.prepare('SELECT schedule, slot_at FROM marks').all() as {
          schedule: string;
          slot_at: string;
        }[]
      ).map((row) => [row.schedule, row.slot_at] as const),
    );
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    return { slots, attempts, marks, integrity };
  } finally {
    db.close();
  }
}

/**
 * Reads the whole ledger at `target`, a SQLite file (as `readLedger`) or a PostgreSQL URL (raw
 * SQL on its own connection; integrity is the database's business there, so it reads `ok`).
 */
export async function readLedgerAt(target: string): Promise<LedgerSnapshot> {
  if (!isPostgresUrl(target)) return readLedger(target);
  const slots = await rawRows<SlotRow>(
    target,
    'SELECT * FROM slots ORDER BY schedule, slot_at, branch',
  );
  const attempts = await rawRows<AttemptRow>(target, 'SELECT * FROM attempts ORDER BY id');
  const marks = await rawRows<{ schedule: string; slot_at: string }>(
    target,
    'SELECT schedule, slot_at FROM marks',
  );
  return {
    slots,
    attempts,
    marks: new Map(marks.map((row) => [row.schedule, row.slot_at] as const)),
    integrity: 'ok',
  };
}

/** Slots still waiting for the API: not yet in a final state. */
export function openSlots(snapshot: LedgerSnapshot): SlotRow[] {
  return snapshot.slots.filter(
    (s) => s.state === 'pending' || s.state === 'triggered' || s.state === 'running',
  );
}

/** What the oracle needs to know about a schedule: its cron (evaluated in UTC) and branches. */
export interface ExpectedSchedule {
  name: string;
  cron: string;
  branches: readonly string[];
}

export interface OracleInput {
  snapshot: LedgerSnapshot;
  /** Builds the simulator created during the run (seed history excluded by the caller). */
  builds: readonly SimBuild[];
  schedules: readonly ExpectedSchedule[];
  /** Every nominal slot in (from, until] of every schedule must be in the ledger. */
  from: Date;
  until: Date;
  /** No slot may be later than this (the schedules were removed then); default: no bound. */
  latestAllowed?: Date;
  /** How far the simulator's clock is ahead of the daemon's (its `clockOffsetMs`); default 0. */
  serverOffsetMs?: number;
}

/** First words of the skip reasons that end a slot for good (`superseded (backlog)` under overload). */
const FINAL_SKIP_REASONS = ['missed', 'overlap', 'superseded'];
/** Tolerated gap between an attempt's `sent_at` and the build it created being queued. */
const CREATE_SKEW_MS = 1000;

export const describeSlot = (s: SlotRow) =>
  `#${s.id} ${s.schedule} ${s.slot_at} ${s.branch} state=${s.state} reason=${s.reason ?? '-'} attempts=${s.attempts} build=${s.build_uuid ?? '-'}`;
export const describeBuild = (b: SimBuild) =>
  `${b.uuid} ${b.branch} queued=${b.queuedAt} status=${b.status}${b.ghost ? ' ghost' : ''}${b.pusher ? ` pushed by ${b.username}` : ''}`;

/**
 * Checks the contract; returns one line per violation (empty when all holds):
 * 1. every build we started is the `build_uuid` of exactly one slot, on the same project and
 *    branch, and no slot claims a push by someone else (`pusher`); a build of ours may stay
 *    unclaimed only as the second build of a slot whose two attempts are both recorded;
 * 2. no slot twice, no build twice, at most 2 attempts per slot, and `attempts` equals the recorded
 *    attempts that may have reached Codeship (every result but `not_sent`);
 * 3. every nominal slot of every schedule in (from, until] is present per branch, and final:
 *    finished with a build, skipped for `missed`/`overlap`/`superseded`, or failed with a reason; no slot that
 *    is not a nominal fire (or later than `latestAllowed`) exists; and the file passes integrity_check.
 */
export function checkExactlyOnce(input: OracleInput): string[] {
  const { snapshot, builds } = input;
  const problems: string[] = [];
  if (snapshot.integrity !== 'ok') problems.push(`integrity_check: ${snapshot.integrity}`);
  const names = new Set(input.schedules.map((s) => s.name));
  const slots = snapshot.slots.filter((s) => names.has(s.schedule) && s.manual !== 1);
  const attemptsBySlot = new Map<number, AttemptRow[]>();
  for (const attempt of snapshot.attempts) {
    const list = attemptsBySlot.get(attempt.slot_id) ?? [];
    list.push(attempt);
    attemptsBySlot.set(attempt.slot_id, list);
  }

  // (2) identity and attempts
  const byKey = new Map<string, SlotRow[]>();
  const byBuild = new Map<string, SlotRow[]>();
  for (const slot of slots) {
    const key = `${slot.schedule}|${slot.slot_at}|${slot.branch}`;
    byKey.set(key, [...(byKey.get(key) ?? []), slot]);
    if (slot.build_uuid)
      byBuild.set(slot.build_uuid, [...(byBuild.get(slot.build_uuid) ?? []), slot]);
    const sent = (attemptsBySlot.get(slot.id) ?? []).filter((a) => a.result !== 'not_sent');
    if (slot.attempts > 2) problems.push(`slot sent more than twice: ${describeSlot(slot)}`);
    if (sent.length !== slot.attempts) {
      problems.push(
        `slot attempts=${slot.attempts} but ${sent.length} attempt rows may have reached Codeship (${sent.map((a) => `${a.sent_at} ${a.result}`).join(', ') || 'none'}): ${describeSlot(slot)}`,
      );
    }
  }
  for (const [key, rows] of byKey) {
    if (rows.length > 1)
      problems.push(
        `slot ${key} appears ${rows.length} times: ${rows.map(describeSlot).join('; ')}`,
      );
  }
  for (const [uuid, rows] of byBuild) {
    if (rows.length > 1)
      problems.push(
        `build ${uuid} claimed by ${rows.length} slots: ${rows.map(describeSlot).join('; ')}`,
      );
  }

  // (1) builds against claims
  const buildByUuid = new Map(builds.map((b) => [b.uuid, b]));
  for (const [uuid, rows] of byBuild) {
    const build = buildByUuid.get(uuid);
    const slot = rows[0] as SlotRow;
    if (!build)
      problems.push(
        `slot claims build ${uuid} the simulator never created in this run: ${describeSlot(slot)}`,
      );
    else if (build.pusher)
      problems.push(
        `slot claims a push by someone else (${describeBuild(build)}): ${describeSlot(slot)}`,
      );
    else if (build.projectUuid !== slot.project_uuid || build.branch !== slot.branch) {
      problems.push(
        `slot claims a build of another project or branch (${describeBuild(build)}): ${describeSlot(slot)}`,
      );
    }
  }
  const secondBuildAllowance = slots.filter(
    (s) =>
      s.attempts === 2 &&
      (attemptsBySlot.get(s.id) ?? []).filter((a) => a.result !== 'not_sent').length === 2,
  );
  for (const build of builds) {
    if (byBuild.has(build.uuid) || build.pusher) continue;
    const queuedMs = Date.parse(build.queuedAt) - (input.serverOffsetMs ?? 0);
    const owner = secondBuildAllowance.findIndex(
      (s) =>
        s.project_uuid === build.projectUuid &&
        s.branch === build.branch &&
        (attemptsBySlot.get(s.id) ?? []).some(
          (a) => Date.parse(a.sent_at) <= queuedMs + CREATE_SKEW_MS,
        ),
    );
    if (owner >= 0) {
      secondBuildAllowance.splice(owner, 1);
      continue;
    }
    problems.push(
      `build claimed by no slot (and no slot has two recorded attempts for it): ${describeBuild(build)}`,
    );
  }

  // (3) every nominal slot present and final; nothing else present
  for (const schedule of input.schedules) {
    const mine = slots.filter((s) => s.schedule === schedule.name);
    const expected = firesBetween(schedule.cron, 'UTC', input.from, input.until, 100_000).map((d) =>
      d.toISOString(),
    );
    for (const at of expected) {
      for (const branch of schedule.branches) {
        const slot = mine.find((s) => s.slot_at === at && s.branch === branch);
        if (!slot) {
          problems.push(`missing slot ${schedule.name} ${at} ${branch}`);
          continue;
        }
        const reasonBase = (slot.reason ?? '').split(' ')[0] ?? '';
        const final =
          (slot.state === 'finished' && slot.build_uuid !== null) ||
          (slot.state === 'skipped' && FINAL_SKIP_REASONS.includes(reasonBase)) ||
          (slot.state === 'failed' && (slot.reason ?? '') !== '');
        if (!final) problems.push(`slot not in a final state with a reason: ${describeSlot(slot)}`);
      }
    }
    for (const slot of mine) {
      const atMs = Date.parse(slot.slot_at);
      const nominal =
        firesBetween(schedule.cron, 'UTC', new Date(atMs - 1), new Date(atMs), 1).length === 1;
      if (!nominal) problems.push(`slot at an instant the cron never fires: ${describeSlot(slot)}`);
      if (!schedule.branches.includes(slot.branch))
        problems.push(`slot of an unknown branch: ${describeSlot(slot)}`);
      if (input.latestAllowed && atMs > input.latestAllowed.getTime()) {
        problems.push(`slot after the schedules were removed: ${describeSlot(slot)}`);
      }
    }
  }
  return problems;
}

/**
 * Claims that look misattributed: the claimed build was queued outside [sent_at - 1 s,
 * sent_at + windowMs] of every recorded attempt of the claiming slot. A diagnostic, not part of
 * the contract: discovery matches "the oldest unclaimed build on the ref queued after the intent
 * minus 30 s skew", which may legitimately swap builds between close slots of one branch. It is
 * meaningful only where host and API share a clock and creates are not queued behind a rate limit
 * (the simulator on loopback), and it explains a slot left `triggered` with no build.
 */
export function suspectClaims(
  snapshot: LedgerSnapshot,
  builds: readonly SimBuild[],
  windowMs: number,
  serverOffsetMs = 0,
): string[] {
  const buildByUuid = new Map(builds.map((b) => [b.uuid, b]));
  const lines: string[] = [];
  for (const slot of snapshot.slots) {
    const build = slot.build_uuid ? buildByUuid.get(slot.build_uuid) : undefined;
    if (!build) continue;
    const queuedMs = Date.parse(build.queuedAt) - serverOffsetMs;
    const sentAt = snapshot.attempts.filter((a) => a.slot_id === slot.id).map((a) => a.sent_at);
    const made = sentAt.some((at) => {
      const delayMs = queuedMs - Date.parse(at);
      return delayMs >= -CREATE_SKEW_MS && delayMs <= windowMs;
    });
    if (!made)
      lines.push(
        `attempts at ${sentAt.join(', ') || 'none'} cannot have made ${describeBuild(build)}: ${describeSlot(slot)}`,
      );
  }
  return lines;
}
