/**
 * `ledger copy --to postgres://…`: moves a SQLite ledger into PostgreSQL (README, "Several
 * instances on PostgreSQL"). Both schemas are parallel (`ledger-pg-schema.ts`), so every row of
 * every table moves as it is, ids included, in one PostgreSQL transaction; the target must be
 * empty (a second copy never merges two ledgers).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { scrubPassword } from '../core/database-url.ts';
import { LedgerError } from '../core/errors.ts';
import { openLedger } from './ledger.ts';
import { openPgLedger } from './ledger-pg.ts';

/** Tables copied, parents first (attempts refer to slots). */
const TABLES = ['marks', 'slots', 'attempts', 'daemon_heartbeat', 'chain_marks'] as const;
/** Tables with an identity column to move past the copied ids. */
const IDENTITIES = ['slots', 'attempts'] as const;
/** Rows per INSERT (one JSON array each). */
const CHUNK = 5000;

export type CopyCounts = Record<(typeof TABLES)[number], number>;

/**
 * Copies the ledger file at `file` (brought up to this program's schema first, as a daemon
 * would) into the PostgreSQL database at `url` (its schema created). Throws `ERR_LEDGER_NOT_EMPTY`
 * when any of its tables holds a row (a ledger, or a daemon started on it); nothing is written then. Returns rows per table.
 */
export async function copyLedgerToPostgres(file: string, url: string): Promise<CopyCounts> {
  openLedger(file).close();
  const target = await openPgLedger(url, { instance: 'ledger-copy' });
  const location = target.location;
  await target.close();
  const source = new Database(file, { readonly: true, fileMustExist: true });
  const client = new pg.Client({ connectionString: url, application_name: 'codeship-cron:copy' });
  const counts = {
    marks: 0,
    slots: 0,
    attempts: 0,
    daemon_heartbeat: 0,
    chain_marks: 0,
  } as CopyCounts;
  try {
    await client.connect();
    await client.query('BEGIN');
    const held: string[] = [];
    for (const table of TABLES) {
      const found = await client.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS held`);
      if (found.rows[0]?.held === true) held.push(table);
    }
    if (held.length > 0) {
      // A daemon started on it writes daemon_heartbeat (and chain_marks) before any slot.
      const daemon = held.every((t) => t === 'daemon_heartbeat' || t === 'chain_marks')
        ? ': a daemon has run on it'
        : '';
      throw new LedgerError(
        'ERR_LEDGER_NOT_EMPTY',
        `${location} already holds a ledger (rows in ${held.join(', ')}${daemon}); copy only into an empty database, with no daemon running on it`,
      );
    }
    for (const table of TABLES) {
      const read = source.prepare(`SELECT * FROM ${table} ORDER BY 1`);
      let batch: unknown[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await client.query(
          `INSERT INTO ${table} SELECT * FROM json_populate_recordset(null::${table}, $1::json)`,
          [JSON.stringify(batch)],
        );
        counts[table] += batch.length;
        batch = [];
      };
      for (const row of read.iterate()) {
        batch.push(row);
        if (batch.length >= CHUNK) await flush();
      }
      await flush();
    }
    for (const table of IDENTITIES) {
      await client.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE(max(id), 0) + 1, false) FROM ${table}`,
      );
    }
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof LedgerError) throw error;
    throw new LedgerError(
      'ERR_LEDGER_COPY',
      `cannot copy ${file} to ${location}: ${scrubPassword((error as Error).message, url)}`,
    );
  } finally {
    source.close();
    await client.end().catch(() => undefined);
  }
}
