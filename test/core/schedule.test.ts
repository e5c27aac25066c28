import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatScheduleIssue } from '../../src/core/errors.ts';
import { findDuplicateNames, parseScheduleFile } from '../../src/core/schedule/file.ts';

const OPTIONS = { defaultTimezone: 'America/New_York' };

function problems(text: string, file = 's.yaml'): string[] {
  const parsed = parseScheduleFile(text, file, OPTIONS);
  if (parsed.issues.length > 0) expect(parsed.schedules).toEqual([]);
  return parsed.issues.map(formatScheduleIssue);
}

/** One entry with the required fields, plus extra YAML lines (indented for the entry). */
function entry(
  extra = '',
  base = { name: 'a', cron: '"0 2 * * *"', project: 'acme/api', branch: 'main' },
): string {
  const lines = Object.entries(base).map(([key, value]) => `    ${key}: ${value}`);
  lines[0] = `  - ${lines[0]?.trimStart()}`;
  return `schedules:\n${lines.join('\n')}\n${extra}`;
}

describe('parseScheduleFile: valid files', () => {
  it('reads every field and applies the defaults', () => {
    const file = 'test/fixtures/schedules/valid/full.yaml';
    const parsed = parseScheduleFile(readFileSync(file, 'utf8'), file, OPTIONS);
    expect(parsed.issues).toEqual([]);
    expect(parsed.schedules).toEqual([
      {
        name: 'nightly-api',
        cron: '0 2 * * *',
        after: null,
        timezone: 'Europe/Berlin',
        project: 'acme/api',
        branches: ['main'],
        catchupMs: 6 * 3_600_000,
        overlap: 'skip',
        unchanged: 'build',
        jitterMs: 600_000,
        enabled: true,
        stale: null,
        source: { file, line: 3 },
      },
      {
        name: 'stale-releases',
        cron: '30 3 * * 1-5',
        after: null,
        timezone: 'America/New_York',
        project: 'acme/api',
        branches: ['release/*', 'main'],
        catchupMs: 3_600_000,
        overlap: 'allow',
        unchanged: 'build',
        jitterMs: 0,
        enabled: true,
        stale: { olderThanMs: 7 * 86_400_000, max: 3 },
        source: { file, line: 12 },
      },
      {
        name: 'never-catch-up',
        cron: '@hourly',
        after: null,
        timezone: 'America/New_York',
        project: 'acme/web',
        branches: ['feature/x'],
        catchupMs: 0,
        overlap: 'allow',
        unchanged: 'build',
        jitterMs: 0,
        enabled: false,
        stale: null,
        source: { file, line: 17 },
      },
    ]);
  });

  it('reads JSON files, with a $schema key', () => {
    const file = 'test/fixtures/schedules/valid/docs.json';
    const parsed = parseScheduleFile(readFileSync(file, 'utf8'), file, OPTIONS);
    expect(parsed.issues).toEqual([]);
    expect(parsed.schedules[0]).toMatchObject({
      name: 'docs-daily',
      cron: '0 0 6 * * *',
      after: null,
      overlap: 'replace',
      source: { line: 4 },
    });
  });

  it('defaults stale.max to 10 and accepts an empty list', () => {
    const parsed = parseScheduleFile(entry('    stale: { older_than: 36h }\n'), 's.yaml', OPTIONS);
    expect(parsed.schedules[0]?.stale).toEqual({ olderThanMs: 36 * 3_600_000, max: 10 });
    expect(parseScheduleFile('schedules: []\n', 's.yaml', OPTIONS)).toEqual({
      names: [],
      schedules: [],
      issues: [],
    });
  });
});

