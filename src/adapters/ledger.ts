/**
 * The SQLite ledger: one row per slot `(schedule, nominal instant, branch)`, written before the
 * API is called and moved through its states until the build finishes. WAL with
 * `synchronous=FULL` (an intent must survive a power loss before the POST leaves the machine),
 * and every read-then-write transaction is `BEGIN IMMEDIATE`, so two processes on one file never
 * both claim a slot, an attempt or a build.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { SlotSummary } from '../core/attention.ts';
import { LedgerError } from '../core/errors.ts';
import type {
  AttemptRecord,
  AttemptResult,
  BuildSeen,
  ChainCause,
  NewSlot,
  SlotRecord,
  SlotState,
} from '../core/model.ts';
import { SUPERSEDED_REASON } from '../core/model.ts';
import type { ClockEstimate } from '../core/server-clock.ts';
import type { LedgerStore, SlotCount } from '../ports.ts';
import { BUSY_SLICE_MS } from './ledger-busy.ts';
import { dateOrNull, iso, newRecord, type Row, toSlot } from './ledger-rows.ts';
import { MIGRATIONS, PROBE_TABLE } from './ledger-schema.ts';

/** How long opening waits for a lock (once, at start-up, before any loop runs). */
const OPEN_BUSY_TIMEOUT_MS = 5000;

/** `format` remembering its last answer: equal instants in a row are formatted once. */
function lastValueMemo(format: (at: Date) => string): (at: Date) => string {
  let lastMs = Number.NaN;
  let lastText = '';
  return (at) => {
    const ms = at.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      lastText = format(at);
    }
    return lastText;
  };
}

function tooNew(file: string, version: number): LedgerError {
  return new LedgerError(
    'ERR_LEDGER_TOO_NEW',
    `${file}: ledger schema version ${version} is newer than this codeship-cron knows (${MIGRATIONS.length}); upgrade codeship-cron`,
  );
}

/**
 * Refuses a ledger written by a newer program before anything touches it: the version is read on
 * a read-only connection, so a refused file keeps every byte (no switch to WAL, no pragma).
 * Files this cannot read are left to the normal open, which reports them.
 */
function refuseNewerReadOnly(file: string): void {
  if (file === ':memory:' || !existsSync(file)) return;
  let probe: Database.Database | null = null;
  let version = 0;
  try {
    probe = new Database(file, {
      readonly: true,
      fileMustExist: true,
      timeout: OPEN_BUSY_TIMEOUT_MS,
    });
    version = probe.pragma('user_version', { simple: true }) as number;
  } catch {
    return;
  } finally {
    probe?.close();
  }
  if (version > MIGRATIONS.length) throw tooNew(file, version);
}

function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw tooNew(file, version);
  db.transaction(() => {
    for (let next = version; next < MIGRATIONS.length; next += 1) {
      db.exec(MIGRATIONS[next] as string);
      db.pragma(`user_version = ${next + 1}`);
    }
  }).immediate();
}

/**
 * Opens (creating if needed) the ledger at `file` and brings its schema up to date.
 * Throws a LedgerError when the file cannot be opened, is corrupt, or is newer than this program
 * (checked read-only first, so such a file is left exactly as it was). Once open, a lock held by
 * another process makes a statement fail with SQLITE_BUSY after BUSY_SLICE_MS instead of freezing
 * the event loop; callers retry (`ledger-busy.ts`).
 */
