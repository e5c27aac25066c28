import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UPSTREAM_STATUSES } from '../../src/core/model.ts';
import {
  FILE_KEYS,
  MAX_BRANCHES,
  MAX_LENGTHS,
  SCHEDULE_KEYS,
  STALE_KEYS,
  UPSTREAM_KEYS,
} from '../../src/core/schedule/fields.ts';
import { parseScheduleFile } from '../../src/core/schedule/file.ts';

const schema = JSON.parse(readFileSync('schedules.schema.json', 'utf8'));
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const FIXTURES = 'test/fixtures/schedules';

function loaderAccepts(file: string, text: string): boolean {
  return parseScheduleFile(text, file, { defaultTimezone: 'UTC' }).issues.length === 0;
}

describe('schedules.schema.json keeps in step with the loader', () => {
  it('has exactly the keys the loader accepts, each described', () => {
    const entry = schema.$defs.schedule.properties;
    expect(Object.keys(schema.properties).sort()).toEqual([...FILE_KEYS].sort());
    expect(Object.keys(entry).sort()).toEqual([...SCHEDULE_KEYS].sort());
    expect(Object.keys(entry.stale.properties).sort()).toEqual([...STALE_KEYS].sort());
    for (const key of SCHEDULE_KEYS) expect(entry[key].description, key).toBeTruthy();
    expect(schema.$defs.schedule.required.sort()).toEqual(['name', 'project']);
    expect(Object.keys(schema.$defs.upstream.properties).sort()).toEqual([...UPSTREAM_KEYS].sort());
    expect(schema.$defs.upstream.properties.status.enum).toEqual([...UPSTREAM_STATUSES]);
    expect(entry.overlap.enum).toEqual(['allow', 'skip', 'replace']);
  });

  const cases = ['valid', 'invalid'].flatMap((kind) =>
    readdirSync(join(FIXTURES, kind)).map((name) => [kind, join(FIXTURES, kind, name)] as const),
  );
  it.each(cases)('%s: %s is judged alike by the schema and the loader', (kind, file) => {
    const text = readFileSync(file, 'utf8');
    const data = file.endsWith('.json') ? JSON.parse(text) : parse(text);
    const bySchema = validateSchema(data);
    expect(bySchema, JSON.stringify(validateSchema.errors)).toBe(kind === 'valid');
    expect(loaderAccepts(file, text)).toBe(kind === 'valid');
  });

  it('the example files validate against both', () => {
    for (const name of readdirSync('schedules')) {
      const file = join('schedules', name);
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schedules.schema.json');
      expect(validateSchema(parse(text)), JSON.stringify(validateSchema.errors)).toBe(true);
      expect(loaderAccepts(file, text)).toBe(true);
    }
  });

  it("states the loader's length limits, and both refuse one character more", () => {
    const entry = schema.$defs.schedule.properties;
    expect({
      name: entry.name.maxLength,
      cron: entry.cron.maxLength,
      timezone: entry.timezone.maxLength,
      project: entry.project.maxLength,
      branch: schema.$defs.branch.maxLength,
      duration: schema.$defs.duration.maxLength,
    }).toEqual(MAX_LENGTHS);
    expect(entry.branches.maxItems).toBe(MAX_BRANCHES);
    const base = { name: 'n', cron: '0 2 * * *', project: 'acme/api', branch: 'main' };
    const judged = (fields: Record<string, unknown>) => {
      const data = { schedules: [{ ...base, ...fields }] };
      return [validateSchema(data), loaderAccepts('l.json', JSON.stringify(data))];
    };
    const cases: [string, (length: number) => unknown][] = [
      ['name', (length) => 'n'.repeat(length)],
      ['cron', (length) => `0${' '.repeat(length - 8)}2 * * *`],
      ['project', (length) => 'p'.repeat(length)],
      ['branch', (length) => 'b'.repeat(length)],
      ['catchup', (length) => `${'0'.repeat(length - 2)}1h`],
    ];
    for (const [field, make] of cases) {
      const max =
        field === 'catchup' ? MAX_LENGTHS.duration : MAX_LENGTHS[field as keyof typeof MAX_LENGTHS];
      expect(judged({ [field]: make(max) }), `${field} at ${max}`).toEqual([true, true]);
      expect(judged({ [field]: make(max + 1) }), `${field} at ${max + 1}`).toEqual([false, false]);
    }
    const branches = (count: number) => Array.from({ length: count }, (_, i) => `b${i}`);
    expect(judged({ branch: undefined, branches: branches(MAX_BRANCHES) })).toEqual([true, true]);
    expect(judged({ branch: undefined, branches: branches(MAX_BRANCHES + 1) })).toEqual([
      false,
      false,
    ]);
  });
});
