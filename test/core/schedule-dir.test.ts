import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScheduleDir } from '../../src/adapters/schedule-dir.ts';
import { formatScheduleIssue } from '../../src/core/errors.ts';

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
