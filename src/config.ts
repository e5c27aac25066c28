/**
 * Environment -> frozen Config. Pure over the env object it is given (the CLI passes `process.env`
 * after dotenv); every problem is collected and reported at once as a `ConfigError`.
 * Each command asks only for the parts it uses (`requireApi`, `requireDatabase`).
 */
import { isKnownTimeZone } from './core/cron-zone.ts';
import { isPostgresUrl, maskDatabaseUrl } from './core/database-url.ts';
import { ConfigError } from './core/errors.ts';
import { quoteInput } from './core/quote.ts';
import { DAY, HOUR, parseDuration, SECOND } from './core/time.ts';

export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ApiConfig {
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  /** Organization name (case-insensitive) or UUID; null means the token's only organization. */
  readonly organization: string | null;
  readonly rateLimitPerMinute: number;
}

export interface Config {
  readonly api: ApiConfig | null;
  readonly apiIssues: readonly string[];
  readonly schedulesDir: string;
  readonly databasePath: string;
  /**
   * DATABASE_URL (`postgres://…`): the ledger in PostgreSQL, shared by several daemons (README,
   * "Several instances on PostgreSQL"); DATABASE_PATH is then ignored. Null: SQLite.
   */
  readonly databaseUrl: string | null;
  /** INSTANCE_NAME: this daemon's name in the leader lease and on the page; null: host name and pid. */
  readonly instanceName: string | null;
  readonly defaultTimezone: string;
  readonly logLevel: LogLevel;
  readonly discoveryWindowMs: number;
  /**
   * CODESHIP_RATE_LIMIT (default 60), also without API credentials (`validate` predicts demand
   * with it); null when the value is invalid, which `apiIssues` then reports.
   */
  readonly rateLimitPerMinute: number | null;
  /** `{ host, port }` from HTTP_ADDR, or null when the HTTP server is off. */
  readonly http: { readonly host: string; readonly port: number } | null;
  /**
   * `Host` header values the HTTP server accepts besides HTTP_ADDR itself, `localhost` and
   * `127.0.0.1` (HTTP_ALLOWED_HOSTS, lowercased): `host` (any port) or `host:port`.
   */
  readonly httpAllowedHosts: readonly string[];
  readonly dashboardToken: string | null;
  /** The secret path segment of the webhook route (WEBHOOK_SECRET); null: no webhook route. */
  readonly webhookSecret: string | null;
  /** UPSTREAM_POLL: how often chains read their upstream projects' first page; 0: never. */
  readonly upstreamPollMs: number;
}

const DEFAULTS = {
  CODESHIP_API_URL: 'https://api.codeship.com/v2',
  CODESHIP_RATE_LIMIT: '60',
  SCHEDULES_DIR: './schedules',
  DATABASE_PATH: './data/codeship-cron.sqlite',
  DEFAULT_TIMEZONE: 'UTC',
  LOG_LEVEL: 'info',
  DISCOVERY_WINDOW: '120s',
  UPSTREAM_POLL: '2m',
} as const satisfies Record<string, string>;

/** Shortest DASHBOARD_TOKEN and WEBHOOK_SECRET accepted: a guessable secret is no secret. */
export const MIN_SECRET_LENGTH = 16;
/** Longest DISCOVERY_WINDOW: a create that has not shown its build by then never will. */
export const MAX_DISCOVERY_WINDOW_MS = HOUR;
export const MAX_RATE_LIMIT = 10_000;

/** Reads a secret file (password file or systemd credential); injected so loadConfig stays pure. */
export type ReadSecretFile = (path: string) => string;

/** Digits only (no sign, spaces, exponent, hex or fraction), as a safe integer; else null. */
function decimalInteger(text: string): number | null {
  if (!/^[0-9]{1,15}$/.test(text)) return null;
  return Number(text);
}

/** A setting's value quoted for a message: at most 80 characters, control characters escaped. */
function quoteValue(text: string): string {
  return quoteInput(text);
}

const HOST_ENTRY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?$/;

/** HTTP_ALLOWED_HOSTS: `host` or `host:port` entries, comma-separated; null when malformed. */
function parseAllowedHosts(value: string): string[] | null {
  const entries = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
  return entries.every((entry) => HOST_ENTRY.test(entry)) ? entries : null;
}

/** A secret setting that is long enough, or the problem (never echoing the secret itself). */
/** Characters a URL path segment carries as they are (RFC 3986 unreserved). */
const URL_SAFE_SECRET = /^[A-Za-z0-9._~-]+$/;

