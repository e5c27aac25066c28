import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

let dir: string;
let ledgerPath: string;
let writer: Database.Database;

/** The daemon's side: a ledger in WAL mode whose latest rows live only in the -wal file. */
function openWriter(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE slots (id INTEGER PRIMARY KEY, schedule TEXT NOT NULL, state TEXT NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO slots (schedule, state) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 300; i += 1) insert.run(`nightly-${i % 7}`, i % 3 ? 'finished' : 'pending');
  })();
  return db;
}

/** Runs the built CLI in a folder without a .env and without API credentials. */
function runCli(args: string[], env: Record<string, string> = { DATABASE_PATH: ledgerPath }) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function readCopy(path: string) {
  const copy = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      rows: (copy.prepare('SELECT count(*) AS n FROM slots').get() as { n: number }).n,
      integrity: copy.pragma('integrity_check', { simple: true }),
      journalMode: copy.pragma('journal_mode', { simple: true }),
    };
  } finally {
    copy.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-backup-'));
  ledgerPath = join(dir, 'ledger.sqlite');
  writer = openWriter(ledgerPath);
});

afterEach(() => {
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('codeship-cron backup', () => {
  it('copies a ledger held open in WAL mode, rows in the -wal file included', () => {
    // Not checkpointed yet: a plain file copy of ledger.sqlite would miss these rows.
    expect(statSync(`${ledgerPath}-wal`).size).toBeGreaterThan(0);
    const target = join(dir, 'copy.sqlite');

    const result = runCli(['backup', target]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const pages = writer.pragma('page_count', { simple: true });
    expect(result.stdout).toBe(
      `backed up ${ledgerPath} to ${target} (${pages} pages, integrity ok)\n`,
    );
    expect(readCopy(target)).toEqual({ rows: 300, integrity: 'ok', journalMode: 'delete' });
    // The live ledger is untouched and still writable by its owner.
    writer.prepare('INSERT INTO slots (schedule, state) VALUES (?, ?)').run('late', 'pending');
  });

  it('reports the page count as JSON with --json', () => {
    const target = join(dir, 'copy.sqlite');
    const result = runCli(['backup', target, '--json']);
    expect(result.code).toBe(0);
    const pages = writer.pragma('page_count', { simple: true });
    expect(JSON.parse(result.stdout)).toEqual({
      ledger: ledgerPath,
      file: target,
      pages,
      integrity: 'ok',
    });
  });

  it('stays consistent while the writer keeps committing', async () => {
    const target = join(dir, 'busy.sqlite');
    const insert = writer.prepare('INSERT INTO slots (schedule, state) VALUES (?, ?)');
    const child = spawn(process.execPath, [CLI, 'backup', target], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', DATABASE_PATH: ledgerPath },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    let written = 0;
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done) {
      insert.run('busy', 'pending');
      written += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stderr).toBe('');
    expect(await exited).toBe(0);
    const copy = readCopy(target);
    expect(copy.integrity).toBe('ok');
    expect(copy.rows).toBeGreaterThanOrEqual(300);
    expect(copy.rows).toBeLessThanOrEqual(300 + written);
  });

  it('refuses to overwrite an existing file', () => {
    const target = join(dir, 'taken.sqlite');
    writeFileSync(target, 'yesterday');
    const result = runCli(['backup', target]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${target} already exists (refusing to overwrite it; choose a new file name)\n`,
    });
    expect(readFileSync(target, 'utf8')).toBe('yesterday');
  });

  it('fails clearly when there is no ledger', () => {
    const missing = join(dir, 'nowhere.sqlite');
    const target = join(dir, 'copy.sqlite');
    const result = runCli(['backup', target], { DATABASE_PATH: missing });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `error: no ledger at ${missing}\n` });
    expect(() => statSync(target)).toThrow(/ENOENT/);
  });

  it('fails clearly and leaves no file when the ledger is not SQLite', () => {
    const bogus = join(dir, 'bogus.sqlite');
    writeFileSync(bogus, 'not a database at all, just some text that is long enough');
    const target = join(dir, 'copy.sqlite');
    const result = runCli(['backup', target], { DATABASE_PATH: bogus });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot back up ${bogus}: file is not a database\n`,
    });
    expect(() => statSync(target)).toThrow(/ENOENT/);
  });

  it('fails clearly when the target folder does not exist', () => {
    const target = join(dir, 'no-such-dir', 'copy.sqlite');
    const result = runCli(['backup', target]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot create ${target} (ENOENT)\n`,
    });
  });

  it('is a usage error without FILE', () => {
    const result = runCli(['backup']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: missing FILE \(the backup to create\)\n/);
  });
});
