/**
 * A throwaway PostgreSQL server for tests and benchmarks (never shipped: not under src/): Debian's
 * `postgresql` binaries, `initdb` into a temporary folder, a free loopback port, the unix socket in
 * that folder, fsync off. As root (CI, containers) the server runs as `nobody`, since initdb and
 * postgres refuse root. `stop()` shuts it down and removes the folder. Each test takes its own
 * database (`createDatabase`), so tests on one server never see each other's rows.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust auth on loopback). */
  url(database?: string): string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Runs one statement as the superuser on the `postgres` database. */
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  port: number;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "PostgreSQL server binaries (initdb, postgres) not found: install Debian's `postgresql` package " +
  '(apt-get install -y postgresql) or point PG_BIN at the folder holding initdb';

/** The folder with initdb and postgres: PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or PATH. */
export function findPostgresBin(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debian, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** uid and gid of `nobody` when we run as root (the server refuses root), else null. */
function unprivileged(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return { uid: Number(uid ?? 65534), gid: Number(gid ?? 65534) };
}

let counter = 0;

/** Starts a fresh server; resolves once it accepts connections. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const user = unprivileged();
  const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...ids },
  );
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...ids },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new pg.Pool({ connectionString: url(), max: 2 });
  admin.on('error', () => undefined);
  const stop = async () => {
    await admin.end().catch(() => undefined);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT'); // immediate shutdown: the data is thrown away
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.query('SELECT 1');
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(
          `PostgreSQL did not start (${(error as Error).message}); its log:\n${log.trim()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    port,
    query: (sql, params) => admin.query(sql, params),
    async createDatabase(prefix = 'test') {
      counter += 1;
      const name = `${prefix}_${process.pid}_${counter}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
      await admin.query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    stop,
  };
}
