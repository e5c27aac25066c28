import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/adapters/logger.ts';
import { createNotifier } from '../src/adapters/systemd-notify.ts';
import { loadConfig } from '../src/config.ts';
import { parseDuration } from '../src/core/time.ts';

const ROOT = join(import.meta.dirname, '..');
const UNIT_PATH = join(ROOT, 'deploy', 'codeship-cron.service');
const UNIT_TEXT = readFileSync(UNIT_PATH, 'utf8');
/** The daemon's own shutdown grace (README, "The ledger and exactly-once": Shutdown). */
const DAEMON_STOP_GRACE_MS = 20_000;

type Unit = Map<string, Map<string, string[]>>;

/** systemd's unit syntax as far as this file uses it: sections, KEY=VALUE, repeated keys. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (section === undefined || eq < 1)
      throw new Error(`line ${index + 1}: cannot parse "${raw}"`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

const unit = parseUnit(UNIT_TEXT);
const service = unit.get('Service') ?? new Map<string, string[]>();
const one = (key: string) => service.get(key)?.at(-1);

/** `30s`, `1min 30s` or a bare number of seconds, as systemd reads time spans, in ms. */
function timeSpanMs(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  return parseDuration(value.replace(/min$/, 'm'));
}

describe('deploy/codeship-cron.service', () => {
  it('is Type=notify with a watchdog the daemon can reach from a systemd-notify child', () => {
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBe('all');
    expect(timeSpanMs(one('WatchdogSec'))).toBe(60_000);
    expect(one('RestrictAddressFamilies')?.split(/\s+/)).toContain('AF_UNIX');
  });

  it('starts the built CLI from the install layout and reloads schedules on SIGHUP', () => {
    expect(one('ExecStart')).toBe('/usr/bin/node /opt/codeship-cron/dist/cli.js run');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('WorkingDirectory')).toBe('/opt/codeship-cron');
    expect(one('Restart')).toBe('on-failure');
  });

  it('gives systemd longer than the daemon needs to stop', () => {
    const stopMs = timeSpanMs(one('TimeoutStopSec'));
    expect(stopMs).toBeGreaterThan(DAEMON_STOP_GRACE_MS);
    expect(one('KillMode')).toBe('mixed');
  });

  it('keeps the ledger in its StateDirectory and the password in a credential', () => {
    expect(one('StateDirectory')).toBe('codeship-cron');
    expect(service.get('Environment')).toContain(
      'DATABASE_PATH=/var/lib/codeship-cron/codeship-cron.sqlite',
    );
    expect(service.get('Environment')).toContain('SCHEDULES_DIR=/etc/codeship-cron/schedules');
    expect(one('EnvironmentFile')).toBe('/etc/codeship-cron/codeship-cron.env');
    expect(one('LoadCredential')).toBe('codeship-password:/etc/codeship-cron/password');
  });

  it('names the credential the way loadConfig reads it', () => {
    const credential = one('LoadCredential')?.split(':')[0] ?? '';
    const read: string[] = [];
    const config = loadConfig(
      { CODESHIP_USERNAME: 'bot@example.com', CREDENTIALS_DIRECTORY: '/run/credentials/x' },
      (path) => {
        read.push(path);
        return 's3cret\n';
      },
    );
    expect(read).toEqual([`/run/credentials/x/${credential}`]);
    expect(config.api?.password).toBe('s3cret');
  });

  it('pings the watchdog at half of WatchdogSec', () => {
    const watchdogUsec = (timeSpanMs(one('WatchdogSec')) ?? 0) * 1000;
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: String(watchdogUsec) },
      logger: createLogger({ level: 'silent' }),
    });
    expect(notifier.watchdogIntervalMs).toBe(30_000);
  });

  it('is hardened, without MemoryDenyWriteExecute (it crashes V8)', () => {
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('DynamicUser')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    expect(UNIT_TEXT).not.toMatch(/^\s*MemoryDenyWriteExecute\s*=/m);
  });

  it('is enabled for the normal boot target', () => {
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });
});

describe('deploy/codeship-cron.env.example', () => {
  const text = readFileSync(join(ROOT, 'deploy', 'codeship-cron.env.example'), 'utf8');
  const documented = new Set(
    [
      ...readFileSync(join(ROOT, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm),
    ].map((match) => match[1]),
  );
  const keys = [...text.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);

  it('uses only settings the program knows', () => {
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !documented.has(key))).toEqual([]);
  });

  it('holds no password (that is the credential)', () => {
    expect(keys).not.toContain('CODESHIP_PASSWORD');
    expect(keys).not.toContain('CODESHIP_PASSWORD_FILE');
  });
});

// CI runs .ci/check-unit.sh first, which installs Debian's systemd package where it is missing;
// on a machine without it these tests fail and say so rather than pass unseen.
describe('.ci/check-unit.sh (systemd-analyze verify + security)', () => {
  it('has systemd-analyze to check with (apt-get install systemd)', () => {
    expect(spawnSync('systemd-analyze', ['--version']).status).toBe(0);
  });

  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function check(unitText?: string) {
    const args: string[] = [];
    if (unitText !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'unit-'));
      dirs.push(dir);
      writeFileSync(join(dir, 'codeship-cron.service'), unitText);
      args.push(join(dir, 'codeship-cron.service'));
    }
    const result = spawnSync(join(ROOT, '.ci', 'check-unit.sh'), args, { encoding: 'utf8' });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('passes the shipped unit with no warning and an exposure no worse than the model', () => {
    expect(check()).toEqual({
      code: 0,
      stdout:
        'check-unit: verify deploy/codeship-cron.service: no warnings\n' +
        'check-unit: security deploy/codeship-cron.service: exposure 1.7 (max 1.7)\n',
      stderr: '',
    });
  });

  it('fails on a warning even though systemd-analyze verify exits 0', () => {
    const result = check(UNIT_TEXT.replace(/^WatchdogSec=/m, 'WatchdogSecs='));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Unknown key 'WatchdogSecs' in section [Service], ignoring.");
  });

  it('fails when ExecStart names a binary the install layout does not provide', () => {
    const result = check(UNIT_TEXT.replace('/usr/bin/node ', '/usr/bin/nodejs '));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Command /usr/bin/nodejs is not executable');
  });

  it('fails when hardening is weakened past the model unit', () => {
    const result = check(
      UNIT_TEXT.replace(/^(ProtectSystem|PrivateDevices|ProtectKernel\w+)=.*\n/gm, ''),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^check-unit: exposure \d\.\d of .* is above 1\.7/m);
  });
});