export function openLedger(file: string): Ledger {
  refuseNewerReadOnly(file);
  let db: Database.Database;
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { timeout: OPEN_BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`quick_check: ${String(check)}`);
  } catch (error) {
    throw new LedgerError(
      'ERR_LEDGER_OPEN',
      `cannot open ledger ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  migrate(db, file);
  db.exec(PROBE_TABLE);
  db.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
  return new Ledger(db, file);
}

/** The SQLite store of the ledger port (ports.ts `LedgerStore`). */
export class Ledger implements LedgerStore {
  readonly file: string;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements;

  constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.location = file;
    this.statements = {
      marks: db.prepare('SELECT schedule, slot_at FROM marks'),
      advanceMark: db.prepare(
        `INSERT INTO marks (schedule, slot_at) VALUES (?, ?)
         ON CONFLICT (schedule) DO UPDATE SET slot_at = excluded.slot_at WHERE marks.slot_at < excluded.slot_at`,
      ),
      // Positional: a burst binds 10,000 rows, and binding by name costs a lookup per parameter.
      insertSlot: db.prepare(
        `INSERT OR IGNORE INTO slots
           (schedule, slot_at, branch, manual, project, state, reason, fire_at, next_attempt_at, created_at, updated_at,
            upstream_build, cause)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      chainSlotExists: db
        .prepare('SELECT 1 FROM slots WHERE schedule = ? AND upstream_build = ? AND branch = ?')
        .pluck(),
      armChain: db.prepare(
        `INSERT INTO chain_marks (schedule, upstreams, armed_at) VALUES (?, ?, ?)
         ON CONFLICT (schedule) DO UPDATE SET upstreams = excluded.upstreams, armed_at = excluded.armed_at
         WHERE chain_marks.upstreams <> excluded.upstreams`,
      ),
      chainMarks: db.prepare('SELECT schedule, armed_at FROM chain_marks'),
      chainHandled: db
        .prepare(
          `SELECT DISTINCT upstream_build FROM slots
           WHERE schedule = @schedule AND upstream_build IN (SELECT value FROM json_each(@uuids))`,
        )
        .pluck(),
      chainLastFire: db
        .prepare('SELECT MAX(slot_at) FROM slots WHERE schedule = ? AND upstream_build IS NOT NULL')
        .pluck(),
      byId: db.prepare('SELECT * FROM slots WHERE id = ?'),
      beginAttempt: db.prepare(
        `UPDATE slots SET attempts = attempts + 1, intent_at = COALESCE(intent_at, @now), last_attempt_at = @now,
           outcome_unknown = 1, project_uuid = @projectUuid,
           updated_at = @now
         WHERE id = @id AND state = 'pending' AND attempts = @expected AND (outcome_unknown = 0 OR attempts > 0)`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (slot_id, sent_at, result, offset_lo_ms, offset_hi_ms)
         VALUES (?, ?, 'sending', ?, ?) RETURNING id`,
      ),
      finishAttempt: db.prepare(
        `UPDATE attempts SET result = ?, error = ?, answered_at = ?,
           offset_lo_ms = COALESCE(?, offset_lo_ms), offset_hi_ms = COALESCE(?, offset_hi_ms)
         WHERE id = ?`,
      ),
      dueSends: db.prepare(
        `SELECT * FROM slots WHERE state = 'pending' AND outcome_unknown = 0 AND next_attempt_at <= ?
         ORDER BY fire_at, id LIMIT ?`,
      ),
      // The outer scan reads the pending rows (slots_due index); the EXISTS probe walks the
      // (schedule, slot_at, branch) UNIQUE index; RETURNING hands back exactly the rows written.
      supersede: db.prepare(
        `UPDATE slots SET state = 'skipped', reason = '${SUPERSEDED_REASON}', updated_at = @now
         WHERE state = 'pending' AND outcome_unknown = 0 AND attempts = 0 AND manual = 0
           AND upstream_build IS NULL
           AND id NOT IN (SELECT value FROM json_each(@inFlight))
           AND EXISTS (
             SELECT 1 FROM slots AS newer
             WHERE newer.schedule = slots.schedule AND newer.branch = slots.branch
               AND newer.slot_at > slots.slot_at AND newer.manual = 0
               AND newer.upstream_build IS NULL
               AND newer.fire_at <= @now AND newer.state <> 'skipped')
         RETURNING *`,
      ),
      backlog: db
        .prepare(`SELECT count(*) FROM slots WHERE state = 'pending' AND outcome_unknown = 0`)
        .pluck(),
      openSlots: db.prepare(
        `SELECT * FROM slots
         WHERE state IN ('pending', 'triggered', 'running')
           AND NOT (state = 'pending' AND outcome_unknown = 0)
         ORDER BY id`,
      ),
      knownBuild: db.prepare('SELECT 1 FROM slots WHERE build_uuid = ?').pluck(),
      newest: db.prepare(
        'SELECT state, fire_at FROM slots WHERE schedule = ? ORDER BY slot_at DESC, id DESC LIMIT 1',
      ),
      newestOutcome: db.prepare(
        `SELECT state, build_status FROM slots WHERE schedule = ? AND state IN ('finished', 'failed')
         ORDER BY slot_at DESC, id DESC LIMIT 1`,
      ),
      recentOf: {
        all: db.prepare(
          `SELECT s.* FROM json_each(@names) AS n JOIN slots AS s ON s.id IN (
             SELECT id FROM slots WHERE schedule = n.value
             ORDER BY slot_at DESC, id DESC LIMIT @limit)
           ORDER BY n.key, s.slot_at DESC, s.id DESC`,
        ),
        outcomes: db.prepare(
          `SELECT s.* FROM json_each(@names) AS n JOIN slots AS s ON s.id IN (
             SELECT id FROM slots WHERE schedule = n.value AND state IN ('finished', 'failed')
             ORDER BY slot_at DESC, id DESC LIMIT @limit)
           ORDER BY n.key, s.slot_at DESC, s.id DESC`,
        ),
        builds: db.prepare(
          `SELECT s.* FROM json_each(@names) AS n JOIN slots AS s ON s.id IN (
             SELECT id FROM slots WHERE schedule = n.value AND state = 'finished' AND build_uuid IS NOT NULL
             ORDER BY slot_at DESC, id DESC LIMIT @limit)
           ORDER BY n.key, s.slot_at DESC, s.id DESC`,
        ),
      },
      counts: db.prepare(
        `SELECT schedule, state, COUNT(*) AS n,
           MAX(CASE WHEN state = 'finished' AND build_status = 'success' THEN finished_at END) AS last_success,
           MAX(CASE WHEN state = 'failed' OR (state = 'finished' AND COALESCE(build_status, '') <> 'success')
                    THEN COALESCE(finished_at, updated_at) END) AS last_failure
         FROM slots GROUP BY schedule, state`,
      ),
      previousBuild: db.prepare(
        `SELECT * FROM slots WHERE schedule = ? AND branch = ? AND id <> ?
           AND state IN ('triggered', 'running', 'finished')
         ORDER BY slot_at DESC, id DESC LIMIT 1`,
      ),
      list: db.prepare(
        `SELECT * FROM slots WHERE (@schedule IS NULL OR schedule = @schedule)
         ORDER BY slot_at DESC, id DESC LIMIT @limit`,
      ),
      attemptsOf: db.prepare(
        `SELECT sent_at, answered_at, result, error, offset_lo_ms, offset_hi_ms
         FROM attempts WHERE slot_id = ? ORDER BY id`,
      ),
    };
  }

  /** Last nominal slot planned per schedule. */
  marks(): Map<string, Date> {
    const marks = new Map<string, Date>();
    for (const row of this.statements.marks.all() as Row[]) {
      marks.set(row.schedule as string, new Date(row.slot_at as string));
    }
    return marks;
  }

  /**
   * Records planned slots and advances each schedule's mark, in one transaction. A schedule whose
   * mark does not move (another process, or an earlier run, planned that far already) records
   * nothing; a slot already in the ledger is left alone. Returns only the rows this call inserted:
   * those are the slots this process owns and may fire.
   */
  recordSlots(
    slots: readonly NewSlot[],
    marks: ReadonlyMap<string, Date>,
    now: Date,
  ): SlotRecord[] {
    const nowText = iso(now);
    // A burst is thousands of rows on the same instant: format each distinct instant once.
    const slotIso = lastValueMemo(iso);
    const fireIso = lastValueMemo(iso);
    return this.db
      .transaction(() => {
        const blocked = new Set<string>();
        for (const [schedule, slotAt] of marks) {
          const { changes } = this.statements.advanceMark.run(schedule, slotIso(slotAt));
          if (changes === 0) blocked.add(schedule);
        }
        const inserted: SlotRecord[] = [];
        for (const slot of slots) {
          if (blocked.size > 0 && blocked.has(slot.schedule)) continue;
          if (slot.cause) {
            const chained = this.insertChainSlot(slot, nowText, now);
            if (chained) inserted.push(chained);
            continue;
          }
          const fireAt = fireIso(slot.fireAt);
          const { changes, lastInsertRowid } = this.insertRow(
            slot,
            slotIso(slot.slotAt),
            fireAt,
            nowText,
          );
          // Built here rather than read back (RETURNING): a 10,000-slot burst stays one quick write.
          if (changes === 1) inserted.push(newRecord(Number(lastInsertRowid), slot, now));
        }
        return inserted;
      })
      .immediate();
  }

  /** Inserts one slot row (or ignores it: a key already taken); instants as ISO text. */
  private insertRow(slot: NewSlot, slotAt: string, fireAt: string, nowText: string) {
    return this.statements.insertSlot.run(
      slot.schedule,
      slotAt,
      slot.branch,
      slot.manual ? 1 : 0,
      slot.project,
      slot.state,
      slot.reason ?? null,
      fireAt,
      slot.state === 'pending' ? fireAt : null,
      nowText,
      nowText,
      slot.cause?.build ?? null,
      slot.cause ? JSON.stringify(slot.cause) : null,
    );
  }

  /**
   * A chain's slot, once per (schedule, upstream build, branch). Its nominal instant is the
   * upstream's finish; two upstream builds that finished in the same millisecond move the later
   * one on by a millisecond, so neither is lost to the (schedule, slot_at, branch) key.
   */
  private insertChainSlot(slot: NewSlot, nowText: string, now: Date): SlotRecord | null {
    const cause = slot.cause as ChainCause;
    if (this.statements.chainSlotExists.get(slot.schedule, cause.build, slot.branch)) return null;
    const fireAt = iso(slot.fireAt);
    for (let bump = 0; bump < 1000; bump += 1) {
      const slotAt = new Date(slot.slotAt.getTime() + bump);
      const { changes, lastInsertRowid } = this.insertRow(slot, iso(slotAt), fireAt, nowText);
      if (changes === 1) {
        return newRecord(Number(lastInsertRowid), { ...slot, slotAt }, now);
      }
    }
    throw new LedgerError(
      'ERR_LEDGER_CHAIN',
      `cannot record a slot of ${slot.schedule} for upstream build ${cause.build}: 1000 slots share its instant`,
    );
  }

  /**
   * Arms chains: each of `chains` not armed yet, or armed with other upstreams, is armed at `now`
   * (upstream builds that finished before never fire it). Returns when each was armed.
   */
  armChains(chains: readonly { name: string; upstreams: string }[], now: Date): Map<string, Date> {
    const armed = new Map<string, Date>();
    if (chains.length === 0) return armed;
    this.db
      .transaction(() => {
        for (const chain of chains) {
          this.statements.armChain.run(chain.name, chain.upstreams, iso(now));
        }
      })
      .immediate();
    const wanted = new Set(chains.map((c) => c.name));
    for (const row of this.statements.chainMarks.all() as Row[]) {
      if (wanted.has(row.schedule as string))
        armed.set(row.schedule as string, new Date(row.armed_at as string));
    }
    return armed;
  }

  /** Which of `uuids` already have a slot of chain `schedule`, and its newest upstream finish. */
  chainState(
    schedule: string,
    uuids: readonly string[],
  ): { handled: Set<string>; lastFireAt: Date | null } {
    const handled = new Set(
      this.statements.chainHandled.all({ schedule, uuids: JSON.stringify(uuids) }) as string[],
    );
    const last = this.statements.chainLastFire.get(schedule) as string | null;
    return { handled, lastFireAt: last ? new Date(last) : null };
  }

  get(id: number): SlotRecord | null {
    const row = this.statements.byId.get(id) as Row | undefined;
    return row ? toSlot(row) : null;
  }

  /**
   * Claims the right to send create attempt number `expectedAttempts + 1` for a pending slot and
   * records its intent (durably, before the request). Until the attempt is finished the slot's
   * outcome counts as unknown, so a crash mid-request leaves it for discovery, never for a blind
   * re-send. Returns the attempt id, or null when another process (or call) got there first.
   */
  beginAttempt(
    id: number,
    projectUuid: string,
    expectedAttempts: number,
    now: Date,
    estimate: ClockEstimate | null = null,
  ): number | null {
    return this.db
      .transaction(() => {
        const { changes } = this.statements.beginAttempt.run({
          id,
          projectUuid,
          expected: expectedAttempts,
          now: iso(now),
        });
        if (changes === 0) return null;
        const row = this.statements.insertAttempt.get(
          id,
          iso(now),
          estimate?.loMs ?? null,
          estimate?.hiMs ?? null,
        ) as Row;
        return row.id as number;
      })
      .immediate();
  }

  /** The same attempt sent again (after a refused 401 or rate-limit 403): its time moves on. */
  touchAttempt(slotId: number, attemptId: number, now: Date): void {
    this.db
      .transaction(() => {
        this.db.prepare('UPDATE attempts SET sent_at = ? WHERE id = ?').run(iso(now), attemptId);
        // The refused sends did not run: on a first attempt the intent is this send's time.
        this.db
          .prepare(
            `UPDATE slots SET last_attempt_at = @now, updated_at = @now,
               intent_at = CASE WHEN attempts = 1 THEN @now ELSE intent_at END
             WHERE id = @id`,
          )
          .run({ now: iso(now), id: slotId });
      })
      .immediate();
  }

  /** Records how a create attempt ended (see AttemptResult) and moves the slot accordingly. */
  finishAttempt(
    attemptId: number,
    slotId: number,
    result: AttemptResult,
    details: { now: Date; error?: string; retryAt?: Date; estimate?: ClockEstimate | null },
  ): void {
    const now = iso(details.now);
    const error = details.error ?? null;
    this.db
      .transaction(() => {
        this.statements.finishAttempt.run(
          result,
          error,
          now,
          details.estimate?.loMs ?? null,
          details.estimate?.hiMs ?? null,
          attemptId,
        );
        const sql = {
          accepted: `UPDATE slots SET state = 'triggered', triggered_at = @now, outcome_unknown = 0, error = NULL,
                       updated_at = @now WHERE id = @id AND state = 'pending'`,
          unknown: `UPDATE slots SET outcome_unknown = 1, error = @error, updated_at = @now
                      WHERE id = @id AND state = 'pending'`,
          rejected: `UPDATE slots SET state = 'failed', reason = @error, error = @error, outcome_unknown = 0,
                       updated_at = @now WHERE id = @id AND state = 'pending'`,
          not_sent: `UPDATE slots SET attempts = attempts - 1, outcome_unknown = 0, error = @error,
                       intent_at = CASE WHEN attempts = 1 THEN NULL ELSE intent_at END,
                       next_attempt_at = @retryAt, updated_at = @now WHERE id = @id AND state = 'pending'`,
        }[result];
        this.db.prepare(sql).run({
          id: slotId,
          now,
          error,
          retryAt: details.retryAt ? iso(details.retryAt) : now,
        });
      })
      .immediate();
  }

  /** Pending slots ready to send (not waiting on an unknown outcome), oldest fire time first. */
  dueSends(now: Date, limit = 1000): SlotRecord[] {
    return (this.statements.dueSends.all(iso(now), limit) as Row[]).map(toSlot);
  }

  /**
   * Records `skipped: superseded (backlog)` on every never-attempted scheduled slot that a newer
   * due slot of its schedule and branch makes stale, in one `BEGIN IMMEDIATE` transaction (so two
   * processes, or a restart, apply the rule the same way); slots in `inFlight` are left alone.
   * Returns the rows superseded.
   */
  supersedeBacklog(now: Date, inFlight: Iterable<number> = []): SlotRecord[] {
    const params = { now: iso(now), inFlight: JSON.stringify([...inFlight]) };
    return this.db
      .transaction(() => (this.statements.supersede.all(params) as Row[]).map(toSlot))
      .immediate();
  }

  /** Pending slots not waiting on an unknown outcome: the creates still to send. */
  sendBacklog(): number {
    if (!this.db.open) return 0;
    return this.statements.backlog.get() as number;
  }

  /** Slots that still need the API: waiting for discovery, or following a build to its end. */
  openSlots(): SlotRecord[] {
    return (this.statements.openSlots.all() as Row[]).map(toSlot);
  }

  /**
   * Attaches a discovered build to a slot. False when the slot already has a build or the build
   * belongs to another slot (the UNIQUE constraint is the last word between two processes).
   */
  claimBuild(id: number, build: BuildSeen, now: Date, claim: string | null = null): boolean {
    try {
      const { changes } = this.db
        .prepare(
          `UPDATE slots SET build_uuid = @uuid, build_status = @status, build_queued_at = @queuedAt,
             commit_sha = @commitSha, claim = @claim,
             finished_at = @finishedAt, state = @state, outcome_unknown = 0,
             triggered_at = COALESCE(triggered_at, @now), error = NULL, updated_at = @now
           WHERE id = @id AND build_uuid IS NULL AND state IN ('pending', 'triggered')`,
        )
        .run({
          id,
          uuid: build.uuid,
          commitSha: build.commitSha ?? null,
          claim,
          status: build.status,
          queuedAt: build.queuedAt ? iso(build.queuedAt) : iso(now),
          finishedAt: build.final ? iso(build.finishedAt ?? now) : null,
          state: build.final ? 'finished' : 'running',
          now: iso(now),
        });
      return changes === 1;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw error;
    }
  }

  /** Records a claimed build's newer status; a final one finishes the slot. */
  updateBuild(id: number, build: Omit<BuildSeen, 'uuid' | 'queuedAt'>, now: Date): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE slots SET build_status = @status, state = @state, finished_at = @finishedAt, updated_at = @now
         WHERE id = @id AND state = 'running'`,
      )
      .run({
        id,
        status: build.status,
        state: build.final ? 'finished' : 'running',
        finishedAt: build.final ? iso(build.finishedAt ?? now) : null,
        now: iso(now),
      });
    return changes > 0;
  }

  /** A followed build that Codeship no longer knows: the slot fails with `reason`, keeping the UUID. */
  loseBuild(id: number, reason: string, now: Date): boolean {
    const result = this.db
      .prepare(
        `UPDATE slots SET state = 'failed', reason = @reason, error = @reason, updated_at = @now
         WHERE id = @id AND state = 'running'`,
      )
      .run({ id, reason, now: iso(now) });
    return result.changes > 0;
  }

  /** Ends a slot without a build: `skipped` with a reason, or `failed` with the error. */
  closeSlot(id: number, state: 'skipped' | 'failed', reason: string, now: Date): void {
    this.db
      .prepare(
        `UPDATE slots SET state = @state, reason = @reason, error = CASE WHEN @state = 'failed' THEN @reason ELSE error END,
           outcome_unknown = 0, updated_at = @now
         WHERE id = @id AND state IN ('pending', 'triggered')`,
      )
      .run({ id, state, reason, now: iso(now) });
  }

  /** The latest other slot of this schedule and branch that started a build (for `overlap`). */
  previousBuildSlot(schedule: string, branch: string, excludeId: number): SlotRecord | null {
    const row = this.statements.previousBuild.get(schedule, branch, excludeId) as Row | undefined;
    return row ? toSlot(row) : null;
  }

  /** The latest finished slots with a build, oldest first (for learning build durations). */
  recentFinished(limit: number): SlotRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT * FROM slots WHERE state = 'finished' AND build_uuid IS NOT NULL
           ORDER BY id DESC LIMIT ?) ORDER BY id`,
      )
      .all(limit) as Row[];
    return rows.map(toSlot);
  }

  /** Slots newest first, optionally of one schedule. */
  listSlots(options: { schedule?: string | null; limit: number }): SlotRecord[] {
    const rows = this.statements.list.all({
      schedule: options.schedule ?? null,
      limit: options.limit,
    });
    return (rows as Row[]).map(toSlot);
  }

  /** Every schedule name with a slot in the ledger, sorted (for "known: …" in messages). */
  scheduleNames(): string[] {
    const rows = this.db.prepare('SELECT DISTINCT schedule FROM slots ORDER BY schedule').all();
    return (rows as Row[]).map((row) => row.schedule as string);
  }

  /** The create attempts of a slot, oldest first, with the server clock estimate of each. */
  attemptsOf(id: number): AttemptRecord[] {
    return (this.statements.attemptsOf.all(id) as Row[]).map((row) => ({
      sentAt: new Date(row.sent_at as string),
      answeredAt: dateOrNull(row.answered_at),
      result: row.result as string,
      error: (row.error as string | null) ?? null,
      estimate:
        typeof row.offset_lo_ms === 'number' && typeof row.offset_hi_ms === 'number'
          ? { loMs: row.offset_lo_ms, hiMs: row.offset_hi_ms }
          : null,
    }));
  }

  /** Which of `uuids` a slot of the ledger already claimed (a UUID is never claimed twice). */
  knownBuildUuids(uuids: readonly string[]): Set<string> {
    const known = new Set<string>();
    for (const uuid of uuids)
      if (this.statements.knownBuild.get(uuid) !== undefined) known.add(uuid);
    return known;
  }

  /** Leaves a pending slot for a later send: nothing reached Codeship. */
  postpone(id: number, retryAt: Date, message: string): void {
    this.db
      .prepare("UPDATE slots SET next_attempt_at = ?, error = ? WHERE id = ? AND state = 'pending'")
      .run(iso(retryAt), message, id);
  }

  /**
   * Commits one write (the readiness probe's row): throws what a tick's write would meet, a lock
   * held elsewhere (SQLITE_BUSY after BUSY_SLICE_MS), a full disk, a read-only file.
   */
  probeWrite(now: Date): void {
    this.db
      .transaction(() => {
        this.db
          .prepare('INSERT OR REPLACE INTO readiness_probe (id, checked_at) VALUES (1, ?)')
          .run(now.toISOString());
      })
      .immediate();
  }

  /**
   * A first create with an unknown outcome and no build after the discovery window: due now for
   * its one re-send, which the sender makes as attempt 2 (its first attempt stays recorded).
   */
  markResend(id: number, now: Date): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE slots SET outcome_unknown = 0, next_attempt_at = @now, updated_at = @now
         WHERE id = @id AND state = 'pending' AND outcome_unknown = 1 AND attempts = 1`,
      )
      .run({ id, now: iso(now) });
    return changes === 1;
  }

  /**
   * The newest `limit` slots of each of `schedules`, newest first, in one statement: one
   * `(schedule, slot_at)` index range per name (a correlated LIMIT), so the cost follows what is
   * returned, not the ledger's size. `only` keeps outcomes (finished or failed) or finished builds.
   */
  recentSlotsOf(
    schedules: readonly string[],
    limit: number,
    only?: 'outcomes' | 'builds',
  ): Map<string, SlotRecord[]> {
    const statement = this.statements.recentOf[only ?? 'all'];
    const rows = statement.all({ names: JSON.stringify(schedules), limit }) as Row[];
    const bySchedule = new Map<string, SlotRecord[]>();
    for (const row of rows) {
      const slot = toSlot(row);
      const list = bySchedule.get(slot.schedule);
      if (list) list.push(slot);
      else bySchedule.set(slot.schedule, [slot]);
    }
    return bySchedule;
  }

  /** Slot counts per schedule and state, with each schedule's newest success and failure. */
  slotCounts(): SlotCount[] {
    if (!this.db.open) return [];
    return (this.statements.counts.all() as Row[]).map((row) => ({
      schedule: row.schedule as string,
      state: row.state as string,
      n: row.n as number,
      lastSuccess: (row.last_success as string | null) ?? null,
      lastFailure: (row.last_failure as string | null) ?? null,
    }));
  }

  /** A daemon runs on this ledger: records that it was alive at `now`. */
  heartbeat(now: Date): void {
    this.db
      .prepare('INSERT OR REPLACE INTO daemon_heartbeat (id, seen_at) VALUES (1, ?)')
      .run(iso(now));
  }

  /** When a daemon last said it was alive on this ledger, or null. */
  lastHeartbeat(): Date | null {
    const row = this.db.prepare('SELECT seen_at FROM daemon_heartbeat WHERE id = 1').get() as
      | { seen_at: string }
      | undefined;
    return row ? new Date(row.seen_at) : null;
  }

  /** Each schedule's newest slot and newest outcome, two index lookups each, in one read transaction. */
  slotSummaries(schedules: readonly string[]): Map<string, SlotSummary> {
    const summaries = new Map<string, SlotSummary>();
    this.db.transaction(() => {
      for (const schedule of schedules) {
        const newest = this.statements.newest.get(schedule) as Row | undefined;
        if (!newest) continue;
        const outcome = this.statements.newestOutcome.get(schedule) as Row | undefined;
        summaries.set(schedule, {
          newest: { state: newest.state as SlotState, fireAt: new Date(newest.fire_at as string) },
          outcome: outcome
            ? {
                state: outcome.state as SlotState,
                buildStatus: (outcome.build_status as string | null) ?? null,
              }
            : null,
        });
      }
    })();
    return summaries;
  }

  /** Refuses every write from now on, as a read-only mount or a full disk does (tests of readiness). */
  refuseWrites(): void {
    this.db.pragma('query_only = ON');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
