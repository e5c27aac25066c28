/**
 * The PostgreSQL ledger (DATABASE_URL): the same rows, states and transactions as the SQLite
 * store (`ledger.ts`), shared by several daemons on different hosts. Every read-then-write is one
 * transaction whose UPDATE re-checks its condition on the locked row (READ COMMITTED re-evaluates
 * a WHERE after waiting for a concurrent writer), so two processes never both claim a slot, an
 * attempt or a build. Writes that lead to a create are fenced by the leader lease (ports.ts
 * `LeaseStore`): they prove, in the same transaction, that this process still holds the lease.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { SlotSummary } from '../core/attention.ts';
import { maskDatabaseUrl, scrubPassword } from '../core/database-url.ts';
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
import type { Lease, LeaseStore, LedgerStore, SlotCount } from '../ports.ts';
import {
  MIGRATION_LOCK_KEY,
  PG_EXTRA_TABLES,
  PG_MIGRATIONS,
  PG_VERSION_TABLE,
} from './ledger-pg-schema.ts';
import { dateOrNull, iso, newRecord, type Row, toSlot } from './ledger-rows.ts';

type Db = pg.Pool | pg.PoolClient;

/** Slots inserted per statement (each row binds through arrays: 10 arrays, any length). */
const INSERT_CHUNK = 5000;
/** A lease statement slower than this counts as a failed one (its connection is dropped). */
const LEASE_QUERY_TIMEOUT_MS = 4000;
/** `application_name` of this process's connections (pg_stat_activity shows which daemon is which). */
const applicationName = (instance: string) => `codeship-cron:${instance}`.slice(0, 63);
/** How long a connection attempt may take before the store reports the database unreachable. */
const CONNECT_TIMEOUT_MS = 5000;

function toLease(row: Row | undefined): Lease | null {
  if (!row) return null;
  return {
    holder: row.holder as string,
    epoch: Number(row.epoch),
    acquiredAt: new Date(row.acquired_at as string | Date),
    expiresAt: new Date(row.expires_at as string | Date),
  };
}

/** The error raised by a fenced write of a process that does not hold the lease. */
export function notLeader(what: string): LedgerError {
  return new LedgerError(
    'ERR_LEDGER_NOT_LEADER',
    `${what} refused: this instance does not hold the leader lease`,
  );
}

export interface PgLedgerOptions {
  /** This process's name in the leader lease and in `application_name`. */
  instance?: string;
}

/**
 * Opens the PostgreSQL ledger at `url` and brings its schema up to date (in one transaction,
 * serialized by an advisory lock when several daemons start at once). A schema newer than this
 * program is refused before anything is written. Errors never contain the URL's password.
 */
export async function openPgLedger(url: string, options: PgLedgerOptions = {}): Promise<PgLedger> {
  const location = maskDatabaseUrl(url);
  const instance = options.instance ?? 'codeship-cron';
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: applicationName(instance),
  });
  // An idle connection the server closed (restart, pg_terminate_backend) is dropped by the pool
  // and replaced on the next query; without a listener its error would end the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    const onError = () => undefined; // the query under way fails; see `transaction`
    client.on('error', onError);
    try {
      await migrate(client, location);
      await client.query(PG_EXTRA_TABLES);
    } finally {
      client.off('error', onError);
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof LedgerError) throw error;
    throw new LedgerError(
      'ERR_LEDGER_OPEN',
      `cannot open ledger ${location}: ${scrubPassword((error as Error).message, url)}`,
    );
  }
  return new PgLedger(pool, url, instance);
}

