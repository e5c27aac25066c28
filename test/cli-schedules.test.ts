import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const CLI = resolve('dist/cli.js');
const EXAMPLES = resolve('schedules');
let dir: string;

beforeAll(() => {
  if (!existsSync(CLI))
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does)');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-schedules-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built CLI in the temp folder with no credentials in its environment. */
function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const NIGHTLY = `schedules:
  - name: nightly
    cron: "30 2 * * *"
    timezone: Europe/Berlin
    project: acme/api
    branch: main
`;

const EVERY_SECOND = `schedules:
  - { name: every-second, cron: "* * * * * *", project: acme/api, branches: [main, develop] }
`;
const HEADLINE =
  /^warning: 7200 creates in the hour from \d{4}-\d\d-\d\d \d\d:\d\dZ, more than the 1440 the API budget allows \(24 a minute: CODESHIP_RATE_LIMIT 60 less 1\.5 calls per create for discovery and reconciliation\); older unsent slots will be skipped as superseded$/;

describe('codeship-cron validate: the API demand ahead', () => {
  it('warns of a sustained excess after the summary, and --strict exits 1', () => {
    writeFileSync(join(dir, 'busy.yaml'), EVERY_SECOND);
    const result = cli(['validate'], { SCHEDULES_DIR: '.' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('busy.yaml: ok, 1 schedule (every-second)');
    expect(lines[1]).toMatch(HEADLINE);
    expect(lines.slice(2)).toEqual([
      'warning:   every-second: 7200 creates in that hour',
      'warning:   they collide in every minute of that hour',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    // The same report; the hour it starts from is the current minute, which may have moved on.
    const minute = (text: string) => text.replace(/\d{4}-\d\d-\d\d \d\d:\d\dZ/, '<minute>');
    const strict = cli(['validate', '--strict'], { SCHEDULES_DIR: '.' });
    expect(strict.code).toBe(1);
    expect(minute(strict.stdout)).toBe(minute(result.stdout));
  });

  it('prints a burst as a notice with its drain time; --strict passes it', () => {
    const entries = Array.from(
      { length: 140 },
      (_, i) => `  - { name: nightly-${i}, cron: "0 2 * * *", project: acme/api, branch: main }`,
    );
    writeFileSync(join(dir, 'nightly.yaml'), `schedules:\n${entries.join('\n')}\n`);
    const result = cli(['validate', '--strict'], { SCHEDULES_DIR: '.' });
    expect(result.stdout.split('\n').slice(1)).toEqual([
      'notice: 02:00Z needs 140 creates: drained in about 3 min',
      '',
    ]);
    expect(result.code).toBe(0);
    // A higher rate limit drains it within the minute: nothing to say.
    const fast = cli(['validate'], { SCHEDULES_DIR: '.', CODESHIP_RATE_LIMIT: '600' });
    expect(fast.stdout.split('\n')).toHaveLength(2);
  });

  it('refuses an invalid CODESHIP_RATE_LIMIT', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    expect(cli(['validate'], { SCHEDULES_DIR: '.', CODESHIP_RATE_LIMIT: '0x3c' })).toMatchObject({
      code: 1,
      stderr: 'error: CODESHIP_RATE_LIMIT must be an integer between 1 and 10000 (got "0x3c")\n',
    });
  });
});

describe('codeship-cron validate', () => {
  it('summarises each valid file and exits 0', () => {
    const result = cli(['validate', '--schedules', EXAMPLES]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `${join(EXAMPLES, 'nightly.yaml')}: ok, 1 schedule (nightly-api)\n` +
        `${join(EXAMPLES, 'stale-releases.yaml')}: ok, 1 schedule (stale-releases-api), branch globs resolved at fire time\n`,
    );
    expect(result.code).toBe(0);
  });

  it('prints every problem of every file and exits 1', () => {
    writeFileSync(join(dir, 'a.yaml'), `${NIGHTLY}    timzone: UTC\n`);
    writeFileSync(join(dir, 'b.json'), '{"schedules": [\n  {"name": "x",}\n]}');
    writeFileSync(join(dir, 'c.yml'), '');
    writeFileSync(join(dir, 'd.yaml'), NIGHTLY.replace('30 2 * * *', '0 0 31 2 *'));
    const result = cli(['validate'], { SCHEDULES_DIR: '.' });
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        'a.yaml:7: schedule nightly: timzone: unknown key (did you mean "timezone"?)',
        'b.json:2: JSON syntax error: Expected double-quoted property name (expected valid JSON)',
        'c.yml:1: file is empty (expected a top-level "schedules:" list)',
        // Both a.yaml and d.yaml are invalid, yet the name both define is reported as well.
        'd.yaml:2: schedule nightly: name: duplicate name "nightly" (expected names unique across all files; first defined at a.yaml:2)',
        'd.yaml:3: schedule nightly: cron: "0 0 31 2 *" never fires (no date matches it) (expected an expression that matches at least one date, e.g. not 31 February)',
        'error: 5 problems in 4 of 4 files',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(1);
  });

  it('reports duplicate names across files, a missing folder and an empty one', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    writeFileSync(join(dir, 'b.yaml'), NIGHTLY);
    const duplicate = cli(['validate', '--schedules', '.']);
    expect(duplicate.stderr).toContain(
      'b.yaml:2: schedule nightly: name: duplicate name "nightly" (expected names unique across all files; first defined at a.yaml:2)',
    );
    expect(duplicate.code).toBe(1);
    const missing = cli(['validate', '--schedules', 'nope']);
    expect(missing.stderr).toBe(
      'nope: folder not found (expected SCHEDULES_DIR or --schedules to name a folder of schedule files)\nerror: 1 problem\n',
    );
    expect(missing.code).toBe(1);
    rmSync(join(dir, 'a.yaml'));
    rmSync(join(dir, 'b.yaml'));
    const empty = cli(['validate', '--schedules', '.']);
    expect(empty.stderr).toBe(
      'error: no schedule files in . (expected *.yaml, *.yml or *.json files)\n',
    );
    expect(empty.code).toBe(1);
  });

  it('never prints what a link out of the folder points at, raw control characters or megabytes', () => {
    const outside = mkdtempSync(join(tmpdir(), 'cli-outside-'));
    try {
      writeFileSync(join(outside, 'password'), 'hunter2-the-api-password\n');
      symlinkSync(join(outside, 'password'), join(dir, 'zz.yaml'));
      writeFileSync(
        join(dir, 'evil.yaml'),
        'schedules:\n  - name: "x\\e[2J\\u202Eyllatot"\n    cron: "0 2 * * *"\n    project: acme/api\n    branch: main\n',
      );
      writeFileSync(join(dir, 'garbage.yaml'), randomBytes(1 << 20));
      const result = cli(['validate', '--schedules', '.']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'zz.yaml: is a symbolic link to a file outside the schedule folder, which is never read (expected a regular file inside SCHEDULES_DIR)\n',
      );
      expect(result.stderr).toContain(
        'evil.yaml:2: schedule x\\u001b[2J\\u202eyllatot: name: "x\\u001b[2J\\u202eyllatot" has characters other than A-Z a-z 0-9 . _ - (expected e.g. nightly-api)\n',
      );
      expect(result.stderr).not.toContain('hunter2');
      expect(result.stderr).not.toContain('\u001b');
      expect(result.stderr).not.toContain('\u202e');
      expect(result.stderr.length).toBeLessThan(64 * 1024);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reports a duplicate name hidden by an invalid file', () => {
    writeFileSync(join(dir, 'm.yaml'), `${NIGHTLY}    overlap: maybe\n`);
    writeFileSync(join(dir, 'n.yaml'), NIGHTLY);
    const result = cli(['validate', '--schedules', '.']);
    expect(result.stderr).toBe(
      [
        'm.yaml:7: schedule nightly: overlap: is "maybe" (expected one of allow, skip, replace)',
        'n.yaml:2: schedule nightly: name: duplicate name "nightly" (expected names unique across all files; first defined at m.yaml:2)',
        'error: 2 problems in 2 of 2 files',
        '',
      ].join('\n'),
    );
  });

  it('is a usage error (exit 2) for an unknown option', () => {
    const result = cli(['validate', '--schedule', '.']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown option --schedule\n/);
  });
});

describe('codeship-cron next', () => {
  it('prints --json fires of every schedule, strictly after --from, sorted by time', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    writeFileSync(
      join(dir, 'b.yaml'),
      'schedules:\n  - name: hourly\n    cron: "@hourly"\n    project: acme/web\n    branch: main\n',
    );
    // 2026-03-29T00:30Z is 01:30 CET, the night Berlin skips 02:00-03:00; --from is an hourly fire.
    const result = cli(['next', '--json', '--count', '2', '--from', '2026-03-29T00:00:00Z'], {
      SCHEDULES_DIR: '.',
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      { schedule: 'hourly', at: '2026-03-29T01:00:00.000Z' },
      { schedule: 'nightly', at: '2026-03-29T01:00:00.000Z' },
      { schedule: 'hourly', at: '2026-03-29T02:00:00.000Z' },
      { schedule: 'nightly', at: '2026-03-30T00:30:00.000Z' },
    ]);
    expect(result.code).toBe(0);
  });

  it('shows each fire in the zone and in UTC, with a plain-English reading', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    const result = cli([
      'next',
      'nightly',
      '--count',
      '2',
      '--from',
      '2026-10-24T12:00:00Z',
      '--schedules',
      '.',
    ]);
    expect(result.stdout).toBe(
      [
        "fires after 2026-10-24T12:00:00.000Z (local time in each schedule's zone, then UTC):",
        '',
        'nightly: "30 2 * * *" in Europe/Berlin: At 02:30',
        '  project acme/api, branch main',
        '  Sun 2026-10-25 02:30:00 +02:00   2026-10-25T00:30:00.000Z',
        '  Mon 2026-10-26 02:30:00 +01:00   2026-10-26T01:30:00.000Z',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('says when the branch set is resolved at fire time, and uses DEFAULT_TIMEZONE', () => {
    const result = cli(
      [
        'next',
        'stale-releases-api',
        '--count',
        '1',
        '--from',
        '2026-01-01T00:00:00Z',
        '--schedules',
        EXAMPLES,
      ],
      { DEFAULT_TIMEZONE: 'Asia/Tokyo' },
    );
    expect(result.stdout).toContain(
      'branches release/* (the branch set is resolved at fire time from the build history)',
    );
    expect(result.stdout).toContain(
      'stale: only branches whose newest build is older than 7d, at most 10 per fire',
    );
    expect(result.stdout).toContain('Mon 2026-01-05 03:30:00 +01:00   2026-01-05T02:30:00.000Z');
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY.replace('    timezone: Europe/Berlin\n', ''));
    const tokyo = cli(
      ['next', '--json', '--count', '1', '--from', '2026-01-01T00:00:00Z', '--schedules', '.'],
      { DEFAULT_TIMEZONE: 'Asia/Tokyo' },
    );
    expect(JSON.parse(tokyo.stdout)).toEqual([
      { schedule: 'nightly', at: '2026-01-01T17:30:00.000Z' },
    ]);
  });

  it('names an unknown schedule, a bad --from and a bad --count', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    const unknown = cli(['next', 'nightlty', '--schedules', '.']);
    expect(unknown.stderr).toBe(
      'error: no valid schedule named "nightlty" in . (did you mean "nightly"?); known: nightly\n',
    );
    expect(unknown.code).toBe(1);
    const from = cli(['next', '--from', 'yesterday', '--schedules', '.']);
    expect(from.stderr).toMatch(
      /^error: --from must be an ISO-8601 instant such as 2026-03-29T00:00:00Z \(got "yesterday"\)\n/,
    );
    expect(from.code).toBe(2);
    const count = cli(['next', '--count', '0', '--schedules', '.']);
    expect(count.stderr).toMatch(/^error: --count must be a positive integer \(got "0"\)\n/);
    expect(count.code).toBe(2);
    const missing = cli(['next', '--schedules', 'nope']);
    expect(missing.stderr).toBe(
      'nope: folder not found (expected SCHEDULES_DIR or --schedules to name a folder of schedule files)\nerror: 1 problem; no valid schedule to show\n',
    );
    expect(missing.code).toBe(1);
  });

  it('prints the problems of invalid files, the fires of valid ones, and exits 1', () => {
    writeFileSync(join(dir, 'a.yaml'), NIGHTLY);
    writeFileSync(join(dir, 'b.yaml'), 'schedules: {}\n');
    const result = cli([
      'next',
      '--json',
      '--count',
      '1',
      '--from',
      '2026-01-01T00:00:00Z',
      '--schedules',
      '.',
    ]);
    expect(result.stderr).toBe(
      'b.yaml:1: schedules: is a mapping (expected a list of entries, each starting with "- name:")\n',
    );
    expect(JSON.parse(result.stdout)).toEqual([
      { schedule: 'nightly', at: '2026-01-01T01:30:00.000Z' },
    ]);
    expect(result.code).toBe(1);
  });
});
