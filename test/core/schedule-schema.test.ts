import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseScheduleFile } from '../../src/core/schedule.ts';
import { FILE_KEYS, SCHEDULE_KEYS, STALE_KEYS } from '../../src/core/schedule-fields.ts';

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
    expect(schema.$defs.schedule.required.sort()).toEqual(['cron', 'name', 'project']);
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
});