function checkSecret(name: string, value: string | undefined, issues: string[]): string | null {
  if (!value) return null;
  if (value.length < MIN_SECRET_LENGTH) {
    issues.push(
      `${name} must be at least ${MIN_SECRET_LENGTH} characters long (got ${value.length}; generate one with: openssl rand -hex 24)`,
    );
  }
  return value;
}

function parseHttpAddr(value: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

function loadPassword(env: Env, readSecret: ReadSecretFile, issues: string[]): string | undefined {
  if (env.CODESHIP_PASSWORD && env.CODESHIP_PASSWORD_FILE) {
    // Either could be the stale one: refuse rather than guess which password is meant.
    issues.push(
      'CODESHIP_PASSWORD and CODESHIP_PASSWORD_FILE are both set (expected only one: unset the other)',
    );
    return undefined;
  }
  if (env.CODESHIP_PASSWORD) return env.CODESHIP_PASSWORD;
  const candidates: [string, string][] = [];
  if (env.CODESHIP_PASSWORD_FILE)
    candidates.push(['CODESHIP_PASSWORD_FILE', env.CODESHIP_PASSWORD_FILE]);
  if (env.CREDENTIALS_DIRECTORY) {
    candidates.push([
      'systemd credential codeship-password',
      `${env.CREDENTIALS_DIRECTORY}/codeship-password`,
    ]);
  }
  for (const [label, path] of candidates) {
    try {
      const password = readSecret(path).replace(/\r?\n$/, '');
      if (password === '') issues.push(`${label}: ${path} is empty (expected the API password)`);
      else return password;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      // A missing systemd credential only means the password comes from elsewhere.
      if (label.startsWith('systemd') && code === 'ENOENT') continue;
      issues.push(`${label}: cannot read ${path} (${code})`);
    }
  }
  return undefined;
}

function loadApi(
  env: Env,
  readSecret: ReadSecretFile,
): { api: ApiConfig | null; issues: string[] } {
  const issues: string[] = [];
  const baseUrl = (env.CODESHIP_API_URL || DEFAULTS.CODESHIP_API_URL).replace(/\/+$/, '');
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    if (url.username || url.password) {
      issues.push(
        'CODESHIP_API_URL must not contain credentials (use CODESHIP_USERNAME and CODESHIP_PASSWORD)',
      );
    }
  } catch {
    issues.push(`CODESHIP_API_URL must be an http(s) URL (got ${quoteValue(baseUrl)})`);
  }
  const username = env.CODESHIP_USERNAME ?? '';
  if (username === '')
    issues.push('CODESHIP_USERNAME is required (the API user, an email address)');
  const password = loadPassword(env, readSecret, issues);
  if (
    password === undefined &&
    !issues.some((i) => i.includes('password') || i.includes('PASSWORD'))
  ) {
    issues.push(
      'CODESHIP_PASSWORD is required (or CODESHIP_PASSWORD_FILE, or a systemd credential named codeship-password)',
    );
  }
  const rateText = env.CODESHIP_RATE_LIMIT || DEFAULTS.CODESHIP_RATE_LIMIT;
  const rate = rateLimitOf(env);
  if (rate === null) {
    issues.push(
      `CODESHIP_RATE_LIMIT must be an integer between 1 and ${MAX_RATE_LIMIT} (got ${quoteValue(rateText)})`,
    );
  }
  if (issues.length > 0 || password === undefined) return { api: null, issues };
  return {
    api: Object.freeze({
      baseUrl,
      username,
      password,
      organization: env.CODESHIP_ORGANIZATION?.trim() || null,
      rateLimitPerMinute: rate as number,
    }),
    issues,
  };
}

/** CODESHIP_RATE_LIMIT as a number from 1 to MAX_RATE_LIMIT (default 60), or null when invalid. */
function rateLimitOf(env: Env): number | null {
  const rate = decimalInteger(env.CODESHIP_RATE_LIMIT || DEFAULTS.CODESHIP_RATE_LIMIT);
  return rate === null || rate < 1 || rate > MAX_RATE_LIMIT ? null : rate;
}

/**
 * Builds the Config from an environment. Problems with settings every command uses throw a
 * ConfigError at once; problems with the API settings are kept in `apiIssues` and raised only for
 * commands that call the API (`options.requireApi`, or `requireApi` later), so `validate`, `next`
 * and `status` work without them.
 */
