import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { readFastTree } from '../../src/core/schedule/fast.ts';
import { parseScheduleDocument, parseScheduleFile } from '../../src/core/schedule/file.ts';

const OPTIONS = { defaultTimezone: 'Europe/Berlin' };

/** A node tree as values, types and start offsets: what the schedule reader looks at. */
function shape(node: unknown): unknown {
  if (isMap(node)) {
    return { at: node.range?.[0], map: node.items.map((p) => [shape(p.key), shape(p.value)]) };
  }
  if (isSeq(node)) return { at: node.range?.[0], seq: node.items.map(shape) };
  if (isScalar(node)) return { at: node.range?.[0], value: node.value };
  return node ?? null;
}

/** The fast tree, when the fast path takes the file on, must be yaml's own tree. */
function expectSameTree(text: string): boolean {
  const fast = readFastTree(text);
  if (fast === null) return false;
  const document = parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true });
  expect(document.errors).toEqual([]);
  expect(shape(fast.root)).toEqual(shape(document.contents));
  return true;
}

function expectSameResult(text: string, file = 'f.yaml'): void {
  expect(parseScheduleFile(text, file, OPTIONS)).toEqual(
    parseScheduleDocument(text, file, OPTIONS),
  );
}

const KEYS = ['name', 'cron', 'timezone', 'project', 'branch', 'branches', 'catchup'] as const;
const MORE_KEYS = [...KEYS, 'overlap', 'jitter', 'enabled', 'stale', 'nme', 'older_than'];
/** Values as written: each must be typed as YAML types it, or declined. */
const COMMON = [
  'main',
  'release/*',
  'acme/api',
  'a b',
  'true',
  'True',
  'FALSE',
  'null',
  'NULL',
  '0',
  '007',
  '10',
  '7d',
  '15m',
  '"0 2 * * *"',
  "'30 3 * * 1-5'",
  '""',
  '"a # b"',
  'a #b',
  '["release/*", main]',
  '[a,b]',
  '[]',
  '[ a , "b" ]',
  '{ older_than: 7d, max: 3 }',
  '{older_than: 7d}',
  '{}',
];
const TRICKY = [
  '~',
  '1e3',
  '0x1f',
  '0o7',
  '1.5',
  '-1',
  '+1',
  '.inf',
  '7d',
  '15m',
  '90s',
  '100ms',
  '1h',
  '"0 2 * * *"',
  '"@daily"',
  "'30 3 * * 1-5'",
  '""',
  "''",
  '"a\\"b"',
  "'it''s'",
  '"a # b"',
  'a #b',
  'a#b',
  '@daily',
  '*/5 * * * *',
  '0 2 * * *',
  'Europe/Berlin',
  'Mars/Base',
  'skip',
  '[main]',
  '["release/*", main]',
  '[a,b]',
  '[a, b,]',
  '[]',
  '[ a , "b" ]',
  '{ older_than: 7d, max: 3 }',
  '{older_than: 7d}',
  '{}',
  '{ older_than: 7d, older_than: 1d }',
  '{ x: 1 }',
  '&a main',
  '*a',
  '!!str 1',
  'a: b',
  '[a, [b]]',
  '"unterminated',
  'x"',
  '',
];
type Value =
  | { kind: 'inline'; text: string }
  | { kind: 'nested'; lines: string[]; extraIndent: number }
  | { kind: 'continued'; text: string; more: string };

const value: fc.Arbitrary<Value> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(...COMMON).map((text): Value => ({ kind: 'inline', text })),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(...TRICKY).map((text): Value => ({ kind: 'inline', text })),
  },
  fc.record({
    kind: fc.constant('nested' as const),
    lines: fc.oneof(
      fc.array(fc.constantFrom<string>('- main', '- "release/*"', '- 7', '-  dev', '- [a]'), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.array(fc.constantFrom<string>('older_than: 7d', 'max: 3', 'max:3', 'x: 1', '- main'), {
        minLength: 1,
        maxLength: 3,
      }),
    ),
    extraIndent: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('continued' as const),
    text: fc.constantFrom('main', '"main"'),
    more: fc.constantFrom('more', '# note', '- x'),
  }),
);

interface GeneratedFile {
  itemIndent: number;
  eol: string;
  head: string;
  entries: { key: string; value: Value; gap: string; trailing: string; before: string }[][];
  tail: string;
}

