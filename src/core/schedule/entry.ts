/**
 * One entry of `schedules:` -> a Schedule with defaults applied, or every problem with it. Pure.
 */
import { isMap, isScalar, type Node, type Pair, type YAMLMap } from 'yaml';
import { isBranchGlob } from '../branch-glob.ts';
import { checkCronExpression } from '../cron.ts';
import type { ScheduleIssue } from '../errors.ts';
import type { ChainRule, OverlapPolicy, Schedule, UnchangedPolicy } from '../model.ts';
import { clip, quoteInput } from '../quote.ts';
import {
  type Checked,
  checkBoolean,
  checkDuration,
  checkJitter,
  checkName,
  checkOverlap,
  checkText,
  checkTimezone,
  checkUnchanged,
  DEFAULT_CATCHUP_MS,
  DEFAULT_WITHIN_MS,
  describeType,
  MAX_LENGTHS,
  SCHEDULE_KEYS,
  unknownKeyMessage,
} from './fields.ts';
import {
  type Field,
  readAfter,
  readBranches,
  readStale,
  shortestIntervalMs,
  toPlain,
} from './parts.ts';
import type { Locator, ParseOptions } from './types.ts';

export interface ReadEntry {
  readonly schedule: Schedule | null;
  readonly issues: ScheduleIssue[];
  /** The entry's name when it has a valid one, for duplicate checks. */
  readonly name: string | null;
  readonly nameLine: number;
}

const SCHEDULE_KEY_SET: ReadonlySet<string> = new Set(SCHEDULE_KEYS);
const CRON_EXPECTED = 'a cron expression such as "0 2 * * *"';
const PROJECT_EXPECTED = 'a project UUID or name such as acme/api';

// Field checks shared by every entry (not closures made per entry: a fleet has thousands).
function checkCronField(value: unknown): Checked<string> {
  const text = checkText(value, CRON_EXPECTED, MAX_LENGTHS.cron);
  if (!text.ok) return text;
  const problem = checkCronExpression(text.value);
  if (!problem) return text;
  // Nickname messages already name the expression.
  const named = problem.startsWith('@') || problem.startsWith('unknown nickname');
  return { ok: false, message: named ? problem : `${quoteInput(text.value)} ${problem}` };
}
const checkProjectField = (value: unknown) =>
  checkText(value, PROJECT_EXPECTED, MAX_LENGTHS.project);
const checkCatchupField = (value: unknown) => checkDuration(value, 'never');
const checkJitterField = (value: unknown) => checkDuration(value, null);
const WITHIN_EXPECTED =
  'a duration such as 6h or 1d: how close together the upstream builds must be';
function checkWithinField(value: unknown): Checked<number> {
  const checked = checkDuration(value, null);
  if (checked.ok && checked.value === 0)
    return { ok: false, message: `is 0 (expected ${WITHIN_EXPECTED})` };
  return checked;
}

function fieldsOf(map: YAMLMap, locator: Locator, unknown: (key: string, pair: Pair) => void) {
  const fields = new Map<string, Field>();
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const node = locator.resolve(pair.value) as Node | null;
    const value = isScalar(node) ? node.value : (node ?? null);
    if (SCHEDULE_KEY_SET.has(key)) {
      fields.set(key, { pair, value: toPlain(value), node });
    } else unknown(key, pair);
  }
  return fields;
}

