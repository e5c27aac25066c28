import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { nextFireAfter } from '../../src/core/cron.ts';
import { SCHEDULE_KEYS } from '../../src/core/schedule/fields.ts';
import {
  type ParsedFile,
  parseScheduleDocument,
  parseScheduleFile,
} from '../../src/core/schedule/file.ts';

const OPTIONS = { defaultTimezone: 'Europe/Berlin' };
const SEEDS = ['valid', 'invalid'].flatMap((kind) =>
  readdirSync(join('test/fixtures/schedules', kind)).map((name) =>
    readFileSync(join('test/fixtures/schedules', kind, name), 'utf8'),
  ),
);

/** The loader's promise: no throw, issues well formed, schedules only when there are no issues. */
function checkResult(result: ParsedFile, lineCount: number): void {
  for (const issue of result.issues) {
    expect(issue.line).toBeGreaterThanOrEqual(1);
    expect(issue.line).toBeLessThanOrEqual(lineCount + 1);
    expect(issue.message).toMatch(/\)$/);
  }
  if (result.issues.length > 0) expect(result.schedules).toEqual([]);
  for (const schedule of result.schedules) {
    expect(schedule.branches.length).toBeGreaterThan(0);
    // Exactly one of cron and after: a chain has upstreams and no expression.
    expect(schedule.cron === null).toBe(schedule.after !== null);
    if (schedule.cron === null) {
      expect(schedule.after?.upstreams.length).toBeGreaterThan(0);
      continue;
    }
    expect(
      nextFireAfter(schedule.cron, schedule.timezone, new Date('2026-01-01T00:00:00Z')),
    ).not.toBeNull();
  }
}

function parse(text: string, file: string): ParsedFile {
  const result = parseScheduleFile(text, file, OPTIONS);
  checkResult(result, text.split('\n').length);
  // The fast path may only ever change the cost, never the result.
  expect(result).toEqual(parseScheduleDocument(text, file, OPTIONS));
  return result;
}

type Mutation =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'swapLines'; at: number; other: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string(),
      fc.constantFrom(
        ':',
        '- ',
        '"',
        '[',
        '{',
        '\n  ',
        '*',
        '@',
        '#',
        '&a',
        '*a',
        '\t',
        'null',
        '0 0 31 2 *',
      ),
    ),
  }),
  fc.record({ kind: fc.constant('swapLines' as const), at: fc.nat(), other: fc.nat() }),
);

function mutate(text: string, mutations: Mutation[]): string {
  let result = text;
  for (const m of mutations) {
    const at = result.length === 0 ? 0 : m.at % result.length;
    if (m.kind === 'delete') result = result.slice(0, at) + result.slice(at + m.length);
    else if (m.kind === 'insert') result = result.slice(0, at) + m.text + result.slice(at);
    else {
      const lines = result.split('\n');
      const i = m.at % lines.length;
      const j = m.other % lines.length;
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      result = lines.join('\n');
    }
  }
  return result;
}

const anyValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '0 2 * * *',
    '@daily',
    '*/5 * * * * *',
    '0 0 31 2 *',
    'Europe/Berlin',
    'Mars/Base',
    '7d',
    '0',
    'release/*',
    'main',
    'skip',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant('main')), { maxLength: 3 }),
  fc.dictionary(
    fc.constantFrom('older_than', 'max', 'x'),
    fc.oneof(fc.string(), fc.integer(), fc.constant('7d')),
  ),
);
const KEYS = [...SCHEDULE_KEYS, 'nme', '$schema'];

describe('the loader never throws, whatever the file', () => {
  it('on arbitrary text, as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.boolean(), (text, json) => {
        parse(text, json ? 'f.json' : 'f.yaml');
      }),
      { numRuns: 400 },
    );
  });

  it('on mutated schedule files', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (seed, mutations, json) => {
          parse(mutate(seed, mutations), json ? 'f.json' : 'f.yml');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('on structured entries with random keys and values', () => {
    const entry = fc.dictionary(fc.constantFrom(...KEYS), anyValue, { maxKeys: 8 });
    const file = fc.oneof(
      fc.record({ schedules: fc.array(fc.oneof(entry, anyValue), { maxLength: 4 }) }),
      fc.dictionary(fc.constantFrom('schedules', 'schedule', '$schema'), anyValue),
      anyValue,
    );
    fc.assert(
      fc.property(file, fc.boolean(), (data, json) => {
        const text = json ? (JSON.stringify(data) ?? '') : stringify(data);
        parse(text, json ? 'f.json' : 'f.yaml');
      }),
      { numRuns: 400 },
    );
  });
});
