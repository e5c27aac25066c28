/**
 * Fast reader for the common shape of a schedule file: `schedules:` at the top, a block list of
 * block mappings, each value a one-line scalar, flow list or flow mapping (or a nested block list
 * or mapping of scalars), comments anywhere. It builds the same `yaml` nodes, with the same
 * offsets, as `parseDocument` would, for about a tenth of the cost, and gives up (null) on anything
 * else, so that the full parser, and its messages, handle every unusual file. Pure.
 *
 * Scalars are typed as YAML 1.2's core schema types them, but only the forms whose type is certain
 * are accepted: text that starts with a letter or `_` (a string, or true/false/null), quoted text
 * without escapes, whole numbers of up to 15 digits, and durations such as `15m`.
 */
import { LineCounter, type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { SCHEDULE_KEYS, STALE_KEYS } from './fields.ts';

/** A file read by the fast path: its root mapping and the line starts its node offsets refer to. */
export interface FastTree {
  readonly root: YAMLMap;
  readonly lineCounter: LineCounter;
}

/** One line that holds more than blanks or a comment. */
interface ContentLine {
  readonly indent: number;
  /** The line without its indentation (and without a CR before its LF). */
  readonly text: string;
  /** Offset of `text` in the file. */
  readonly offset: number;
}

const ENTRY_KEYS: ReadonlySet<string> = new Set(SCHEDULE_KEYS);
const NESTED_KEYS: ReadonlySet<string> = new Set(STALE_KEYS);
/** Anything outside printable ASCII (tabs, BOMs, lone CRs, control and non-ASCII characters). */
const UNUSUAL_CHARACTER = /[^\x20-\x7e\n\r]|\r(?!\n)/;
/** Plain text that the core schema reads as a string whatever it holds, bar the words below. */
const PLAIN_STRING = /^[A-Za-z_][A-Za-z0-9 ._/*@=+-]*$/;
const WHOLE_NUMBER = /^[0-9]{1,15}$/;
/** Durations (`90s`, `1h`): a digit first, yet no core-schema number (unlike `1e3` or `0x1f`). */
const DURATION_STRING = /^[0-9]+(?:ms|s|m|h|d)$/;
const WORDS: ReadonlyMap<string, boolean | null> = new Map([
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
  ['null', null],
  ['Null', null],
  ['NULL', null],
]);
const SCHEDULES_LINE = /^schedules:(?: *| +#.*)$/;

/** A node and the index in its line just past it. */
interface Read {
  readonly node: Node;
  readonly end: number;
}

function scalarAt(value: unknown, start: number, end: number): Scalar {
  const scalar = new Scalar(value);
  scalar.range = [start, end, end];
  return scalar;
}

/** A plain scalar's value, or undefined when its type is not certain. */
function plainValue(text: string): unknown {
  if (PLAIN_STRING.test(text)) {
    const word = WORDS.get(text);
    return word === undefined ? text : word;
  }
  if (WHOLE_NUMBER.test(text)) return Number(text);
  if (DURATION_STRING.test(text)) return text;
  return undefined;
}

/**
 * Reads a scalar starting at `at` in `line` (whose text starts at file offset `base`); in a flow
 * collection `,`, `]` and `}` end a plain scalar. Null when its value is not certain.
 */
function readScalar(line: string, at: number, base: number, inFlow: boolean): Read | null {
  const first = line.charCodeAt(at);
  if (first === 0x22 || first === 0x27) {
    const close = line.indexOf(line[at] as string, at + 1);
    if (close === -1) return null;
    const value = line.slice(at + 1, close);
    // Escapes and doubled quotes change the value; leave them to the full parser.
    if (first === 0x22 && value.includes('\\')) return null;
    return { node: scalarAt(value, base + at, base + close + 1), end: close + 1 };
  }
  let end = at;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 0x23 && line.charCodeAt(end - 1) === 0x20) break; // " #" starts a comment
    if (inFlow && (c === 0x2c || c === 0x5d || c === 0x7d)) break; // , ] }
    end += 1;
  }
  while (end > at && line.charCodeAt(end - 1) === 0x20) end -= 1;
  const value = plainValue(line.slice(at, end));
  if (value === undefined) return null;
  return { node: scalarAt(value, base + at, base + end), end };
}

function skipSpaces(line: string, at: number): number {
  let i = at;
  while (line.charCodeAt(i) === 0x20) i += 1;
  return i;
}

/** `[a, "b"]` or `{ key: value }` on one line, scalars only. */
function readFlow(line: string, at: number, base: number): Read | null {
  const isMap = line[at] === '{';
  const close = isMap ? '}' : ']';
  const collection = isMap ? new YAMLMap() : new YAMLSeq();
  const keys = new Set<string>();
  let i = skipSpaces(line, at + 1);
  if (line[i] !== close) {
    for (;;) {
      let key: Scalar | null = null;
      if (isMap) {
        const colon = line.indexOf(':', i);
        const name = line.slice(i, colon);
        if (colon === -1 || line[colon + 1] !== ' ' || !NESTED_KEYS.has(name) || keys.has(name)) {
          return null;
        }
        keys.add(name);
        key = scalarAt(name, base + i, base + colon);
        i = skipSpaces(line, colon + 1);
      }
      const item = readScalar(line, i, base, true);
      if (item === null) return null;
      if (key) (collection as YAMLMap).items.push(new Pair(key, item.node));
      else (collection as YAMLSeq).items.push(item.node);
      i = skipSpaces(line, item.end);
      if (line[i] === close) break;
      if (line[i] !== ',') return null;
      i = skipSpaces(line, i + 1);
      if (line[i] === close) return null; // a trailing comma: rare, left to the full parser
    }
  }
  collection.range = [base + at, base + i + 1, base + i + 1];
  return { node: collection, end: i + 1 };
}

/** Whether the rest of a line from `at` is blank or a comment. */
function restIsEmpty(line: string, at: number): boolean {
  const i = skipSpaces(line, at);
  return i === line.length || (line[i] === '#' && i > at);
}

function readInlineValue(line: string, at: number, base: number): Read | null {
  const c = line[at];
  return c === '[' || c === '{' ? readFlow(line, at, base) : readScalar(line, at, base, false);
}

/** Splits the file into content lines; null when it holds characters the fast path leaves alone. */
function contentLines(text: string, lineCounter: LineCounter): ContentLine[] | null {
  if (UNUSUAL_CHARACTER.test(text)) return null;
  const lines: ContentLine[] = [];
  let start = 0;
  while (start <= text.length) {
    lineCounter.addNewLine(start);
    const newline = text.indexOf('\n', start);
    const stop = newline === -1 ? text.length : newline;
    const end = stop > start && text.charCodeAt(stop - 1) === 0x0d ? stop - 1 : stop;
    const indent = skipSpaces(text, start) - start;
    if (start + indent < end && text[start + indent] !== '#') {
      lines.push({ indent, text: text.slice(start + indent, end), offset: start + indent });
    }
    if (newline === -1) break;
    start = newline + 1;
  }
  return lines;
}

/** Reads the file, or null when it is not of the shape this reader takes on. */
export function readFastTree(text: string): FastTree | null {
  const lineCounter = new LineCounter();
  const lines = contentLines(text, lineCounter);
  const head = lines?.[0];
  const firstItem = lines?.[1];
  if (!lines || !head || head.indent !== 0 || !SCHEDULES_LINE.test(head.text) || !firstItem) {
    return null;
  }
  const itemIndent = firstItem.indent;
  const keyIndent = itemIndent + 2;
  const list = new YAMLSeq();
  let entry: YAMLMap | null = null;
  let keys = new Set<string>();
  let n = 1;
  while (n < lines.length) {
    const line = lines[n] as ContentLine;
    let rest = line.text;
    let base = line.offset;
    if (line.indent === itemIndent && rest.startsWith('- ') && rest.charCodeAt(2) !== 0x20) {
      entry = new YAMLMap();
      entry.range = [base + 2, base + 2, base + 2];
      list.items.push(entry);
      keys = new Set<string>();
      rest = rest.slice(2);
      base += 2;
    } else if (line.indent !== keyIndent || entry === null) return null;
    const colon = rest.indexOf(':');
    const name = rest.slice(0, colon);
    if (colon === -1 || !ENTRY_KEYS.has(name) || keys.has(name)) return null;
    if (colon + 1 < rest.length && rest[colon + 1] !== ' ') return null;
    keys.add(name);
    const key = scalarAt(name, base, base + colon);
    n += 1;
    let value: Node;
    if (restIsEmpty(rest, colon + 1)) {
      const nested = readNestedBlock(lines, n, keyIndent);
      if (nested === null) return null;
      value = nested.node;
      n = nested.next;
    } else {
      const read = readInlineValue(rest, skipSpaces(rest, colon + 1), base);
      if (read === null || !restIsEmpty(rest, read.end)) return null;
      value = read.node;
    }
    entry.items.push(new Pair(key, value));
  }
  const first = list.items[0] as YAMLMap;
  list.range = [(first.range?.[0] ?? 2) - 2, text.length, text.length];
  const root = new YAMLMap();
  root.range = [head.offset, text.length, text.length];
  root.items.push(new Pair(scalarAt('schedules', head.offset, head.offset + 9), list));
  for (const entryMap of list.items as YAMLMap[]) closeRange(entryMap);
  return { root, lineCounter };
}

/** Sets a mapping's end to its last value's end (the start is the only part read for lines). */
function closeRange(map: YAMLMap): void {
  const last = map.items[map.items.length - 1]?.value as Node | undefined;
  const end = last?.range?.[2];
  if (map.range && end !== undefined) map.range = [map.range[0], end, end];
}

/**
 * A block list of scalars (`- main`) or a block mapping of `stale:` keys, indented deeper than
 * `parentIndent`, starting at content line `from`. Null for anything else (an empty value too).
 */
function readNestedBlock(
  lines: readonly ContentLine[],
  from: number,
  parentIndent: number,
): { node: Node; next: number } | null {
  const first = lines[from];
  if (!first || first.indent <= parentIndent) return null;
  const isSeq = first.text.startsWith('- ');
  const collection = isSeq ? new YAMLSeq() : new YAMLMap();
  const keys = new Set<string>();
  let n = from;
  let end = first.offset;
  for (; n < lines.length; n += 1) {
    const line = lines[n] as ContentLine;
    if (line.indent <= parentIndent) break;
    if (line.indent !== first.indent) return null;
    let at = 0;
    let key: Scalar | null = null;
    if (isSeq) {
      if (!line.text.startsWith('- ')) return null;
      at = skipSpaces(line.text, 2);
    } else {
      const colon = line.text.indexOf(':');
      const name = line.text.slice(0, colon);
      if (colon === -1 || line.text[colon + 1] !== ' ' || !NESTED_KEYS.has(name)) return null;
      if (keys.has(name)) return null;
      keys.add(name);
      key = scalarAt(name, line.offset, line.offset + colon);
      at = skipSpaces(line.text, colon + 1);
    }
    const item = readScalar(line.text, at, line.offset, false);
    if (item === null || !restIsEmpty(line.text, item.end)) return null;
    if (key) (collection as YAMLMap).items.push(new Pair(key, item.node));
    else (collection as YAMLSeq).items.push(item.node);
    end = line.offset + item.end;
  }
  collection.range = [first.offset, end, end];
  return { node: collection, next: n };
}