export function loadConfig(
  env: Env,
  readSecret: ReadSecretFile = () => '',
  options: { requireApi?: boolean } = {},
): Config {
  const issues: string[] = [];
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl !== null && !isPostgresUrl(databaseUrl)) {
    // Never the value itself: a URL carries a password.
    issues.push(
      `DATABASE_URL must be a PostgreSQL URL such as postgres://user:password@host:5432/codeship_cron (got ${quoteValue(maskDatabaseUrl(databaseUrl))})`,
    );
  }
  const instanceName = env.INSTANCE_NAME?.trim() || null;
  if (
    instanceName !== null &&
    (instanceName.length > 100 || [...instanceName].some((c) => c.charCodeAt(0) < 0x20))
  ) {
    issues.push('INSTANCE_NAME must be at most 100 characters without control characters');
  }
  const timezone = env.DEFAULT_TIMEZONE || DEFAULTS.DEFAULT_TIMEZONE;
  if (!isKnownTimeZone(timezone)) {
    issues.push(
      `DEFAULT_TIMEZONE must be an IANA time zone such as Europe/Berlin (got ${quoteValue(timezone)})`,
    );
  }
  const logLevel = (env.LOG_LEVEL || DEFAULTS.LOG_LEVEL) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    issues.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${quoteValue(logLevel)})`);
  }
  const windowText = env.DISCOVERY_WINDOW || DEFAULTS.DISCOVERY_WINDOW;
  // No spaces around it: a strict form, like every number here.
  const discoveryWindowMs = windowText.trim() === windowText ? parseDuration(windowText) : null;
  if (
    discoveryWindowMs === null ||
    discoveryWindowMs < 10 * SECOND ||
    discoveryWindowMs > MAX_DISCOVERY_WINDOW_MS
  ) {
    issues.push(
      `DISCOVERY_WINDOW must be a duration from 10s to 1h such as 120s or 5m (got ${quoteValue(windowText)})`,
    );
  }
  const pollText = env.UPSTREAM_POLL || DEFAULTS.UPSTREAM_POLL;
  const upstreamPollMs =
    pollText === '0' ? 0 : pollText.trim() === pollText ? parseDuration(pollText) : null;
  if (
    upstreamPollMs === null ||
    (upstreamPollMs !== 0 && (upstreamPollMs < 10 * SECOND || upstreamPollMs > DAY))
  ) {
    issues.push(
      `UPSTREAM_POLL must be a duration from 10s to 1d such as 2m, or 0 to poll never (got ${quoteValue(pollText)})`,
    );
  }
  let http: Config['http'] = null;
  if (env.HTTP_ADDR) {
    http = parseHttpAddr(env.HTTP_ADDR);
    if (!http)
      issues.push(
        `HTTP_ADDR must be host:port such as 127.0.0.1:8080 (got ${quoteValue(env.HTTP_ADDR)})`,
      );
  }
  let httpAllowedHosts: string[] = [];
  if (env.HTTP_ALLOWED_HOSTS) {
    const parsed = parseAllowedHosts(env.HTTP_ALLOWED_HOSTS);
    if (parsed) httpAllowedHosts = parsed;
    else {
      issues.push(
        `HTTP_ALLOWED_HOSTS must be a comma-separated list of host or host:port such as status.example.com,proxy.internal:8443 (got ${quoteValue(env.HTTP_ALLOWED_HOSTS)})`,
      );
    }
  }
  const dashboardToken = checkSecret('DASHBOARD_TOKEN', env.DASHBOARD_TOKEN, issues);
  const webhookSecret = checkSecret('WEBHOOK_SECRET', env.WEBHOOK_SECRET, issues);
  // The secret is a path segment: `/`, `?`, `#` or `%` would make the route unreachable.
  if (webhookSecret && !URL_SAFE_SECRET.test(webhookSecret)) {
    issues.push(
      'WEBHOOK_SECRET must be letters, digits, "-", "_", "." or "~" only: it is a URL path segment (generate one with: openssl rand -hex 24)',
    );
  }
  const { api, issues: apiIssues } = loadApi(env, readSecret);
  // A command that calls the API hears of every problem at once, its API settings included.
  if (options.requireApi) issues.push(...apiIssues);
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({
    api,
    apiIssues,
    schedulesDir: env.SCHEDULES_DIR || DEFAULTS.SCHEDULES_DIR,
    databasePath: env.DATABASE_PATH || DEFAULTS.DATABASE_PATH,
    databaseUrl,
    instanceName,
    defaultTimezone: timezone,
    logLevel,
    discoveryWindowMs: discoveryWindowMs ?? 0,
    rateLimitPerMinute: rateLimitOf(env),
    http,
    httpAllowedHosts: Object.freeze(httpAllowedHosts),
    dashboardToken,
    webhookSecret,
    upstreamPollMs: upstreamPollMs ?? 0,
  });
}

/** The API settings, or a ConfigError listing what is missing, for commands that call the API. */
export function requireApi(config: Config): ApiConfig {
  if (config.api === null) throw new ConfigError(config.apiIssues);
  return config.api;
}
