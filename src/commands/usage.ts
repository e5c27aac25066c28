/**
 * Every command's usage in one table: the options `parseArgs` accepts are read from here, so
 * `--help`, usage errors, the README's command table (a test compares them) and what a command
 * really parses cannot drift apart. Loaded by the CLI shell without loading any command.
 */

/** One `--flag`: its parseArgs type, the placeholder of its value, and one line of help. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** Placeholder of a string option's value in the usage line (`N`, `DIR`). */
  readonly value?: string;
  readonly default?: string | boolean;
  /** A string option given any number of times (parsed as a list). */
  readonly multiple?: boolean;
  /** The command refuses to run without it: shown without brackets in the usage line. */
  readonly required?: boolean;
  readonly help: string;
}

export interface CommandSpec {
  /** Positional arguments as shown in the usage line (`NAME`, `[NAME]`). */
  readonly args: string;
  /** One line for `codeship-cron --help`. */
  readonly summary: string;
  /** What the command does, a few lines for `codeship-cron CMD --help`. */
  readonly about: readonly string[];
  readonly options: Readonly<Record<string, FlagSpec>>;
  /** Environment variables the command reads. */
  readonly env: readonly string[];
}

const API_ENV = [
  'CODESHIP_API_URL',
  'CODESHIP_USERNAME',
  'CODESHIP_PASSWORD (or CODESHIP_PASSWORD_FILE)',
  'CODESHIP_ORGANIZATION',
  'CODESHIP_RATE_LIMIT',
];
const JSON_FLAG = { type: 'boolean', default: false, help: 'print one JSON document' } as const;
const STRICT_FLAG = {
  type: 'boolean',
  default: false,
  help: 'exit 1 when the schedules would ask for more than the API budget (warnings)',
} as const;

