/**
 * Both ledger stores behind one opener, for tests that run the same expectations on SQLite and on
 * PostgreSQL (`describe.each(STORES)`). PostgreSQL is a real throwaway server (postgres-server.ts)
 * started once per test file by `usePostgres()`, one fresh database per opened ledger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openLedger } from '../../src/adapters/ledger.ts';
import { openPgLedger, type PgLedger } from '../../src/adapters/ledger-pg.ts';
import type { LedgerStore } from '../../src/ports.ts';
import { type PostgresServer, startPostgres } from './postgres-server.ts';

export type StoreKind = 'sqlite' | 'postgres';
export const STORES: readonly StoreKind[] = ['sqlite', 'postgres'];

let server: PostgresServer | null = null;
let starting: Promise<PostgresServer> | null = null;

/** Starts this file's PostgreSQL server before its tests and stops it after them. */
export function usePostgres(): () => PostgresServer {
  beforeAll(async () => {
    await postgresServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    server = null;
    starting = null;
  });
  return () => {
    if (!server) throw new Error('usePostgres(): the server is not started yet');
    return server;
  };
}

/** This file's server, started on first use. */
export async function postgresServer(): Promise<PostgresServer> {
  starting ??= startPostgres().then((s) => {
    server = s;
    return s;
  });
  return starting;
}

/** Where a ledger lives: a SQLite file path or a PostgreSQL URL (DATABASE_PATH / DATABASE_URL). */
export interface StoreLocation {
  kind: StoreKind;
  /** The file (SQLite) or the URL (PostgreSQL). */
  target: string;
  /** The env that selects it. */
  env: Record<string, string>;
  /** Removes the temp folder (SQLite); the database goes with the server. */
  cleanup(): void;
}

/** A fresh, empty place for a ledger of `kind`. */
export async function freshLocation(kind: StoreKind): Promise<StoreLocation> {
  if (kind === 'postgres') {
    const url = await (await postgresServer()).createDatabase('ledger');
    return { kind, target: url, env: { DATABASE_URL: url }, cleanup: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-store-'));
  const file = join(dir, 'ledger.sqlite');
  return {
    kind,
    target: file,
    env: { DATABASE_PATH: file },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Opens the ledger at `location` with the store of its kind. */
export async function openStore(
  location: StoreLocation,
  options: { instance?: string } = {},
): Promise<LedgerStore> {
  return location.kind === 'postgres'
    ? openPgLedger(location.target, options)
    : openLedger(location.target);
}

export type { PgLedger };
