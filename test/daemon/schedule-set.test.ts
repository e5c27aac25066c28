/**
 * The daemon's live schedules across reloads of a real folder: a name still held by the kept
 * previous version of an invalid file is reported when another file defines it, never dropped
 * without a word.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadScheduleDir } from '../../src/adapters/schedule-dir.ts';
import { formatScheduleIssue } from '../../src/core/errors.ts';
import { ScheduleSet } from '../../src/daemon/schedule-set.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'schedule-set-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (name: string, cron = '0 2 * * *') =>
  `schedules:\n  - { name: ${name}, cron: "${cron}", project: acme/api, branch: main }\n`;
const load = () => loadScheduleDir(dir, { defaultTimezone: 'UTC' });

it('reports a duplicate of a name that an invalid file keeps running', () => {
  const set = new ScheduleSet();
  writeFileSync(join(dir, 'm.yaml'), entry('dupx'));
  writeFileSync(join(dir, 'n.yaml'), entry('other'));
  set.apply(load().files);
  expect(set.all().map((s) => s.name)).toEqual(['dupx', 'other']);

  // m.yaml breaks beyond reading its names; n.yaml now defines dupx as well.
  writeFileSync(join(dir, 'm.yaml'), 'schedules: [\n');
  writeFileSync(
    join(dir, 'n.yaml'),
    `${entry('other')}  - { name: dupx, cron: "@daily", project: acme/web, branch: main }\n`,
  );
  const report = set.apply(load().files);
  expect(report.issues.map(formatScheduleIssue)).toEqual([
    expect.stringMatching(/m\.yaml:2: YAML syntax error/),
    `${join(dir, 'n.yaml')}:3: schedule dupx: name: duplicate name "dupx" (expected names unique across all files; first defined at ${join(dir, 'm.yaml')}:2, whose previous version still runs because the file is now invalid)`,
  ]);
  expect(report.kept).toEqual([join(dir, 'm.yaml'), join(dir, 'n.yaml')]);
  // Both files keep their previous versions: dupx is m.yaml's, as before.
  expect(set.get('dupx')?.project).toBe('acme/api');
  expect(set.all().map((s) => s.name)).toEqual(['dupx', 'other']);
});