export const COMMAND_SPECS = {
  run: {
    args: '',
    summary: 'run the daemon',
    about: [
      'Runs the daemon until SIGTERM or SIGINT: fires the schedules, records every slot in the',
      'ledger and follows each build to its outcome. SIGHUP (or a change in SCHEDULES_DIR) reloads',
      'the schedules. Logs are JSON lines on stdout (read them with codeship-cron logs).',
      'At start it checks the schedules against the API as `check` does and logs what it finds.',
    ],
    options: {},
    env: [
      ...API_ENV,
      'SCHEDULES_DIR',
      'DATABASE_PATH',
      'DATABASE_URL',
      'INSTANCE_NAME',
      'DEFAULT_TIMEZONE',
      'LOG_LEVEL',
      'DISCOVERY_WINDOW',
      'UPSTREAM_POLL',
      'HTTP_ADDR',
      'DASHBOARD_TOKEN',
      'WEBHOOK_SECRET',
    ],
  },
  validate: {
    args: '',
    summary: 'check every schedule file and print every problem',
    about: [
      'Checks every schedule file and prints every problem as',
      'FILE:LINE: schedule NAME: field: what is wrong (what was expected). Exit 1 on problems.',
      'Then the creates each minute of the next 7 days needs, against CODESHIP_RATE_LIMIT: a',
      'notice for a peak, a warning for an hour over budget. No credentials, network or database.',
    ],
    options: {
      schedules: {
        type: 'string',
        value: 'DIR',
        help: 'the schedule folder (default SCHEDULES_DIR)',
      },
      strict: STRICT_FLAG,
    },
    env: ['SCHEDULES_DIR', 'DEFAULT_TIMEZONE', 'CODESHIP_RATE_LIMIT'],
  },
  check: {
    args: '',
    summary: 'validate, then check every schedule against the API',
    about: [
      'Validates the schedule files, then asks the API, for every schedule, whether its project',
      'exists and which branches of its build history its branch names and globs match.',
      'Each problem is printed as FILE:LINE: schedule NAME: field: what is wrong. Exit 1 on problems.',
      'Then the API demand of the next 7 days, as validate prints it (branch globs as matched).',
    ],
    options: { json: JSON_FLAG, strict: STRICT_FLAG },
    env: [...API_ENV, 'SCHEDULES_DIR', 'DEFAULT_TIMEZONE'],
  },
  next: {
    args: '[NAME]',
    summary: 'the next fires of each schedule',
    about: [
      'The next fires of each schedule (or of NAME) strictly after --from, in its zone and in UTC.',
      'JSON: [{"schedule","at"}] sorted by at. No credentials, network or database.',
    ],
    options: {
      count: { type: 'string', value: 'N', help: 'fires per schedule (default 5, at most 1000)' },
      from: { type: 'string', value: 'ISO', help: 'list fires after this instant (default now)' },
      json: JSON_FLAG,
      schedules: {
        type: 'string',
        value: 'DIR',
        help: 'the schedule folder (default SCHEDULES_DIR)',
      },
    },
    env: ['SCHEDULES_DIR', 'DEFAULT_TIMEZONE'],
  },
  status: {
    args: '[NAME]',
    summary: 'the ledger: recent slots and their builds',
    about: [
      "The ledger, newest slots first: state, reason and build of each; a chain's slot names the",
      'upstream build that fired it (`cause` in --json). The table shortens long reasons and build',
      'UUIDs to fit 110 columns; --json has every field in full. Needs only the database.',
    ],
    options: {
      limit: { type: 'string', value: 'N', help: 'rows to show (default 20)' },
      json: JSON_FLAG,
    },
    env: ['DATABASE_PATH', 'DATABASE_URL', 'SCHEDULES_DIR'],
  },
  trigger: {
    args: 'NAME',
    summary: 'fire a schedule now, recorded as manual',
    about: [
      "Fires NAME now through the daemon's own path (ledger first, then the create), recorded as",
      'manual; while a daemon runs on the ledger, waits for it to discover the build (with none,',
      'says so: codeship-cron reconcile discovers it). A sweep (branch globs or stale:) records',
      'every branch it considered with its reason. Exit 1 when a slot failed or nothing was sent.',
    ],
    options: {
      branch: {
        type: 'string',
        value: 'B',
        help: "fire branch B only; it must match the schedule's branches or globs",
      },
      'any-branch': {
        type: 'boolean',
        default: false,
        help: 'with --branch: allow a branch the schedule does not name',
      },
      wait: {
        type: 'string',
        value: 'DURATION',
        default: '60s',
        help: 'how long to wait for the daemon to discover the build (default 60s)',
      },
      json: JSON_FLAG,
    },
    env: [...API_ENV, 'SCHEDULES_DIR', 'DATABASE_PATH', 'DATABASE_URL', 'DISCOVERY_WINDOW'],
  },
  reconcile: {
    args: '',
    summary: 'one reconciliation pass, then exit',
    about: ['Discovers the builds of open slots and follows them once, then exits.'],
    options: { json: JSON_FLAG },
    env: [...API_ENV, 'SCHEDULES_DIR', 'DATABASE_PATH', 'DATABASE_URL'],
  },
  projects: {
    args: '',
    summary: "the organization's projects",
    about: ["The organization's projects (uuid, name, type), to write schedule files with."],
    options: { json: JSON_FLAG },
    env: API_ENV,
  },
  clock: {
    args: '',
    summary: "how far Codeship's clock is from this host's",
    about: [
      "How far Codeship's clock is from this host's, as the daemon learns it for build identity:",
      'a few cheap API answers, each bounding the offset by its Date header, intersected.',
    ],
    options: {
      samples: {
        type: 'string',
        value: 'N',
        default: '3',
        help: 'project lists to ask for after authenticating (1 to 20, default 3)',
      },
      json: JSON_FLAG,
    },
    env: API_ENV,
  },
  backup: {
    args: 'FILE',
    summary: 'online backup of the ledger, checked',
    about: [
      "Copies the ledger to the new FILE with SQLite's backup API (safe while the daemon runs)",
      'and checks the copy with integrity_check. Never overwrites FILE.',
      'A PostgreSQL ledger (DATABASE_URL) is backed up with pg_dump instead.',
    ],
    options: { json: JSON_FLAG },
    env: ['DATABASE_PATH', 'DATABASE_URL (refused: use pg_dump)'],
  },
  ledger: {
    args: 'copy',
    summary: 'copy the SQLite ledger into PostgreSQL',
    about: [
      'Copies every row of the SQLite ledger at DATABASE_PATH into the empty PostgreSQL database',
      'at URL (postgres://…), in one transaction; then run the daemons with DATABASE_URL=URL.',
      'Stop the daemon first. Refuses a database that already holds a ledger.',
    ],
    options: {
      to: {
        type: 'string',
        value: 'URL',
        required: true,
        help: 'the PostgreSQL database (postgres://…), required',
      },
      json: JSON_FLAG,
    },
    env: ['DATABASE_PATH'],
  },
  logs: {
    args: '',
    summary: 'make JSON log lines readable',
    about: [
      'Reads the JSON log lines of run (or demo) on stdin and prints one readable line each:',
      '  journalctl -u codeship-cron -o cat -f | codeship-cron logs',
      'Lines that are not JSON are printed as they are.',
    ],
    options: {},
    env: [],
  },
  simulate: {
    args: '',
    summary: 'run the bundled Codeship simulator',
    about: ['Runs the bundled Codeship API v2 simulator until SIGTERM or SIGINT.'],
    options: {
      port: { type: 'string', value: 'P', help: 'port to listen on (default 3999, 0 = any)' },
      host: { type: 'string', value: 'H', help: 'address to listen on (default 127.0.0.1)' },
      seed: { type: 'string', value: 'FILE', help: 'JSON seed: users, organizations, projects' },
      'clock-offset': {
        type: 'string',
        value: 'D',
        help: "the server clock's offset from this host's, e.g. 47s or -2m (default 0)",
      },
      'push-rate': {
        type: 'string',
        value: 'R',
        help: 'share of creates (0 to 1) that pushes by others accompany (default none)',
      },
      'push-spread': {
        type: 'string',
        value: 'D',
        help: 'with --push-rate: how far from the create such a push lands (default 5s)',
      },
      webhook: {
        type: 'string',
        value: 'URL',
        multiple: true,
        help: "also send every build's webhooks to URL (repeatable; http on loopback only)",
      },
    },
    env: [],
  },
  demo: {
    args: '',
    summary: 'simulator + daemon + demo schedules that fire every few seconds',
    about: [
      'Runs the simulator, the daemon and the demo schedules (demo/schedules, firing every few',
      'seconds) on the ledger data/demo.sqlite, with the status page, until Ctrl-C.',
    ],
    options: {
      'http-port': { type: 'string', value: 'P', help: 'status page port (default 8080)' },
      'build-seconds': {
        type: 'string',
        value: 'S',
        help: "how long the simulator's builds take (default 8)",
      },
      port: { type: 'string', value: 'P', help: "the simulator's port (default any free port)" },
    },
    env: [
      'DEMO_DATABASE_PATH (default ./data/demo.sqlite)',
      'HTTP_ADDR (instead of --http-port)',
      'DASHBOARD_TOKEN',
      'LOG_LEVEL',
    ],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMAND_SPECS;

/** True when `name` is a command. */
export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_SPECS, name);
}