/** Reads one list item; `index` is 0-based, messages say `#1` for the first entry without a name. */
export function readEntry(
  value: unknown,
  itemNode: Node,
  index: number,
  file: string,
  options: ParseOptions,
  locator: Locator,
): ReadEntry {
  const issues: ScheduleIssue[] = [];
  const entryLine = locator.line(itemNode);
  if (!isMap(value)) {
    const got = isScalar(value) ? describeType(value.value) : describeType(toPlain(value));
    issues.push({
      file,
      line: entryLine,
      schedule: `#${index + 1}`,
      field: null,
      message: `is ${got} (expected a mapping with name, cron, project and branch)`,
    });
    return { schedule: null, issues, name: null, nameLine: entryLine };
  }
  const unknownKeys: [string, Pair][] = [];
  const fields = fieldsOf(value, locator, (key, pair) => unknownKeys.push([key, pair]));
  const nameField = fields.get('name');
  const nameChecked = nameField ? checkName(nameField.value) : null;
  // An invalid name still labels its entry's problems, cut short (the formatter escapes it).
  const label = nameChecked?.ok
    ? nameChecked.value
    : typeof nameField?.value === 'string' && nameField.value !== ''
      ? clip(nameField.value)
      : `#${index + 1}`;
  const report = (line: number, field: string | null, message: string) =>
    issues.push({ file, line, schedule: label, field, message });
  for (const [key, pair] of unknownKeys) {
    report(locator.line(pair), clip(key), unknownKeyMessage(key, SCHEDULE_KEYS));
  }
  /** Checks a field if present; reports and returns null when missing-and-required or invalid. */
  function take<T>(
    key: string,
    check: (value: unknown) => Checked<T>,
    fallback: T | null,
    expected?: string,
  ): T | null {
    const field = fields.get(key);
    if (!field) {
      if (fallback === null && expected)
        report(entryLine, key, `is missing (expected ${expected})`);
      return fallback;
    }
    const checked = check(field.value);
    if (!checked.ok) {
      report(locator.line(field.pair), key, checked.message);
      return null;
    }
    return checked.value;
  }

  const name = take('name', checkName, null, 'a unique name such as nightly-api');
  // A schedule fires on a cron expression or after upstream builds (a chain): exactly one.
  const afterField = fields.get('after');
  const cronField = fields.get('cron');
  if (afterField && cronField) {
    report(
      locator.line(afterField.pair),
      'after',
      'given together with "cron" (expected either cron: for a timetable or after: for a chain, not both)',
    );
  }
  const isChain = afterField !== undefined && cronField === undefined;
  const cron = isChain
    ? null
    : take('cron', checkCronField, null, `${CRON_EXPECTED}, or after: upstream builds`);
  const upstreams = cronField ? null : readAfter(afterField, report, locator);
  const withinField = fields.get('within');
  if (withinField && !isChain) {
    report(
      locator.line(withinField.pair),
      'within',
      'applies to chains only (expected it next to after:)',
    );
  }
  const withinMs = isChain
    ? take('within', checkWithinField, DEFAULT_WITHIN_MS)
    : DEFAULT_WITHIN_MS;
  const timezone = take('timezone', checkTimezone, options.defaultTimezone);
  const project = take('project', checkProjectField, null, PROJECT_EXPECTED);
  const branches = readBranches(fields, entryLine, report, locator);
  const catchupMs = take('catchup', checkCatchupField, DEFAULT_CATCHUP_MS);
  const overlap = take<OverlapPolicy>('overlap', checkOverlap, 'allow');
  const unchanged = take<UnchangedPolicy>('unchanged', checkUnchanged, 'build');
  const jitterMs = take('jitter', checkJitterField, 0);
  const enabled = take('enabled', checkBoolean, true);
  const stale = readStale(fields.get('stale'), report, locator);
  if (isChain && branches?.some(isBranchGlob)) {
    const field = fields.get('branches') ?? fields.get('branch');
    report(
      field ? locator.line(field.pair) : entryLine,
      field === fields.get('branches') ? 'branches' : 'branch',
      'has a glob (expected branch names: a chain builds named branches once per upstream build)',
    );
  }
  const staleField = fields.get('stale');
  if (isChain && staleField) {
    report(
      locator.line(staleField.pair),
      'stale',
      'applies to cron schedules only (a chain builds its branches once per upstream build)',
    );
  }

  if (jitterMs !== null && jitterMs > 0) {
    const interval = cron !== null && timezone !== null ? shortestIntervalMs(cron, timezone) : null;
    const problem = checkJitter(jitterMs, interval);
    const jitterField = fields.get('jitter');
    if (problem && jitterField) report(locator.line(jitterField.pair), 'jitter', problem);
  }
  const nameLine = nameField ? locator.line(nameField.pair) : entryLine;
  if (
    issues.length > 0 ||
    name === null ||
    (cron === null && !isChain) ||
    (isChain && (upstreams === null || upstreams === undefined || withinMs === null)) ||
    timezone === null ||
    project === null ||
    branches === null ||
    catchupMs === null ||
    overlap === null ||
    unchanged === null ||
    jitterMs === null ||
    enabled === null ||
    stale === undefined
  ) {
    return { schedule: null, issues, name, nameLine };
  }
  const after: ChainRule | null =
    isChain && upstreams && withinMs !== null
      ? Object.freeze({ upstreams: Object.freeze(upstreams), withinMs })
      : null;
  const schedule: Schedule = Object.freeze({
    name,
    cron,
    after,
    timezone,
    project,
    branches: Object.freeze(branches),
    catchupMs,
    overlap,
    unchanged,
    jitterMs,
    enabled,
    stale,
    source: Object.freeze({ file, line: entryLine }),
  });
  return { schedule, issues, name, nameLine };
}