const file: fc.Arbitrary<GeneratedFile> = fc.record({
  itemIndent: fc.constantFrom(0, 2, 4),
  eol: fc.constantFrom('\n', '\n', '\r\n'),
  head: fc.constantFrom('schedules:', 'schedules: # list', 'schedules:  ', '# c\nschedules:'),
  entries: fc.array(
    fc.array(
      fc.record({
        key: fc.constantFrom(...MORE_KEYS),
        value,
        gap: fc.constantFrom(' ', ' ', ' ', ' ', '  ', ''),
        trailing: fc.constantFrom('', '', '', ' # why', '#x', '  '),
        before: fc.constantFrom('', '', '', '', '\n', '# note\n', '   # indented note\n'),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    { minLength: 1, maxLength: 3 },
  ),
  tail: fc.constantFrom('', '', '\n', '# end\n', '---\n', 'other: 1\n'),
});

function render(f: GeneratedFile): string {
  const lines = [f.head];
  const keyIndent = ' '.repeat(f.itemIndent + 2);
  for (const entry of f.entries) {
    entry.forEach((pair, i) => {
      if (pair.before) lines.push(pair.before.replace(/\n$/, ''));
      const lead = i === 0 ? `${' '.repeat(f.itemIndent)}- ` : keyIndent;
      const v = pair.value;
      if (v.kind === 'inline') {
        lines.push(`${lead}${pair.key}:${pair.gap}${v.text}${pair.trailing}`);
      } else if (v.kind === 'nested') {
        lines.push(`${lead}${pair.key}:${pair.trailing}`);
        const inner = ' '.repeat(f.itemIndent + 2 + v.extraIndent);
        for (const line of v.lines) lines.push(`${inner}${line}`);
      } else {
        lines.push(`${lead}${pair.key}: ${v.text}`, `${keyIndent}  ${v.more}`);
      }
    });
  }
  return `${lines.join(f.eol)}${f.eol}${f.tail}`;
}

/** Files that are valid, or nearly so: the fast path's own ground. */
const validish = fc
  .record({
    itemIndent: fc.constantFrom(0, 2),
    entries: fc.array(
      fc.record({
        cron: fc.constantFrom('"0 2 * * *"', "'*/15 * * * *'", '"@daily"', '"0 0 31 2 *"'),
        timezone: fc.constantFrom(null, 'Europe/Berlin', 'Asia/Tokyo', 'europe/berlin'),
        branch: fc.constantFrom('branch: main', 'branches: ["release/*", main]', 'branch: 7'),
        extra: fc.subarray(['catchup: 0', 'jitter: 10m', 'overlap: skip', 'enabled: false']),
        stale: fc.constantFrom(null, 'stale: { older_than: 7d, max: 3 }', 'stale: {max: 2}'),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ itemIndent, entries }) => {
    const pad = ' '.repeat(itemIndent);
    const body = entries.map((e, i) =>
      [
        `${pad}- name: s-${i % 3}`,
        `    cron: ${e.cron}`,
        e.timezone ? `    timezone: ${e.timezone}` : null,
        '    project: acme/api',
        `    ${e.branch}`,
        ...e.extra.map((x) => `    ${x}`),
        e.stale ? `    ${e.stale}` : null,
      ]
        .filter((line) => line !== null)
        .map((line) => line.replace(/^ {4}/, `${pad}  `))
        .join('\n'),
    );
    return `schedules:\n${body.join('\n')}\n`;
  });

describe('readFastTree', () => {
  it('builds the same nodes, values and offsets as yaml for the files it takes on', () => {
    for (const path of [
      'test/fixtures/schedules/valid/full.yaml',
      'schedules/nightly.yaml',
      'schedules/stale-releases.yaml',
    ]) {
      expect(expectSameTree(readFileSync(path, 'utf8'))).toBe(true);
    }
    let taken = 0;
    fc.assert(
      fc.property(file, (f) => {
        const text = render(f);
        let valid = true;
        try {
          valid = parseDocument(text, { uniqueKeys: true }).errors.length === 0;
        } catch {
          valid = false;
        }
        if (!valid) expect(readFastTree(text)).toBeNull();
        else if (expectSameTree(text)) taken += 1;
      }),
      { numRuns: 600 },
    );
    // The generator must reach the fast path often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(20);
  });

  it('types scalars as the core schema does, and leaves uncertain ones to yaml', () => {
    const tree = readFastTree(
      'schedules:\n  - name: true\n    cron: 007\n    project: NULL\n    branch: "7d"\n    catchup: 7d\n',
    );
    const entry = tree?.root.toJSON().schedules[0];
    expect(entry).toEqual({ name: true, cron: 7, project: null, branch: '7d', catchup: '7d' });
    for (const odd of ['1e3', '0x1f', '~', '1.5', '"a\\tb"', "'it''s'", '&a x', '!!str x']) {
      expect(readFastTree(`schedules:\n  - name: ${odd}\n`)).toBeNull();
    }
    expect(readFastTree('schedules:\n\t- name: a\n')).toBeNull();
    expect(readFastTree('\uFEFFschedules:\n  - name: a\n')).toBeNull();
  });
});

describe('parseScheduleFile with the fast path', () => {
  it('gives exactly the result of the full reader, issues and lines included', () => {
    fc.assert(
      fc.property(fc.oneof(file.map(render), validish), (text) => expectSameResult(text)),
      { numRuns: 600 },
    );
  });

  it('reads valid files through the fast path and keeps each entry line', () => {
    const text =
      '# fleet\nschedules:\n- name: a\n  cron: "0 2 * * *"\n  project: p\n  branches:\n    - main\n    - "release/*"\n\n- name: b # second\n  cron: "@daily"\n  project: p\n  branch: main\n  stale:\n    older_than: 7d\n';
    expect(readFastTree(text)).not.toBeNull();
    const parsed = parseScheduleFile(text, 'f.yaml', OPTIONS);
    expect(parsed.issues).toEqual([]);
    expect(parsed.schedules.map((s) => [s.name, s.source.line, s.branches, s.stale])).toEqual([
      ['a', 3, ['main', 'release/*'], null],
      ['b', 10, ['main'], { olderThanMs: 7 * 86_400_000, max: 10 }],
    ]);
    expect(parsed).toEqual(parseScheduleDocument(text, 'f.yaml', OPTIONS));
  });
});