function spec(name: CommandName): CommandSpec {
  return COMMAND_SPECS[name];
}

/** Help lines stay within this many columns. */
const HELP_WIDTH = 100;

/** `a, b, c` over as many indented lines as `width` needs. */
function wrapList(items: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [index, item] of items.entries()) {
    const text = index < items.length - 1 ? `${item},` : item;
    if (line !== '' && line.length + 1 + text.length > width) {
      lines.push(`  ${line}`);
      line = text;
    } else line = line === '' ? text : `${line} ${text}`;
  }
  if (line !== '') lines.push(`  ${line}`);
  return lines;
}

const flagUsage = (flag: string, option: FlagSpec) =>
  option.type === 'string' ? `--${flag} ${option.value ?? 'VALUE'}` : `--${flag}`;

/** `trigger NAME [--branch B] [--any-branch] [--wait DURATION] [--json]`: the usage line. */
export function synopsis(name: CommandName): string {
  const { args, options } = spec(name);
  const flags = Object.entries(options).map(([flag, option]) =>
    option.required ? flagUsage(flag, option) : `[${flagUsage(flag, option)}]`,
  );
  return [name, args, ...flags].filter((part) => part !== '').join(' ');
}

/** The full help of one command, as `codeship-cron CMD --help` prints it. */
export function commandHelp(name: CommandName): string {
  const { about, options, env } = spec(name);
  const rows = Object.entries(options).map(
    ([flag, option]) => [flagUsage(flag, option), option.help] as const,
  );
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    `usage: codeship-cron ${synopsis(name)}`,
    '',
    ...about,
    '',
    'options:',
    ...rows.map(([left, text]) => `  ${left.padEnd(width)}  ${text}`),
  ];
  if (env.length > 0) lines.push('', 'environment:', ...wrapList(env, HELP_WIDTH - 2));
  return `${lines.join('\n')}\n`;
}

/** `codeship-cron --help`: every command with its summary. */
export function overviewHelp(): string {
  const names = Object.keys(COMMAND_SPECS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length));
  return [
    'usage: codeship-cron <command> [options]',
    '',
    'commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${spec(name).summary}`),
    '',
    'codeship-cron <command> --help shows the options of a command.',
    '',
  ].join('\n');
}
