import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScheduleDir, MAX_FILE_BYTES } from '../../src/adapters/schedule-dir.ts';
import { formatScheduleIssue } from '../../src/core/errors.ts';
import { MAX_ISSUES_PER_FILE } from '../../src/core/schedule/file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'schedules-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS = { defaultTimezone: 'UTC' };
const entry = (name: string) =>
  `  - name: ${name}\n    cron: "0 2 * * *"\n    project: acme/api\n    branch: main\n`;

describe('loadScheduleDir', () => {
  it('loads every *.yaml, *.yml and *.json file in sorted order, nothing else', () => {
    writeFileSync(join(dir, 'b.yml'), `schedules:\n${entry('b')}`);
    writeFileSync(join(dir, 'a.yaml'), `schedules:\n${entry('a')}`);
    writeFileSync(
      join(dir, 'c.json'),
      JSON.stringify({ schedules: [{ name: 'c', cron: '@daily', project: 'p', branch: 'main' }] }),
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a schedule');
    writeFileSync(join(dir, '.hidden.yaml'), 'broken: [');
    mkdirSync(join(dir, 'sub.yaml'));
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues).toEqual([]);
    expect(loaded.files.map((f) => f.file)).toEqual(
      ['a.yaml', 'b.yml', 'c.json'].map((n) => join(dir, n)),
    );
    expect(loaded.schedules.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('keeps one bad file from hiding the problems or schedules of another', () => {
    writeFileSync(join(dir, 'a.yaml'), `schedules:\n${entry('a')}    overlap: maybe\n`);
    writeFileSync(join(dir, 'b.yaml'), 'schedules: [\n');
    writeFileSync(join(dir, 'c.yaml'), `schedules:\n${entry('c')}`);
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'a.yaml')}:6: schedule a: overlap: is "maybe" (expected one of allow, skip, replace)`,
      expect.stringMatching(/b\.yaml:2: YAML syntax error: .* \(expected valid YAML\)$/),
    ]);
    expect(loaded.schedules.map((s) => s.name)).toEqual(['c']);
    expect(loaded.files.map((f) => f.schedules.length)).toEqual([0, 0, 1]);
  });

  it('makes a name repeated across files an issue of the later file', () => {
    writeFileSync(join(dir, 'a.yaml'), `schedules:\n${entry('same')}`);
    writeFileSync(join(dir, 'b.yaml'), `schedules:\n${entry('other')}${entry('same')}`);
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'b.yaml')}:6: schedule same: name: duplicate name "same" (expected names unique across all files; first defined at ${join(dir, 'a.yaml')}:2)`,
    ]);
    expect(loaded.schedules.map((s) => s.name)).toEqual(['same']);
  });

  it("reports a chain's problems even in a file with other problems, and across files", () => {
    writeFileSync(
      join(dir, 'a.yaml'),
      `schedules:\n${entry('a')}    overlap: maybe\n  - name: lost\n    after: [{ schedule: ghost }]\n    project: acme/docs\n    branch: main\n`,
    );
    writeFileSync(
      join(dir, 'b.yaml'),
      'schedules:\n  - name: b\n    after: [{ schedule: c }]\n    project: p\n    branch: main\n  - name: c\n    after: [{ schedule: b }]\n    project: p\n    branch: main\n',
    );
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'a.yaml')}:6: schedule a: overlap: is "maybe" (expected one of allow, skip, replace)`,
      `${join(dir, 'a.yaml')}:8: schedule lost: after[0].schedule: names "ghost", which no schedule file defines (expected the name of one of our schedules)`,
      `${join(dir, 'b.yaml')}:3: schedule b: after[0].schedule: makes a cycle (b after c after b; expected chains that end)`,
      `${join(dir, 'b.yaml')}:7: schedule c: after[0].schedule: makes a cycle (c after b after c; expected chains that end)`,
    ]);
    expect(loaded.schedules).toEqual([]);
  });

  it('reports a missing folder as one issue naming it', () => {
    const loaded = loadScheduleDir(join(dir, 'nope'), OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'nope')}: folder not found (expected SCHEDULES_DIR or --schedules to name a folder of schedule files)`,
    ]);
    writeFileSync(join(dir, 'file'), '');
    expect(loadScheduleDir(join(dir, 'file'), OPTIONS).issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'file')}: is not a folder (expected a folder of *.yaml, *.yml or *.json schedule files)`,
    ]);
  });
});

describe('loadScheduleDir against hostile folders', () => {
  it('never reads through a symbolic link that leaves the folder, and names the link', () => {
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    try {
      writeFileSync(join(outside, 'password'), 'hunter2-the-api-password\n');
      symlinkSync(join(outside, 'password'), join(dir, 'zz.yaml'));
      symlinkSync('/etc/passwd', join(dir, 'passwd.yaml'));
      mkdirSync(join(dir, 'shared'));
      writeFileSync(join(dir, 'shared', 'common.yaml'), `schedules:\n${entry('inside')}`);
      symlinkSync(join(dir, 'shared', 'common.yaml'), join(dir, 'common.yaml'));
      symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.yaml'));
      const loaded = loadScheduleDir(dir, OPTIONS);
      const printed = loaded.issues.map(formatScheduleIssue);
      expect(printed).toEqual([
        `${join(dir, 'dangling.yaml')}: is a symbolic link that leads nowhere (ENOENT; expected a schedule file)`,
        `${join(dir, 'passwd.yaml')}: is a symbolic link to a file outside the schedule folder, which is never read (expected a regular file inside SCHEDULES_DIR)`,
        `${join(dir, 'zz.yaml')}: is a symbolic link to a file outside the schedule folder, which is never read (expected a regular file inside SCHEDULES_DIR)`,
      ]);
      expect(printed.join('\n')).not.toMatch(/hunter2|root:/);
      // A link that stays inside the folder is read like the file it points at.
      expect(loaded.schedules.map((s) => s.name)).toEqual(['inside']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses a FIFO without blocking, and files over the size cap unread', () => {
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    writeFileSync(join(dir, 'huge.yaml'), Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'huge.yaml')}: is ${MAX_FILE_BYTES + 1} bytes (expected at most ${MAX_FILE_BYTES} bytes: split it into several files)`,
      `${join(dir, 'pipe.yaml')}: is not a regular file (expected a schedule file)`,
    ]);
  });

  it('keeps the problems of a 1 MB garbage file to a few kilobytes', () => {
    writeFileSync(join(dir, 'garbage.yaml'), randomBytes(1 << 20));
    writeFileSync(
      join(dir, 'entries.yaml'),
      `schedules:\n${Array.from({ length: 20_000 }, (_, i) => `  - name: "bad name ${i}"\n`).join('')}`,
    );
    writeFileSync(join(dir, 'scalar.yaml'), 'x'.repeat(1 << 20));
    const loaded = loadScheduleDir(dir, OPTIONS);
    const printed = loaded.issues.map(formatScheduleIssue);
    expect(printed.join('\n').length).toBeLessThan(3 * MAX_ISSUES_PER_FILE * 700);
    expect(printed).toContain(
      `${join(dir, 'scalar.yaml')}:1: the top level is the value "${'x'.repeat(80)}"… (expected a top-level "schedules:" list)`,
    );
    expect(printed.filter((line) => line.startsWith(join(dir, 'entries.yaml')))).toHaveLength(
      MAX_ISSUES_PER_FILE + 1,
    );
    expect(printed).toContain(
      `${join(dir, 'entries.yaml')}:14: ${20_000 * 4 - MAX_ISSUES_PER_FILE} more problems not shown (expected at most ${MAX_ISSUES_PER_FILE} per file: fix these first)`,
    );
    const unsafe = printed.filter((line) =>
      Array.from(line).some((c) => {
        const code = c.codePointAt(0) ?? 0;
        return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e);
      }),
    );
    expect(unsafe).toEqual([]);
  });

  it('escapes control and bidi characters and limits every string field', () => {
    writeFileSync(
      join(dir, 'a.yaml'),
      `schedules:\n  - name: "evil\\e[2J\\u202Eipa-ylthgin"\n    cron: "0 2 * * *"\n    project: "${'p'.repeat(201)}"\n    branch: main\n    timezone: "Europe/\\e]0;owned\\a"\n`,
    );
    const printed = loadScheduleDir(dir, OPTIONS).issues.map(formatScheduleIssue);
    expect(printed).toEqual([
      `${join(dir, 'a.yaml')}:2: schedule evil\\u001b[2J\\u202eipa-ylthgin: name: "evil\\u001b[2J\\u202eipa-ylthgin" has characters other than A-Z a-z 0-9 . _ - (expected e.g. nightly-api)`,
      `${join(dir, 'a.yaml')}:4: schedule evil\\u001b[2J\\u202eipa-ylthgin: project: is 201 characters long (expected at most 200)`,
      `${join(dir, 'a.yaml')}:6: schedule evil\\u001b[2J\\u202eipa-ylthgin: timezone: unknown time zone "Europe/\\u001b]0;owned\\u0007" (expected an IANA zone such as Europe/Berlin or America/New_York)`,
    ]);
  });

  it('reports a name that an invalid file still holds when another file defines it too', () => {
    writeFileSync(join(dir, 'm.yaml'), `schedules:\n${entry('dupx')}    overlap: maybe\n`);
    writeFileSync(join(dir, 'n.yaml'), `schedules:\n${entry('dupx')}`);
    const loaded = loadScheduleDir(dir, OPTIONS);
    expect(loaded.issues.map(formatScheduleIssue)).toEqual([
      `${join(dir, 'm.yaml')}:6: schedule dupx: overlap: is "maybe" (expected one of allow, skip, replace)`,
      `${join(dir, 'n.yaml')}:2: schedule dupx: name: duplicate name "dupx" (expected names unique across all files; first defined at ${join(dir, 'm.yaml')}:2)`,
    ]);
    expect(loaded.schedules).toEqual([]);
  });
});