describe('parseScheduleFile: every problem, located', () => {
  it.each([
    ['an empty file', '', ['s.yaml:1: file is empty (expected a top-level "schedules:" list)']],
    [
      'comments only',
      '# nothing yet\n\n',
      ['s.yaml:1: file is empty (expected a top-level "schedules:" list)'],
    ],
    [
      'no schedules key',
      'schedule:\n  - name: x\n',
      [
        's.yaml:1: schedule: unknown key (did you mean "schedules"?)',
        's.yaml:1: "schedules:" is missing (expected a top-level "schedules:" list)',
      ],
    ],
    [
      'a top-level list',
      '- name: x\n',
      ['s.yaml:1: the top level is a list (expected a top-level "schedules:" list)'],
    ],
    [
      'a top-level scalar',
      'hello\n',
      ['s.yaml:1: the top level is the value "hello" (expected a top-level "schedules:" list)'],
    ],
    [
      'schedules not a list',
      'schedules:\n  name: x\n',
      [
        's.yaml:1: schedules: is a mapping (expected a list of entries, each starting with "- name:")',
      ],
    ],
    [
      'schedules empty',
      'schedules:\n',
      [
        's.yaml:1: schedules: is nothing (expected a list of entries, each starting with "- name:")',
      ],
    ],
    [
      'an entry that is not a mapping',
      'schedules:\n  - just text\n',
      [
        's.yaml:2: schedule #1: is "just text" (expected a mapping with name, cron, project and branch)',
      ],
    ],
    [
      'a YAML syntax error',
      'schedules:\n  - name: a\n   cron: x\n',
      ['s.yaml:3: YAML syntax error: Sequence item without - indicator (expected valid YAML)'],
    ],
    [
      'an unquoted cron expression',
      'schedules:\n  - name: a\n    cron: */5 * * * *\n',
      [
        's.yaml:3: YAML syntax error: Unexpected alias at node end (expected valid YAML; quote cron expressions: cron: "*/5 * * * *")',
      ],
    ],
    [
      'an unquoted nickname',
      'schedules:\n  - name: a\n    cron: @daily\n',
      [
        's.yaml:3: YAML syntax error: Plain value cannot start with reserved character @ (expected valid YAML; quote cron expressions: cron: "*/5 * * * *")',
      ],
    ],
    [
      'two documents',
      'schedules: []\n---\nschedules: []\n',
      [
        's.yaml:2: YAML syntax error: the file holds more than one document (expected one YAML document per file)',
      ],
    ],
    [
      'a duplicate key',
      entry('    name: b\n'),
      ['s.yaml:6: YAML syntax error: Map keys must be unique (expected valid YAML)'],
    ],
    [
      'an unknown key with a hint',
      entry('    timzone: UTC\n'),
      ['s.yaml:6: schedule a: timzone: unknown key (did you mean "timezone"?)'],
    ],
    [
      'an unknown key without a hint',
      entry('    colour: red\n'),
      [
        's.yaml:6: schedule a: colour: unknown key (expected one of name, cron, after, within, timezone, project, branch, branches, catchup, overlap, unchanged, jitter, enabled, stale)',
      ],
    ],
    [
      'a missing name, cron and project',
      'schedules:\n  - branch: main\n',
      [
        's.yaml:2: schedule #1: name: is missing (expected a unique name such as nightly-api)',
        's.yaml:2: schedule #1: cron: is missing (expected a cron expression such as "0 2 * * *", or after: upstream builds)',
        's.yaml:2: schedule #1: project: is missing (expected a project UUID or name such as acme/api)',
      ],
    ],
    [
      'a missing branch',
      'schedules:\n  - name: a\n    cron: "@daily"\n    project: p\n',
      [
        's.yaml:2: schedule a: branch: is missing (expected "branch: NAME" or "branches: [NAMES or globs]")',
      ],
    ],
    [
      'branch and branches',
      entry('    branches: [dev]\n'),
      [
        's.yaml:6: schedule a: branches: given together with "branch" (expected "branch: NAME" or "branches: [NAMES or globs]", not both)',
      ],
    ],
    [
      'a bad name',
      entry('', { name: '"nightly api"', cron: '"@daily"', project: 'p', branch: 'main' }),
      [
        's.yaml:2: schedule nightly api: name: "nightly api" has characters other than A-Z a-z 0-9 . _ - (expected e.g. nightly-api)',
      ],
    ],
    [
      'a cron that never fires',
      entry('', { name: 'a', cron: '"0 0 31 2 *"', project: 'p', branch: 'main' }),
      [
        's.yaml:3: schedule a: cron: "0 0 31 2 *" never fires (no date matches it) (expected an expression that matches at least one date, e.g. not 31 February)',
      ],
    ],
    [
      'an impossible cron field',
      entry('', { name: 'a', cron: '"0 24 * * *"', project: 'p', branch: 'main' }),
      [
        's.yaml:3: schedule a: cron: "0 24 * * *" invalid value for hour: 24 (expected minute hour day-of-month month day-of-week, e.g. "30 2 * * 1-5")',
      ],
    ],
    [
      '@reboot',
      entry('', { name: 'a', cron: '"@reboot"', project: 'p', branch: 'main' }),
      [
        's.yaml:3: schedule a: cron: @reboot is not supported: schedules fire on the clock, not at start-up (expected a nickname such as @daily, or 5 fields)',
      ],
    ],
    [
      'a cron that is a number',
      entry('', { name: 'a', cron: '5', project: 'p', branch: 'main' }),
      [
        's.yaml:3: schedule a: cron: is the number 5 (expected a cron expression such as "0 2 * * *"; quote it: "5")',
      ],
    ],
    [
      'an unknown time zone',
      entry('    timezone: Europe/Berln\n'),
      [
        's.yaml:6: schedule a: timezone: unknown time zone "Europe/Berln" (expected an IANA zone such as Europe/Berlin or America/New_York; did you mean Europe/Berlin?)',
      ],
    ],
    [
      'an offset instead of a zone',
      entry('    timezone: "+02:00"\n'),
      [
        's.yaml:6: schedule a: timezone: unknown time zone "+02:00" (expected an IANA zone such as Europe/Berlin or America/New_York)',
      ],
    ],
    [
      'a zone in the wrong case',
      entry('    timezone: europe/berlin\n'),
      [
        's.yaml:6: schedule a: timezone: "europe/berlin" is not spelt as the tz database spells it (did you mean Europe/Berlin?)',
      ],
    ],
    [
      'a project that is a number',
      entry('', { name: 'a', cron: '"@daily"', project: '42', branch: 'main' }),
      [
        's.yaml:4: schedule a: project: is the number 42 (expected a project UUID or name such as acme/api; quote it: "42")',
      ],
    ],
    [
      'a malformed catchup',
      entry('    catchup: 2 hours\n'),
      [
        's.yaml:6: schedule a: catchup: "2 hours" is not a duration (expected a duration such as 90s, 15m, 1h or 7d, or 0 for never)',
      ],
    ],
    [
      'a catchup number',
      entry('    catchup: 60\n'),
      [
        's.yaml:6: schedule a: catchup: is the number 60 (expected a duration such as 90s, 15m, 1h or 7d, or 0 for never)',
      ],
    ],
    [
      'a malformed jitter',
      entry('    jitter: 10 min\n'),
      [
        's.yaml:6: schedule a: jitter: "10 min" is not a duration (expected a duration such as 90s, 15m, 1h or 7d)',
      ],
    ],
    [
      'a jitter over a day',
      entry('    jitter: 25h\n'),
      ['s.yaml:6: schedule a: jitter: 25h is too long (expected at most 1d)'],
    ],
    [
      'a jitter as long as the interval',
      entry('    jitter: 15m\n', {
        name: 'a',
        cron: '"*/15 * * * *"',
        project: 'p',
        branch: 'main',
      }),
      [
        's.yaml:6: schedule a: jitter: 15m is not shorter than the 15m between two fires (expected less than the shortest interval of the cron expression)',
      ],
    ],
    [
      'an unknown unchanged policy',
      entry('    unchanged: skipp\n'),
      [
        's.yaml:6: schedule a: unchanged: is "skipp" (expected one of build, skip; did you mean skip?)',
      ],
    ],
    [
      'an unknown overlap',
      entry('    overlap: skipp\n'),
      [
        's.yaml:6: schedule a: overlap: is "skipp" (expected one of allow, skip, replace; did you mean skip?)',
      ],
    ],
    [
      'enabled as yes',
      entry('    enabled: yes\n'),
      ['s.yaml:6: schedule a: enabled: is "yes" (expected true or false)'],
    ],
    [
      'an empty branches list',
      'schedules:\n  - name: a\n    cron: "@daily"\n    project: p\n    branches: []\n',
      [
        's.yaml:5: schedule a: branches: is an empty list (expected a list of branch names or globs, e.g. ["release/*", main])',
      ],
    ],
    [
      'bad and repeated branches',
      'schedules:\n  - name: a\n    cron: "@daily"\n    project: p\n    branches:\n      - main\n      - main\n      - "-x"\n      - feature..x\n      - x.lock\n      - "a b"\n',
      [
        's.yaml:7: schedule a: branches[1]: "main" is listed twice (expected each branch once)',
        's.yaml:8: schedule a: branches[2]: "-x" starts with "-" (expected a git branch name such as main, or a glob such as release/*)',
        's.yaml:9: schedule a: branches[3]: "feature..x" contains ".." (expected a git branch name such as main, or a glob such as release/*)',
        's.yaml:10: schedule a: branches[4]: "x.lock" ends with ".lock" (expected a git branch name such as main, or a glob such as release/*)',
        's.yaml:11: schedule a: branches[5]: "a b" contains whitespace (expected a git branch name such as main, or a glob such as release/*)',
      ],
    ],
    [
      'a branch with a trailing slash',
      entry('', { name: 'a', cron: '"@daily"', project: 'p', branch: 'release/' }),
      [
        's.yaml:5: schedule a: branch: "release/" ends with "/" (expected a git branch name such as main, or a glob such as release/*)',
      ],
    ],
    [
      'a stale rule without older_than',
      entry('    stale: { max: 3 }\n'),
      [
        's.yaml:6: schedule a: stale.older_than: is missing (expected a duration such as 7d: how old the newest build of a branch must be)',
      ],
    ],
    [
      'a bad stale rule',
      entry('    stale:\n      older_than: 0\n      max: 0\n      maximum: 3\n'),
      [
        's.yaml:7: schedule a: stale.older_than: is 0 (expected a duration such as 7d: how old the newest build of a branch must be)',
        's.yaml:8: schedule a: stale.max: is the number 0 (expected a whole number from 1 to 1000)',
        's.yaml:9: schedule a: stale.maximum: unknown key (did you mean "max"?)',
      ],
    ],
    [
      'stale not a mapping',
      entry('    stale: 7d\n'),
      [
        's.yaml:6: schedule a: stale: is "7d" (expected a mapping such as { older_than: 7d, max: 10 })',
      ],
    ],
    [
      'a duplicate name in one file',
      `${entry()}${entry().replace('schedules:\n', '')}`,
      [
        's.yaml:6: schedule a: name: duplicate name "a" (expected names unique across all files; first defined at s.yaml:2)',
      ],
    ],
  ])('%s', (_, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reports JSON syntax errors with their line', () => {
    expect(problems('{\n  "schedules": [\n    {"name": "x", }\n  ]\n}\n', 'x.json')).toEqual([
      'x.json:3: JSON syntax error: Expected double-quoted property name (expected valid JSON)',
    ]);
    expect(problems('{\n  "schedules": [\n', 'x.json')).toEqual([
      expect.stringMatching(/^x\.json:[23]: JSON syntax error: .* \(expected valid JSON\)$/),
    ]);
    expect(problems('{"schedules": [], "schedules": []}', 'x.json')).toEqual([
      'x.json:1: JSON syntax error: Map keys must be unique (expected valid YAML)',
    ]);
  });

  it('reports every problem of a file at once, in line order', () => {
    const text = readFileSync('test/fixtures/schedules/invalid/unknown-key.yaml', 'utf8').replace(
      'main',
      'main\n    overlap: sometimes',
    );
    expect(problems(text)).toEqual([
      's.yaml:6: schedule a: overlap: is "sometimes" (expected one of allow, skip, replace)',
      's.yaml:7: schedule a: timzone: unknown key (did you mean "timezone"?)',
    ]);
  });
});

describe('findDuplicateNames', () => {
  it('reports a name repeated in a later file, pointing at the first', () => {
    const a = parseScheduleFile(entry(), 'a.yaml', OPTIONS);
    const b = parseScheduleFile(entry(), 'b.yaml', OPTIONS);
    const issues = findDuplicateNames([
      { file: 'a.yaml', names: a.names },
      { file: 'b.yaml', names: b.names },
    ]);
    expect(issues.map(formatScheduleIssue)).toEqual([
      'b.yaml:2: schedule a: name: duplicate name "a" (expected names unique across all files; first defined at a.yaml:2)',
    ]);
  });
});
