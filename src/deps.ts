import { hostname } from 'node:os';
import { createCodeshipClient, DEFAULT_REQUEST_TIMEOUT_MS } from './adapters/codeship-client.ts';
import type { ClientObserver } from './adapters/codeship-request.ts';
import { openLedger } from './adapters/ledger.ts';
import { createLogger, type Logger } from './adapters/logger.ts';
import { loadScheduleDir } from './adapters/schedule-dir.ts';
import { systemClock } from './adapters/system-clock.ts';
import { type Config, requireApi } from './config.ts';
import type { ScheduleIssue } from './core/errors.ts';
import type { Schedule } from './core/model.ts';
import { createBranchHistory } from './daemon/branch-history.ts';
import { alwaysLeader } from './daemon/leadership.ts';
import { createProjectResolver } from './daemon/projects.ts';
import { reconcileOnce } from './daemon/reconcile.ts';
import { createEvents, type Runtime } from './daemon/runtime.ts';
import type { LoadedFile } from './daemon/schedule-set.ts';
import type { Clock, CodeshipApi, Leadership, LedgerStore } from './ports.ts';

export interface RuntimeParts {
  config: Config;
  ledger: LedgerStore;
  api: CodeshipApi;
  clock: Clock;
  logger: Logger;
  schedule: (name: string) => Schedule | undefined;
  /** The API client's per-request timeout, when not the default. */
  requestTimeoutMs?: number;
  /** Who leads; default: this process always (SQLite, one-shot commands). */
  leadership?: Leadership;
}

/** How a build may name the API user: the login as configured, and the part before an `@`. */
function ownUsernames(username: string | undefined): string[] {
  if (!username) return [];
  const login = username.split('@')[0] ?? username;
  return login === username ? [username] : [username, login];
}

/** Wires a Runtime from its parts (tests build the parts themselves: simulator, ManualClock, temp ledger). */
export function createRuntime(parts: RuntimeParts): Runtime {
  const rt: Runtime = {
    ledger: parts.ledger,
    api: parts.api,
    projects: createProjectResolver(parts.api, parts.clock),
    history: createBranchHistory(parts.api),
    clock: parts.clock,
    logger: parts.logger,
    events: createEvents(),
    discoveryWindowMs: parts.config.discoveryWindowMs,
    rateLimitPerMinute:
      parts.config.api?.rateLimitPerMinute ?? parts.config.rateLimitPerMinute ?? 60,
    match: {
      requestTimeoutMs: parts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ownUsernames: ownUsernames(parts.config.api?.username),
      ownNameSeen: false,
      learnedNames: new Map(),
    },
    sending: new Set(),
    schedule: parts.schedule,
    leadership: parts.leadership ?? alwaysLeader(instanceName(parts.config)),
    // Without a daemon (one-shot commands, tests), a look is one reconciliation pass of that project.
    look: async (projectUuid, signal) => {
      await reconcileOnce(rt, signal, { projects: [projectUuid] });
    },
    hint: () => undefined,
  };
  return rt;
}

/** The root logger for a command. */
export function createRootLogger(config: Config, base: Record<string, unknown> = {}): Logger {
  return createLogger({ level: config.logLevel, base });
}

/** This process's name among the daemons of one shared ledger: INSTANCE_NAME, else host.pid. */
export function instanceName(config: Config): string {
  return config.instanceName ?? `${hostname()}.${process.pid}`;
}

/**
 * Opens the configured ledger (creating it): PostgreSQL at DATABASE_URL when set, else the
 * SQLite file at DATABASE_PATH. The PostgreSQL store is loaded only then (SQLite users never load
 * `pg`).
 */
export async function openConfiguredLedger(config: Config): Promise<LedgerStore> {
  if (config.databaseUrl) {
    const { openPgLedger } = await import('./adapters/ledger-pg.ts');
    return openPgLedger(config.databaseUrl, { instance: instanceName(config) });
  }
  return openLedger(config.databasePath);
}

/** The API client for the configured account, on the given clock. */
export function createApi(
  config: Config,
  logger: Logger,
  clock: Clock = systemClock,
  observer?: ClientObserver,
): CodeshipApi {
  return createCodeshipClient({
    api: requireApi(config),
    clock,
    logger, // the client adds its own `component`
    observer,
  });
}

/** Loads SCHEDULES_DIR with the configured default zone. */
export function loadConfiguredSchedules(config: Config): {
  files: LoadedFile[];
  issues: ScheduleIssue[];
  schedules: Schedule[];
} {
  const loaded = loadScheduleDir(config.schedulesDir, { defaultTimezone: config.defaultTimezone });
  return {
    files: loaded.files,
    issues: loaded.issues.filter((i) => !loaded.files.some((f) => f.issues.includes(i))),
    schedules: loaded.schedules,
  };
}

/**
 * The runtime a one-shot command (`trigger`, `reconcile`) works with: the configured API and
 * ledger on the system clock, over the given schedules. The caller closes `rt.ledger`.
 */
export async function openCommandRuntime(
  config: Config,
  schedules: readonly Schedule[],
  logger: Logger,
): Promise<Runtime> {
  const api = createApi(config, logger);
  const ledger = await openConfiguredLedger(config);
  const byName = new Map(schedules.map((s) => [s.name, s]));
  return createRuntime({
    config,
    ledger,
    api,
    clock: systemClock,
    logger,
    schedule: (n) => byName.get(n),
  });
}

/** The SQLite ledger's online backup, for the `backup` command. */
export { checkCopy, copyLedger } from './adapters/ledger-backup.ts';

/** `ledger copy`: the SQLite ledger into PostgreSQL (loads `pg` only when asked). */
export async function copyLedgerToPostgres(
  file: string,
  url: string,
): Promise<import('./adapters/ledger-copy.ts').CopyCounts> {
  const { copyLedgerToPostgres: copy } = await import('./adapters/ledger-copy.ts');
  return copy(file, url);
}