async function migrate(client: pg.PoolClient, location: string): Promise<void> {
  const tooNew = (version: number) =>
    new LedgerError(
      'ERR_LEDGER_TOO_NEW',
      `${location}: ledger schema version ${version} is newer than this codeship-cron knows (${PG_MIGRATIONS.length}); upgrade codeship-cron`,
    );
  // Read first, write nothing: a newer schema is refused untouched.
  const readVersion = async () => {
    const exists = await client.query("SELECT to_regclass('schema_version') IS NOT NULL AS e");
    if (!exists.rows[0]?.e) return 0;
    const row = await client.query('SELECT version FROM schema_version WHERE id = 1');
    return (row.rows[0]?.version as number | undefined) ?? 0;
  };
  const before = await readVersion();
  if (before > PG_MIGRATIONS.length) throw tooNew(before);
  if (before === PG_MIGRATIONS.length) return;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(PG_VERSION_TABLE);
    const version = await readVersion();
    if (version > PG_MIGRATIONS.length) throw tooNew(version);
    for (let next = version; next < PG_MIGRATIONS.length; next += 1) {
      await client.query(PG_MIGRATIONS[next] as string);
    }
    await client.query(
      `INSERT INTO schema_version (id, version) VALUES (1, $1)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
      [PG_MIGRATIONS.length],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A new slot's columns (schedule, slot_at, branch, manual, project, state, reason, fire_at,
 * next_attempt_at), with `slotAt` as its instant: one place for both inserts.
 */
function slotValues(slot: NewSlot, slotAt: Date): unknown[] {
  const fireAt = iso(slot.fireAt);
  return [
    slot.schedule,
    iso(slotAt),
    slot.branch,
    slot.manual ? 1 : 0,
    slot.project,
    slot.state,
    slot.reason ?? null,
    fireAt,
    slot.state === 'pending' ? fireAt : null,
  ];
}

/** The PostgreSQL store of the ledger port (ports.ts `LedgerStore`), with its leader lease. */
export class PgLedger implements LedgerStore {
  readonly location: string;
  readonly lease: LeaseStore;
  private readonly pool: pg.Pool;
  private readonly url: string;
  private closed = false;
  /** null: no lease in play (one-shot commands); otherwise the lease this process holds, if any. */
  private fence: { token: string; epoch: number | null } | null = null;
  private leaseClient: pg.Client | null = null;
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private readonly applicationName: string;

  constructor(pool: pg.Pool, url: string, instance: string) {
    this.pool = pool;
    this.url = url;
    this.location = maskDatabaseUrl(url);
    this.applicationName = applicationName(instance);
    const token = randomUUID();
    this.lease = {
      holder: instance,
      acquireLease: async (ttlMs) => {
        this.fence ??= { token, epoch: null };
        // A free or expired lease (or one this very process held) changes hands: a new epoch.
        const { rows } = await this.leaseQuery(
          `INSERT INTO leader_lease (id, holder, token, epoch, acquired_at, expires_at)
           VALUES (1, $1, $2, 1, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, token = excluded.token,
             epoch = leader_lease.epoch + 1, acquired_at = excluded.acquired_at,
             expires_at = excluded.expires_at
           WHERE leader_lease.expires_at <= clock_timestamp() OR leader_lease.token = excluded.token
           RETURNING holder, epoch, acquired_at, expires_at`,
          [instance, token, ttlMs],
        );
        const lease = toLease(rows[0]);
        this.fence = { token, epoch: lease?.epoch ?? null };
        return lease;
      },
      renewLease: async (ttlMs) => {
        const epoch = this.fence?.epoch ?? null;
        if (epoch === null) return null;
        const { rows } = await this.leaseQuery(
          `UPDATE leader_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
           WHERE id = 1 AND token = $1 AND epoch = $2 AND expires_at > clock_timestamp()
           RETURNING holder, epoch, acquired_at, expires_at`,
          [token, epoch, ttlMs],
        );
        const lease = toLease(rows[0]);
        if (!lease && this.fence) this.fence.epoch = null;
        return lease;
      },
      releaseLease: async () => {
        if (this.fence) this.fence.epoch = null;
        // By this process's token alone: whatever epoch it held, and never another's lease. On
        // the lease's own connection: after a cut it is a fresh one, where the pool may still
        // hold dead ones.
        await this.leaseQuery(
          `UPDATE leader_lease SET expires_at = clock_timestamp()
           WHERE id = 1 AND token = $1 AND expires_at > clock_timestamp()`,
          [token],
        );
      },
      dropLease: () => {
        this.fence ??= { token, epoch: null };
        this.fence.epoch = null;
      },
      currentLease: async () => {
        const { rows } = await this.leaseQuery(
          'SELECT holder, epoch, acquired_at, expires_at FROM leader_lease WHERE id = 1',
        );
        return toLease(rows[0]);
      },
      onLost: (listener) => {
        this.lostListeners.push(listener);
      },
    };
  }

  /**
   * Lease statements run on their own connection: when it drops (the database restarted, the
   * network cut it, pg_terminate_backend), the lease counts as lost at once, fenced writes fail,
   * and the next acquisition (a new connection) is a new epoch.
   */
  private async leaseQuery(sql: string, params: unknown[] = []) {
    let client = this.leaseClient;
    if (!client) {
      const fresh = new pg.Client({
        connectionString: this.url,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        keepAlive: true,
        application_name: this.applicationName,
        query_timeout: LEASE_QUERY_TIMEOUT_MS,
      });
      const dropped = (why: string) => {
        if (this.leaseClient !== fresh) return;
        this.leaseClient = null;
        fresh.end().catch(() => undefined);
        if (this.fence && this.fence.epoch !== null) {
          this.fence.epoch = null;
          for (const listener of this.lostListeners) listener(why);
        }
      };
      fresh.on('error', (error) =>
        dropped(`lease connection lost: ${scrubPassword(error.message, this.url)}`),
      );
      fresh.on('end', () => dropped('lease connection closed'));
      try {
        await fresh.connect();
      } catch (error) {
        fresh.end().catch(() => undefined);
        throw this.scrub(error);
      }
      this.leaseClient = fresh;
      client = fresh;
    }
    try {
      return await client.query(sql, params);
    } catch (error) {
      // A timed-out or failed lease statement: this connection is no longer trusted.
      if (this.leaseClient === client) client.emit('error', error);
      throw this.scrub(error);
    }
  }

  /** Runs `work` in one transaction; a fenced one first proves the lease (ports.ts LeaseStore). */
  private async transaction<T>(
    work: (db: pg.PoolClient) => Promise<T>,
    fenced?: string,
  ): Promise<T> {
    const fence = this.fence;
    if (fenced && fence && fence.epoch === null) throw notLeader(fenced);
    const client = await this.pool.connect();
    let broken = false;
    // The server may end the connection while it is checked out (pg_terminate_backend, a restart)
    // between two queries: the pool listens only while a client is idle, and an 'error' nobody
    // hears would end the process. The next query fails instead; the client is then discarded.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      if (fenced && fence) {
        // FOR SHARE: a takeover (an UPDATE of the lease row) waits until this commits, so an
        // intent written here is visible to the next leader's first look at the ledger.
        const { rowCount } = await client.query(
          `SELECT 1 FROM leader_lease WHERE id = 1 AND token = $1 AND epoch = $2
             AND expires_at > clock_timestamp() FOR SHARE`,
          [fence.token, fence.epoch],
        );
        if (rowCount !== 1) {
          fence.epoch = null;
          throw notLeader(fenced);
        }
      }
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.scrub(error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** A query outside a transaction, its error without the password. */
  private async query(sql: string, params: unknown[] = [], db: Db = this.pool) {
    try {
      return await db.query(sql, params);
    } catch (error) {
      throw this.scrub(error);
    }
  }

  private scrub(error: unknown): unknown {
    if (error instanceof Error && !(error instanceof LedgerError)) {
      error.message = scrubPassword(error.message, this.url);
    }
    return error;
  }

  async marks(): Promise<Map<string, Date>> {
    const { rows } = await this.query('SELECT schedule, slot_at FROM marks');
    return new Map(rows.map((row) => [row.schedule as string, new Date(row.slot_at as string)]));
  }

  /** As the SQLite store: marks advanced and slots inserted in one transaction; returns only the inserted rows. */
  async recordSlots(
    slots: readonly NewSlot[],
    marks: ReadonlyMap<string, Date>,
    now: Date,
  ): Promise<SlotRecord[]> {
    const nowText = iso(now);
    return this.transaction(async (db) => {
      // Every mark in one statement (a burst moves 10,000): RETURNING names the marks that moved.
      const blocked = new Set<string>();
      if (marks.size > 0) {
        const names = [...marks.keys()];
        const { rows } = await db.query(
          `INSERT INTO marks (schedule, slot_at)
           SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (schedule) DO UPDATE SET slot_at = excluded.slot_at
           WHERE marks.slot_at < excluded.slot_at
           RETURNING schedule`,
          [names, names.map((name) => iso(marks.get(name) as Date))],
        );
        const moved = new Set(rows.map((row) => row.schedule as string));
        for (const name of names) if (!moved.has(name)) blocked.add(name);
      }
      const wanted = slots.filter((s) => !blocked.has(s.schedule) && !s.cause);
      const inserted: SlotRecord[] = [];
      for (const slot of slots) {
        if (!slot.cause || blocked.has(slot.schedule)) continue;
        const chained = await this.insertChainSlot(db, slot, nowText, now);
        if (chained) inserted.push(chained);
      }
      for (let start = 0; start < wanted.length; start += INSERT_CHUNK) {
        const chunk = wanted.slice(start, start + INSERT_CHUNK);
        const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
        for (const slot of chunk) {
          slotValues(slot, slot.slotAt).forEach((value, i) => {
            columns[i]?.push(value);
          });
        }
        const { rows } = await db.query(
          `INSERT INTO slots (schedule, slot_at, branch, manual, project, state, reason, fire_at,
             next_attempt_at, created_at, updated_at)
           SELECT s, a, b, m, p, st, r, f, n, $10, $10
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],
             $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS u(s, a, b, m, p, st, r, f, n, k)
           ORDER BY k
           ON CONFLICT DO NOTHING
           RETURNING id, schedule, slot_at, branch`,
          [...columns, nowText],
        );
        const ids = new Map(
          rows.map((row) => [`${row.schedule}\u0000${row.slot_at}\u0000${row.branch}`, row.id]),
        );
        for (const slot of chunk) {
          const id = ids.get(`${slot.schedule}\u0000${iso(slot.slotAt)}\u0000${slot.branch}`);
          if (id !== undefined) inserted.push(newRecord(id as number, slot, now));
        }
      }
      return inserted;
    }, 'recording slots');
  }

  /**
   * A chain's slot, once per (schedule, upstream build, branch), as the SQLite store: two
   * upstream builds that finished in the same millisecond move the later one on by 1 ms.
   */
  private async insertChainSlot(
    db: Db,
    slot: NewSlot,
    nowText: string,
    now: Date,
  ): Promise<SlotRecord | null> {
    const cause = slot.cause as ChainCause;
    const exists = await db.query(
      'SELECT 1 FROM slots WHERE schedule = $1 AND upstream_build = $2 AND branch = $3',
      [slot.schedule, cause.build, slot.branch],
    );
    if (exists.rows.length > 0) return null;
    for (let bump = 0; bump < 1000; bump += 1) {
      const slotAt = new Date(slot.slotAt.getTime() + bump);
      const { rows } = await db.query(
        `INSERT INTO slots (schedule, slot_at, branch, manual, project, state, reason, fire_at,
           next_attempt_at, created_at, updated_at, upstream_build, cause)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)
         ON CONFLICT DO NOTHING
         RETURNING id`,
        [...slotValues(slot, slotAt), nowText, cause.build, JSON.stringify(cause)],
      );
      if (rows[0]) return newRecord(rows[0].id as number, { ...slot, slotAt }, now);
    }
    throw new LedgerError(
      'ERR_LEDGER_CHAIN',
      `cannot record a slot of ${slot.schedule} for upstream build ${cause.build}: 1000 slots share its instant`,
    );
  }

  async armChains(
    chains: readonly { name: string; upstreams: string }[],
    now: Date,
  ): Promise<Map<string, Date>> {
    const armed = new Map<string, Date>();
    if (chains.length === 0) return armed;
    const names = chains.map((c) => c.name);
    const { rows } = await this.transaction(async (db) => {
      await db.query(
        `INSERT INTO chain_marks (schedule, upstreams, armed_at)
         SELECT n, u, $3 FROM unnest($1::text[], $2::text[]) AS t(n, u)
         ON CONFLICT (schedule) DO UPDATE SET upstreams = excluded.upstreams, armed_at = excluded.armed_at
         WHERE chain_marks.upstreams <> excluded.upstreams`,
        [names, chains.map((c) => c.upstreams), iso(now)],
      );
      return db.query(
        'SELECT schedule, armed_at FROM chain_marks WHERE schedule = ANY($1::text[])',
        [names],
      );
    });
    for (const row of rows) armed.set(row.schedule as string, new Date(row.armed_at as string));
    return armed;
  }

  async chainState(
    schedule: string,
    uuids: readonly string[],
  ): Promise<{ handled: Set<string>; lastFireAt: Date | null }> {
    const handled = await this.query(
      `SELECT DISTINCT upstream_build FROM slots
       WHERE schedule = $1 AND upstream_build = ANY($2::text[])`,
      [schedule, [...uuids]],
    );
    const last = await this.query(
      'SELECT MAX(slot_at) AS last FROM slots WHERE schedule = $1 AND upstream_build IS NOT NULL',
      [schedule],
    );
    const lastText = last.rows[0]?.last as string | null | undefined;
    return {
      handled: new Set(handled.rows.map((row) => row.upstream_build as string)),
      lastFireAt: lastText ? new Date(lastText) : null,
    };
  }

  async get(id: number): Promise<SlotRecord | null> {
    const { rows } = await this.query('SELECT * FROM slots WHERE id = $1', [id]);
    return rows[0] ? toSlot(rows[0]) : null;
  }

  async beginAttempt(
    id: number,
    projectUuid: string,
    expectedAttempts: number,
    now: Date,
    estimate: ClockEstimate | null = null,
  ): Promise<number | null> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query(
        `UPDATE slots SET attempts = attempts + 1, intent_at = COALESCE(intent_at, $4),
           last_attempt_at = $4, outcome_unknown = 1, project_uuid = $2, updated_at = $4
         WHERE id = $1 AND state = 'pending' AND attempts = $3 AND (outcome_unknown = 0 OR attempts > 0)`,
        [id, projectUuid, expectedAttempts, iso(now)],
      );
      if (rowCount === 0) return null;
      const { rows } = await db.query(
        `INSERT INTO attempts (slot_id, sent_at, result, offset_lo_ms, offset_hi_ms)
         VALUES ($1, $2, 'sending', $3, $4) RETURNING id`,
        [id, iso(now), estimate?.loMs ?? null, estimate?.hiMs ?? null],
      );
      return rows[0]?.id as number;
    }, 'a create attempt');
  }

  async touchAttempt(slotId: number, attemptId: number, now: Date): Promise<void> {
    await this.transaction(async (db) => {
      await db.query('UPDATE attempts SET sent_at = $1 WHERE id = $2', [iso(now), attemptId]);
      await db.query(
        `UPDATE slots SET last_attempt_at = $1, updated_at = $1,
           intent_at = CASE WHEN attempts = 1 THEN $1 ELSE intent_at END
         WHERE id = $2`,
        [iso(now), slotId],
      );
    }, 'a create sent again');
  }

  async finishAttempt(
    attemptId: number,
    slotId: number,
    result: AttemptResult,
    details: { now: Date; error?: string; retryAt?: Date; estimate?: ClockEstimate | null },
  ): Promise<void> {
    const now = iso(details.now);
    const error = details.error ?? null;
    const sql = {
      accepted: `UPDATE slots SET state = 'triggered', triggered_at = $2, outcome_unknown = 0, error = NULL,
                   updated_at = $2 WHERE id = $1 AND state = 'pending'`,
      unknown: `UPDATE slots SET outcome_unknown = 1, error = $3, updated_at = $2
                  WHERE id = $1 AND state = 'pending'`,
      rejected: `UPDATE slots SET state = 'failed', reason = $3, error = $3, outcome_unknown = 0,
                   updated_at = $2 WHERE id = $1 AND state = 'pending'`,
      not_sent: `UPDATE slots SET attempts = attempts - 1, outcome_unknown = 0, error = $3,
                   intent_at = CASE WHEN attempts = 1 THEN NULL ELSE intent_at END,
                   next_attempt_at = $4, updated_at = $2 WHERE id = $1 AND state = 'pending'`,
    }[result];
    await this.transaction(async (db) => {
      await db.query(
        `UPDATE attempts SET result = $1, error = $2, answered_at = $3,
           offset_lo_ms = COALESCE($4, offset_lo_ms), offset_hi_ms = COALESCE($5, offset_hi_ms)
         WHERE id = $6`,
        [
          result,
          error,
          now,
          details.estimate?.loMs ?? null,
          details.estimate?.hiMs ?? null,
          attemptId,
        ],
      );
      // Each statement binds exactly the parameters it names.
      const params: unknown[] = [slotId, now];
      if (result !== 'accepted') params.push(error);
      if (result === 'not_sent') params.push(details.retryAt ? iso(details.retryAt) : now);
      await db.query(sql, params);
    });
  }

  async postpone(id: number, retryAt: Date, message: string): Promise<void> {
    await this.query(
      "UPDATE slots SET next_attempt_at = $1, error = $2 WHERE id = $3 AND state = 'pending'",
      [iso(retryAt), message, id],
    );
  }

  async markResend(id: number, now: Date): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query(
        `UPDATE slots SET outcome_unknown = 0, next_attempt_at = $2, updated_at = $2
         WHERE id = $1 AND state = 'pending' AND outcome_unknown = 1 AND attempts = 1`,
        [id, iso(now)],
      );
      return rowCount === 1;
    }, 'a re-send');
  }

  async dueSends(now: Date, limit = 1000): Promise<SlotRecord[]> {
    const { rows } = await this.query(
      `SELECT * FROM slots WHERE state = 'pending' AND outcome_unknown = 0 AND next_attempt_at <= $1
       ORDER BY fire_at, id LIMIT $2`,
      [iso(now), limit],
    );
    return rows.map(toSlot);
  }

  async supersedeBacklog(now: Date, inFlight: Iterable<number> = []): Promise<SlotRecord[]> {
    return this.transaction(async (db) => {
      const { rows } = await db.query(
        `UPDATE slots SET state = 'skipped', reason = '${SUPERSEDED_REASON}', updated_at = $1
         WHERE state = 'pending' AND outcome_unknown = 0 AND attempts = 0 AND manual = 0
           AND upstream_build IS NULL
           AND id <> ALL($2::int[])
           AND EXISTS (
             SELECT 1 FROM slots AS newer
             WHERE newer.schedule = slots.schedule AND newer.branch = slots.branch
               AND newer.slot_at > slots.slot_at AND newer.manual = 0
               AND newer.upstream_build IS NULL
               AND newer.fire_at <= $1 AND newer.state <> 'skipped')
         RETURNING *`,
        [iso(now), [...inFlight]],
      );
      return rows.map(toSlot);
    });
  }

  async sendBacklog(): Promise<number> {
    if (this.closed) return 0;
    const { rows } = await this.query(
      "SELECT count(*)::int AS n FROM slots WHERE state = 'pending' AND outcome_unknown = 0",
    );
    return rows[0]?.n as number;
  }

  async openSlots(): Promise<SlotRecord[]> {
    const { rows } = await this.query(
      `SELECT * FROM slots
       WHERE state IN ('pending', 'triggered', 'running')
         AND NOT (state = 'pending' AND outcome_unknown = 0)
       ORDER BY id`,
    );
    return rows.map(toSlot);
  }

  async knownBuildUuids(uuids: readonly string[]): Promise<Set<string>> {
    if (uuids.length === 0) return new Set();
    const { rows } = await this.query(
      'SELECT build_uuid FROM slots WHERE build_uuid = ANY($1::text[])',
      [[...uuids]],
    );
    return new Set(rows.map((row) => row.build_uuid as string));
  }

  async claimBuild(
    id: number,
    build: BuildSeen,
    now: Date,
    claim: string | null = null,
  ): Promise<boolean> {
    try {
      const { rowCount } = await this.pool.query(
        `UPDATE slots SET build_uuid = $2, build_status = $3, build_queued_at = $4,
           commit_sha = $5, claim = $6, finished_at = $7, state = $8, outcome_unknown = 0,
           triggered_at = COALESCE(triggered_at, $9), error = NULL, updated_at = $9
         WHERE id = $1 AND build_uuid IS NULL AND state IN ('pending', 'triggered')`,
        [
          id,
          build.uuid,
          build.status,
          build.queuedAt ? iso(build.queuedAt) : iso(now),
          build.commitSha ?? null,
          claim,
          build.final ? iso(build.finishedAt ?? now) : null,
          build.final ? 'finished' : 'running',
          iso(now),
        ],
      );
      return rowCount === 1;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return false; // unique_violation
      throw this.scrub(error);
    }
  }

  async updateBuild(
    id: number,
    build: Omit<BuildSeen, 'uuid' | 'queuedAt'>,
    now: Date,
  ): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE slots SET build_status = $2, state = $3, finished_at = $4, updated_at = $5
       WHERE id = $1 AND state = 'running'`,
      [
        id,
        build.status,
        build.final ? 'finished' : 'running',
        build.final ? iso(build.finishedAt ?? now) : null,
        iso(now),
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  async loseBuild(id: number, reason: string, now: Date): Promise<boolean> {
    const result = await this.query(
      `UPDATE slots SET state = 'failed', reason = $2, error = $2, updated_at = $3
       WHERE id = $1 AND state = 'running'`,
      [id, reason, iso(now)],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async closeSlot(
    id: number,
    state: 'skipped' | 'failed',
    reason: string,
    now: Date,
  ): Promise<void> {
    await this.query(
      `UPDATE slots SET state = $2, reason = $3, error = CASE WHEN $2 = 'failed' THEN $3 ELSE error END,
         outcome_unknown = 0, updated_at = $4
       WHERE id = $1 AND state IN ('pending', 'triggered')`,
      [id, state, reason, iso(now)],
    );
  }

  async previousBuildSlot(
    schedule: string,
    branch: string,
    excludeId: number,
  ): Promise<SlotRecord | null> {
    const { rows } = await this.query(
      `SELECT * FROM slots WHERE schedule = $1 AND branch = $2 AND id <> $3
         AND state IN ('triggered', 'running', 'finished')
       ORDER BY slot_at DESC, id DESC LIMIT 1`,
      [schedule, branch, excludeId],
    );
    return rows[0] ? toSlot(rows[0]) : null;
  }

  async recentFinished(limit: number): Promise<SlotRecord[]> {
    const { rows } = await this.query(
      `SELECT * FROM (SELECT * FROM slots WHERE state = 'finished' AND build_uuid IS NOT NULL
         ORDER BY id DESC LIMIT $1) AS recent ORDER BY id`,
      [limit],
    );
    return rows.map(toSlot);
  }

  async listSlots(options: { schedule?: string | null; limit: number }): Promise<SlotRecord[]> {
    const { rows } = await this.query(
      `SELECT * FROM slots WHERE ($1::text IS NULL OR schedule = $1)
       ORDER BY slot_at DESC, id DESC LIMIT $2`,
      [options.schedule ?? null, options.limit],
    );
    return rows.map(toSlot);
  }

  async scheduleNames(): Promise<string[]> {
    const { rows } = await this.query('SELECT DISTINCT schedule FROM slots ORDER BY schedule');
    return rows.map((row) => row.schedule as string);
  }

  async attemptsOf(id: number): Promise<AttemptRecord[]> {
    const { rows } = await this.query(
      `SELECT sent_at, answered_at, result, error, offset_lo_ms, offset_hi_ms
       FROM attempts WHERE slot_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map((row) => ({
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

  async recentSlotsOf(
    schedules: readonly string[],
    limit: number,
    only?: 'outcomes' | 'builds',
  ): Promise<Map<string, SlotRecord[]>> {
    const filter = {
      all: '',
      outcomes: "AND s.state IN ('finished', 'failed')",
      builds: "AND s.state = 'finished' AND s.build_uuid IS NOT NULL",
    }[only ?? 'all'];
    const { rows } = await this.query(
      `SELECT r.* FROM unnest($1::text[]) WITH ORDINALITY AS n(name, k)
       CROSS JOIN LATERAL (
         SELECT s.* FROM slots AS s WHERE s.schedule = n.name ${filter}
         ORDER BY s.slot_at DESC, s.id DESC LIMIT $2) AS r
       ORDER BY n.k, r.slot_at DESC, r.id DESC`,
      [[...schedules], limit],
    );
    const bySchedule = new Map<string, SlotRecord[]>();
    for (const row of rows) {
      const slot = toSlot(row);
      const list = bySchedule.get(slot.schedule);
      if (list) list.push(slot);
      else bySchedule.set(slot.schedule, [slot]);
    }
    return bySchedule;
  }

  async slotCounts(): Promise<SlotCount[]> {
    if (this.closed) return [];
    const { rows } = await this.query(
      `SELECT schedule, state, count(*)::int AS n,
         MAX(CASE WHEN state = 'finished' AND build_status = 'success' THEN finished_at END) AS last_success,
         MAX(CASE WHEN state = 'failed' OR (state = 'finished' AND COALESCE(build_status, '') <> 'success')
                  THEN COALESCE(finished_at, updated_at) END) AS last_failure
       FROM slots GROUP BY schedule, state`,
    );
    return rows.map((row) => ({
      schedule: row.schedule as string,
      state: row.state as string,
      n: row.n as number,
      lastSuccess: (row.last_success as string | null) ?? null,
      lastFailure: (row.last_failure as string | null) ?? null,
    }));
  }

  async heartbeat(now: Date): Promise<void> {
    await this.query(
      `INSERT INTO daemon_heartbeat (id, seen_at) VALUES (1, $1)
       ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`,
      [iso(now)],
    );
  }

  async lastHeartbeat(): Promise<Date | null> {
    const { rows } = await this.query('SELECT seen_at FROM daemon_heartbeat WHERE id = 1');
    return rows[0] ? new Date(rows[0].seen_at as string) : null;
  }

  async slotSummaries(schedules: readonly string[]): Promise<Map<string, SlotSummary>> {
    const { rows } = await this.query(
      `SELECT n.name, newest.state, newest.fire_at, outcome.state AS outcome_state,
         outcome.build_status AS outcome_build_status
       FROM unnest($1::text[]) AS n(name)
       CROSS JOIN LATERAL (SELECT state, fire_at FROM slots WHERE schedule = n.name
         ORDER BY slot_at DESC, id DESC LIMIT 1) AS newest
       LEFT JOIN LATERAL (SELECT state, build_status FROM slots
         WHERE schedule = n.name AND state IN ('finished', 'failed')
         ORDER BY slot_at DESC, id DESC LIMIT 1) AS outcome ON true`,
      [[...schedules]],
    );
    const summaries = new Map<string, SlotSummary>();
    for (const row of rows) {
      summaries.set(row.name as string, {
        newest: { state: row.state as SlotState, fireAt: new Date(row.fire_at as string) },
        outcome:
          row.outcome_state === null
            ? null
            : {
                state: row.outcome_state as SlotState,
                buildStatus: (row.outcome_build_status as string | null) ?? null,
              },
      });
    }
    return summaries;
  }

  async probeWrite(now: Date): Promise<void> {
    await this.query(
      `INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1)
       ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`,
      [iso(now)],
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.leaseClient;
    this.leaseClient = null;
    await lease?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
