/**
 * The ledger file against a sick disk and a neighbour: another process holding the write lock
 * never freezes this one, readiness proves that a write commits, and a ledger from a newer
 * version is refused without a byte of it changing. Real SQLite files throughout.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/adapters/ledger.ts';
import { BUSY_SLICE_MS, isLedgerBusy } from '../../src/adapters/ledger-busy.ts';
import { MIGRATIONS } from '../../src/adapters/ledger-schema.ts';
import { type HttpHarness, startHarness } from '../http/harness.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-hostile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const slot = (schedule: string, at: string) => ({
  schedule,
  slotAt: new Date(at),
  branch: 'main',
  project: 'acme/api',
  fireAt: new Date(at),
  state: 'pending' as const,
});

describe('a ledger locked by another process', () => {
  it('fails a write after a short slice instead of blocking the event loop for seconds', () => {
    const file = join(dir, 'ledger.sqlite');
    const ledger = openLedger(file);
    const other = new Database(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      other.prepare("INSERT INTO marks (schedule, slot_at) VALUES ('other', 'x')").run();
      const at = '2026-03-01T02:00:00.000Z';
      const started = performance.now();
      let error: unknown;
      try {
        ledger.recordSlots([slot('a', at)], new Map([['a', new Date(at)]]), new Date(at));
      } catch (caught) {
        error = caught;
      }
      const blockedMs = performance.now() - started;
      expect(isLedgerBusy(error)).toBe(true);
      expect(blockedMs).toBeLessThan(BUSY_SLICE_MS + 500);
      // Once the lock is gone the same write goes through.
      other.exec('COMMIT');
      expect(
        ledger.recordSlots([slot('a', at)], new Map([['a', new Date(at)]]), new Date(at)),
      ).toHaveLength(1);
    } finally {
      other.close();
      ledger.close();
    }
  });
});

describe('/readyz proves that a write commits', () => {
  let harness: HttpHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('is not ready, quickly, while another process holds the lock, nor when writes fail', async () => {
    harness = await startHarness();
    expect((await harness.request('/readyz')).status).toBe(200);
    const other = new Database(harness.ledger.file);
    try {
      other.exec('BEGIN IMMEDIATE');
      other.prepare("INSERT INTO marks (schedule, slot_at) VALUES ('other', 'x')").run();
      const started = performance.now();
      const locked = await harness.request('/readyz');
      expect(performance.now() - started).toBeLessThan(1000);
      expect(locked.status).toBe(503);
      expect((locked.json as { checks: { ledger: string } }).checks.ledger).toMatch(
        /^ledger .*ledger\.sqlite cannot commit a write: database is locked$/,
      );
      // Health (liveness) never waits for the ledger.
      const health = performance.now();
      expect((await harness.request('/healthz')).status).toBe(200);
      expect(performance.now() - health).toBeLessThan(1000);
      other.exec('ROLLBACK');
      expect((await harness.request('/readyz')).status).toBe(200);
    } finally {
      other.close();
    }
    // A ledger that refuses writes (as a full disk or a read-only mount does) is not ready either.
    harness.ledger.refuseWrites();
    const readOnly = await harness.request('/readyz');
    expect(readOnly.status).toBe(503);
    expect((readOnly.json as { checks: { ledger: string } }).checks.ledger).toMatch(
      /cannot commit a write: attempt to write a readonly database$/,
    );
  });
});

describe('a ledger from a newer version', () => {
  it('is refused without changing a byte of it (no WAL switch, no pragma)', () => {
    const file = join(dir, 'newer.sqlite');
    const newer = new Database(file);
    newer.exec('CREATE TABLE future (x INTEGER)');
    newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    newer.close();
    const before = sha256(file);
    const header = readFileSync(file).subarray(0, 100);
    expect(header[18]).toBe(1); // rollback journal, not WAL
    expect(() => openLedger(file)).toThrowError(
      `${file}: ledger schema version ${MIGRATIONS.length + 1} is newer than this codeship-cron knows (${MIGRATIONS.length}); upgrade codeship-cron`,
    );
    expect(sha256(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
  });
});
