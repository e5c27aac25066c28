/**
 * Schedule files (README, "Schedules"): text in, validated schedules and every problem
 * out, each located by line. Pure: the folder is read by `adapters/schedule-dir.ts`.
 */

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
} from 'yaml';
import type { ScheduleIssue } from '../errors.ts';
import type { Schedule } from '../model.ts';
import { clip, quoteInput } from '../quote.ts';
import { readEntry } from './entry.ts';
import { readFastTree } from './fast.ts';
import { FILE_KEYS, unknownKeyMessage } from './fields.ts';
import type { Locator, ParseOptions } from './types.ts';

export interface ParsedFile {
  readonly schedules: Schedule[];
  readonly issues: ScheduleIssue[];
  /**
   * Every valid name the file's entries give, with its line, even when the file has issues: a
   * name held by an invalid file is still taken (the daemon keeps that file's previous version),
   * so a second definition elsewhere is reported rather than silently dropped.
   */
  readonly names: readonly NameAt[];
  /**
   * The entries that read well in a file with issues (whose `schedules` is empty): checks across
   * files (chains) still report their problems, so every problem shows at once.
   */
  readonly readable?: readonly Schedule[];
}

export interface NameAt {
  readonly name: string;
  readonly line: number;
}

/** Reads a node's line; a document-level helper shared with the entry reader. */

const EXPECTED_TOP = 'expected a top-level "schedules:" list';

/** A scalar for a message: strings quoted in 80 characters at most, other values as JSON. */
function describeScalar(value: unknown): string {
  return typeof value === 'string' ? quoteInput(value) : clip(String(JSON.stringify(value)));
}

/** JSON.parse's message and the line it points at (Node 20 gives a position, later ones a line). */
function jsonSyntaxIssue(text: string, file: string, error: Error): ScheduleIssue {
  let line = 1;
  const lineMatch = /\(line (\d+) column \d+\)/.exec(error.message);
  const positionMatch = /at position (\d+)/.exec(error.message);
  if (lineMatch) line = Number(lineMatch[1]);
  else if (positionMatch) line = text.slice(0, Number(positionMatch[1])).split('\n').length;
  else if (/end of JSON input/.test(error.message)) line = text.split('\n').length;
  const reason = error.message
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/,?\s*"[^"]*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/, '');
  return {
    file,
    line,
    schedule: null,
    field: null,
    message: `JSON syntax error: ${reason} (expected valid JSON)`,
  };
}

function yamlHint(code: string, sourceLine: string): string {
  if (code === 'MULTIPLE_DOCS') return 'expected one YAML document per file';
  if (/^\s*-?\s*cron\s*:\s*[*@]/.test(sourceLine)) {
    return 'expected valid YAML; quote cron expressions: cron: "*/5 * * * *"';
  }
  if (code === 'BAD_SCALAR_START')
    return 'expected valid YAML; quote values that start with @, * or !';
  return 'expected valid YAML';
}

