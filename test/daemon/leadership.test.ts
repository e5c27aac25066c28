/**
 * Leadership by the PostgreSQL lease (daemon/leadership.ts) on a real server, with the lease's
 * timings shortened: one leader at a time; a leader whose renewals stop getting through gives up
 * leading before its lease can expire elsewhere; the standby then takes over with a new epoch.
 */
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { openPgLedger, type PgLedger } from '../../src/adapters/ledger-pg.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import { LeaseLeadership } from '../../src/daemon/leadership.ts';
import { usePostgres } from '../helpers/stores.ts';

const server = usePostgres();
const TIMINGS = {
  ttlMs: 1500,
  renewEveryMs: 250,
  safetyMarginMs: 500,
  standbyPollMs: 100,
  cooldownMs: 1500,
};
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function instance(url: string, name: string, logger = createLogger({ level: 'silent' })) {
  const ledger: PgLedger = await openPgLedger(url, { instance: name });
  const leadership = new LeaseLeadership(ledger.lease, logger, TIMINGS);
  const changes: string[] = [];
  leadership.onChange((leading, reason) => changes.push(`${leading ? 'led' : 'lost'}: ${reason}`));
  const controller = new AbortController();
  const running = leadership.run(controller.signal);
  cleanups.push(async () => {
    controller.abort();
    await running;
    await ledger.close();
  });
  const stop = () => {
    controller.abort();
    return running;
  };
  return { ledger, leadership, changes, stop };
}

const until = async (what: string, predicate: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

it('gives up leading before its lease can expire when renewals stop getting through', async () => {
  const url = await server().createDatabase('leadership');
  const a = await instance(url, 'a');
  await until('a leads', () => a.leadership.isLeader());
  const b = await instance(url, 'b');
  await until('b sees a', () => b.leadership.leader()?.holder === 'a');
  expect(b.leadership.isLeader()).toBe(false);
  expect(a.leadership.epoch()).toBe(1);

  // Another session holds the lease row: A's renewals (and B's tries) wait behind it.
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  cleanups.push(() => blocker.end());
  await blocker.query('BEGIN');
  const held = await blocker.query(
    'SELECT expires_at, clock_timestamp() AS now FROM leader_lease WHERE id = 1 FOR UPDATE',
  );
  const expiresAtMs = new Date(held.rows[0].expires_at).getTime();
  await until('a stops leading', () => !a.leadership.isLeader(), TIMINGS.ttlMs + 1000);
  const lostAtMs = Date.now();
  expect(a.changes).toEqual(['led: no leader yet', 'lost: lease not renewed in time']);
  // Stopped before the lease could expire elsewhere (the same machine's clock as the server's).
  expect(lostAtMs).toBeLessThan(expiresAtMs);
  await blocker.query('ROLLBACK');

  await until('b leads', () => b.leadership.isLeader(), TIMINGS.ttlMs + 2000);
  expect(b.leadership.epoch()).toBe(2);
  expect(b.changes).toEqual([expect.stringMatching(/^led: lease of a \(epoch 1\)/)]);
  // A stays a standby for its cool-down, and sees B lead.
  await until('a sees b', () => a.leadership.leader()?.holder === 'b');
  expect(a.leadership.isLeader()).toBe(false);

  // B stops (SIGTERM): it releases the lease, and A takes it at once, with a new epoch.
  const stoppedAt = Date.now();
  await b.stop();
  await until('a leads again', () => a.leadership.isLeader(), TIMINGS.cooldownMs + 1000);
  expect(a.leadership.epoch()).toBe(3);
  expect(Date.now() - stoppedAt).toBeLessThan(TIMINGS.cooldownMs + 500);
});

it('says once that the lease is unreachable while the database refuses it, and when it is back', async () => {
  const url = await server().createDatabase('outage');
  const database = new URL(url).pathname.slice(1);
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  const b = await instance(url, 'b');
  await until('b leads', () => b.leadership.isLeader());
  const a = await instance(url, 'a', logger);
  await until('a sees b', () => a.leadership.leader()?.holder === 'b');
  // The database refuses new connections and A's are cut; B hands the lease back and stops.
  await server().query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
  cleanups.push(async () => {
    await server().query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
  });
  await server().query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
    ['codeship-cron:a'],
  );
  await b.stop();
  await new Promise((resolve) => setTimeout(resolve, 20 * TIMINGS.standbyPollMs));
  await server().query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
  await until('a leads', () => a.leadership.isLeader());
  const said = (msg: string) => lines.filter((line) => line.msg === msg);
  expect(said('leader lease unreachable; retrying every poll')).toHaveLength(1);
  expect(said('leader lease still unreachable').length).toBeGreaterThan(5);
  expect(said('leader lease reachable again')).toHaveLength(1);
  expect(said('leadership acquired')).toHaveLength(1);
});