const BLANK_OR_COMMENT = /^\s*(#.*)?$/;

function emptyText(text: string): boolean {
  // Line by line up to the first with content: a real file answers on its first lines.
  for (let start = 0; ; ) {
    const newline = text.indexOf('\n', start);
    if (!BLANK_OR_COMMENT.test(text.slice(start, newline === -1 ? text.length : newline))) {
      return false;
    }
    if (newline === -1) return true;
    start = newline + 1;
  }
}

/**
 * Parses one schedule file. `file` names it in every issue. YAML for any name, JSON syntax checked
 * first for `*.json`. Never throws: every problem, syntax included, is an issue; `schedules` is
 * empty whenever `issues` is not, so a file is used whole or not at all.
 *
 * Files of the common shape are read by the fast path (`fast.ts`); whenever it declines a
 * file or finds any problem in it, the file is read again by `parseScheduleDocument`, so every
 * issue comes from the one full reader and its messages and lines never depend on the path.
 */
export function parseScheduleFile(text: string, file: string, options: ParseOptions): ParsedFile {
  if (!file.toLowerCase().endsWith('.json')) {
    const tree = readFastTree(text);
    if (tree !== null) {
      const fast = readRoot(tree.root, lineLocator(tree.lineCounter, null), file, options);
      if (fast.issues.length === 0) return fast;
    }
  }
  return parseScheduleDocument(text, file, options);
}

/** Problems reported per file at most; a file of garbage must not flood the log on every reload. */
export const MAX_ISSUES_PER_FILE = 50;

function capIssues(parsed: ParsedFile, file: string): ParsedFile {
  if (parsed.issues.length <= MAX_ISSUES_PER_FILE) return parsed;
  const shown = parsed.issues.slice(0, MAX_ISSUES_PER_FILE);
  const more = parsed.issues.length - shown.length;
  return {
    ...parsed,
    issues: [
      ...shown,
      {
        file,
        line: shown[shown.length - 1]?.line ?? 0,
        schedule: null,
        field: null,
        message: `${more} more problems not shown (expected at most ${MAX_ISSUES_PER_FILE} per file: fix these first)`,
      },
    ],
  };
}

/**
 * The reference reader behind `parseScheduleFile`: yaml's full Document, with node ranges for
 * every line. Same contract; exported so tests can hold the fast path to it.
 */
export function parseScheduleDocument(
  text: string,
  file: string,
  options: ParseOptions,
): ParsedFile {
  return capIssues(readDocument(text, file, options), file);
}

function readDocument(text: string, file: string, options: ParseOptions): ParsedFile {
  const issue = (line: number, message: string, field: string | null = null): ParsedFile => ({
    schedules: [],
    issues: [{ file, line, schedule: null, field, message }],
    names: [],
  });
  if (emptyText(text)) return issue(1, `file is empty (${EXPECTED_TOP})`);
  if (file.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (error) {
      return { schedules: [], issues: [jsonSyntaxIssue(text, file, error as Error)], names: [] };
    }
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const lines = text.split('\n');
    const kind = file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML';
    const issues = document.errors.map((error): ScheduleIssue => {
      const line = error.linePos?.[0].line ?? 1;
      const reason = (error.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      const friendly =
        error.code === 'MULTIPLE_DOCS' ? 'the file holds more than one document' : reason;
      const hint = yamlHint(error.code, lines[line - 1] ?? '');
      return {
        file,
        line,
        schedule: null,
        field: null,
        message: `${kind} syntax error: ${friendly} (${hint})`,
      };
    });
    // The YAML parser can report one mistake several times over; say each once.
    const unique = issues.filter(
      (issue, i) =>
        issues.findIndex((o) => o.line === issue.line && o.message === issue.message) === i,
    );
    return { schedules: [], issues: unique, names: [] };
  }
  const locator = lineLocator(lineCounter, document);
  return readRoot(locator.resolve(document.contents), locator, file, options);
}

/** Lines from node offsets; aliases resolved against `document` (the fast path has none). */
function lineLocator(lineCounter: LineCounter, document: Document | null): Locator {
  return {
    line(node) {
      const range =
        node && 'range' in node
          ? node.range
          : node && 'key' in node
            ? (node.key as Node | null)?.range
            : undefined;
      return range ? lineCounter.linePos(range[0]).line : 1;
    },
    resolve(node) {
      return document !== null && isAlias(node) ? node.resolve(document) : node;
    },
  };
}

function readRoot(
  root: unknown,
  locator: Locator,
  file: string,
  options: ParseOptions,
): ParsedFile {
  const issues: ScheduleIssue[] = [];
  if (!isMap(root)) {
    const got = isSeq(root)
      ? 'a list'
      : isScalar(root)
        ? `the value ${describeScalar(root.value)}`
        : 'nothing';
    return {
      schedules: [],
      names: [],
      issues: [
        {
          file,
          line: locator.line(root as Node),
          schedule: null,
          field: null,
          message: `the top level is ${got} (${EXPECTED_TOP})`,
        },
      ],
    };
  }
  let list: Node | null | undefined;
  let listPair: Pair | null = null;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (key === 'schedules') {
      listPair = pair;
      list = locator.resolve(pair.value) as Node | null;
    } else if (!(FILE_KEYS as readonly string[]).includes(key)) {
      issues.push({
        file,
        line: locator.line(pair),
        schedule: null,
        field: clip(key),
        message: unknownKeyMessage(key, FILE_KEYS),
      });
    }
  }
  if (listPair === null) {
    issues.push({
      file,
      line: locator.line(root),
      schedule: null,
      field: null,
      message: `"schedules:" is missing (${EXPECTED_TOP})`,
    });
    return { schedules: [], issues, names: [] };
  }
  if (!isSeq(list)) {
    const got = isMap(list)
      ? 'a mapping'
      : isScalar(list) && list.value !== null
        ? `the value ${describeScalar(list.value)}`
        : 'nothing';
    issues.push({
      file,
      line: locator.line(listPair),
      schedule: null,
      field: 'schedules',
      message: `is ${got} (expected a list of entries, each starting with "- name:")`,
    });
    return { schedules: [], issues, names: [] };
  }
  const schedules: Schedule[] = [];
  const names: NameAt[] = [];
  const seen = new Map<string, number>();
  list.items.forEach((item, index) => {
    const entry = readEntry(locator.resolve(item), item as Node, index, file, options, locator);
    issues.push(...entry.issues);
    if (entry.name !== null) {
      const first = seen.get(entry.name);
      if (first !== undefined) {
        issues.push({
          file,
          line: entry.nameLine,
          schedule: entry.name,
          field: 'name',
          message: `duplicate name ${quoteInput(entry.name)} (expected names unique across all files; first defined at ${file}:${first})`,
        });
      } else {
        seen.set(entry.name, entry.nameLine);
        names.push({ name: entry.name, line: entry.nameLine });
      }
    }
    if (entry.schedule) schedules.push(entry.schedule);
  });
  issues.sort((a, b) => a.line - b.line);
  return issues.length > 0
    ? { schedules: [], issues, names, readable: schedules }
    : { schedules, issues, names };
}

/**
 * Names defined in more than one file. `files` in load order (sorted by file name), each with
 * the names its entries give (`ParsedFile.names`, valid file or not); each repeat is an issue of
 * the later file, pointing at the first definition.
 */
export function findDuplicateNames(
  files: readonly { file: string; names: readonly NameAt[] }[],
): ScheduleIssue[] {
  const first = new Map<string, { file: string; line: number }>();
  const issues: ScheduleIssue[] = [];
  for (const { file, names } of files) {
    for (const { name, line } of names) {
      const earlier = first.get(name);
      if (earlier && earlier.file !== file) {
        issues.push({
          file,
          line,
          schedule: name,
          field: 'name',
          message: `duplicate name ${quoteInput(name)} (expected names unique across all files; first defined at ${earlier.file}:${earlier.line})`,
        });
      } else if (!earlier) first.set(name, { file, line });
    }
  }
  return issues;
}

export type { Locator, ParseOptions } from './types.ts';
