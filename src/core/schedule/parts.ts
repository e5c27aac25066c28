/**
 * Parts of a schedule entry with structure of their own: branches, `stale:`, and the sampled
 * interval the jitter rule compares against. Pure.
 */
import { isMap, isScalar, type Node, type Pair } from 'yaml';
import { checkCronExpression, firesBetween } from '../cron.ts';
import type { StaleRule, Upstream, UpstreamStatus } from '../model.ts';
import { clip, quoteInput } from '../quote.ts';
import {
  checkBranch,
  checkDuration,
  checkName,
  checkStaleMax,
  checkText,
  checkUpstreamStatus,
  DEFAULT_STALE_MAX,
  describeType,
  MAX_BRANCHES,
  MAX_LENGTHS,
  MAX_UPSTREAMS,
  STALE_KEYS,
  UPSTREAM_KEYS,
  unknownKeyMessage,
} from './fields.ts';
import type { Locator } from './types.ts';

/** A key of an entry: its pair (for the line), its plain value and its resolved node. */
export interface Field {
  readonly pair: Pair;
  readonly value: unknown;
  readonly node: Node | null;
}

/** Sequences become arrays of plain values; mappings stay nodes so their keys keep their lines. */
export function toPlain(value: unknown): unknown {
  if (value && typeof value === 'object' && 'items' in value && !isMap(value)) {
    return (value as { items: unknown[] }).items.map((item) =>
      isScalar(item) ? item.value : item,
    );
  }
  return value;
}

/** Fires sampled to find an expression's shortest interval (for the jitter rule). */
const SAMPLE_FROM = new Date('2026-01-01T00:00:00Z');
const SAMPLE_UNTIL = new Date('2028-01-01T00:00:00Z');

/**
 * The shortest time between two consecutive fires over a fixed sample (up to 20 fires from
 * 2026-01-01, DST days included), or null when the expression is invalid or fires once at most.
 */
export function shortestIntervalMs(expression: string, timezone: string): number | null {
  const key = `${timezone}\u0000${expression}`;
  // Fleets share a few hundred (expression, zone) pairs: sample each once.
  if (intervalCache.has(key)) return intervalCache.get(key) ?? null;
  let shortest: number | null = null;
  if (checkCronExpression(expression) === null) {
    const fires = firesBetween(expression, timezone, SAMPLE_FROM, SAMPLE_UNTIL, 20);
    for (let i = 1; i < fires.length; i += 1) {
      const gap = (fires[i]?.getTime() ?? 0) - (fires[i - 1]?.getTime() ?? 0);
      if (shortest === null || gap < shortest) shortest = gap;
    }
  }
  if (intervalCache.size >= 4096) intervalCache.clear();
  intervalCache.set(key, shortest);
  return shortest;
}

const intervalCache = new Map<string, number | null>();

export type Report = (line: number, field: string | null, message: string) => void;

const BRANCH_EXPECTED = '"branch: NAME" or "branches: [NAMES or globs]"';

export function readBranches(
  fields: Map<string, Field>,
  entryLine: number,
  report: Report,
  locator: Locator,
): string[] | null {
  const single = fields.get('branch');
  const many = fields.get('branches');
  if (single && many) {
    report(
      locator.line(many.pair),
      'branches',
      `given together with "branch" (expected ${BRANCH_EXPECTED}, not both)`,
    );
    return null;
  }
  if (!single && !many) {
    report(entryLine, 'branch', `is missing (expected ${BRANCH_EXPECTED})`);
    return null;
  }
  if (single) {
    const checked = checkBranch(single.value);
    if (!checked.ok) report(locator.line(single.pair), 'branch', checked.message);
    return checked.ok ? [checked.value] : null;
  }
  const field = many as Field;
  if (Array.isArray(field.value) && field.value.length > MAX_BRANCHES) {
    report(
      locator.line(field.pair),
      'branches',
      `lists ${field.value.length} branches (expected at most ${MAX_BRANCHES}; a glob such as release/* covers many)`,
    );
    return null;
  }
  if (!Array.isArray(field.value) || field.value.length === 0) {
    const got = Array.isArray(field.value) ? 'an empty list' : describeType(field.value);
    report(
      locator.line(field.pair),
      'branches',
      `is ${got} (expected a list of branch names or globs, e.g. ["release/*", main])`,
    );
    return null;
  }
  const result: string[] = [];
  let valid = true;
  const items = (field.node as unknown as { items: Node[] }).items;
  field.value.forEach((item, i) => {
    const checked = checkBranch(isMap(item) ? {} : item);
    const line = locator.line(items[i]);
    if (!checked.ok) {
      report(line, `branches[${i}]`, checked.message);
      valid = false;
    } else if (result.includes(checked.value)) {
      report(
        line,
        `branches[${i}]`,
        `${quoteInput(checked.value)} is listed twice (expected each branch once)`,
      );
      valid = false;
    } else result.push(checked.value);
  });
  return valid ? result : null;
}

/** `stale:` -> StaleRule, null when absent, undefined when invalid (already reported). */
export function readStale(
  field: Field | undefined,
  report: Report,
  locator: Locator,
): StaleRule | null | undefined {
  if (!field) return null;
  if (!isMap(field.node)) {
    report(
      locator.line(field.pair),
      'stale',
      `is ${describeType(toPlain(field.value))} (expected a mapping such as { older_than: 7d, max: 10 })`,
    );
    return undefined;
  }
  let olderThanMs: number | null = null;
  let max = DEFAULT_STALE_MAX;
  let valid = true;
  let seenOlderThan = false;
  for (const pair of field.node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const node = locator.resolve(pair.value);
    const value = isScalar(node) ? node.value : toPlain(node ?? null);
    const line = locator.line(pair);
    if (key === 'older_than') {
      seenOlderThan = true;
      const checked = checkDuration(value, null);
      if (checked.ok && checked.value === 0) {
        report(
          line,
          'stale.older_than',
          'is 0 (expected a duration such as 7d: how old the newest build of a branch must be)',
        );
        valid = false;
      } else if (!checked.ok) {
        report(line, 'stale.older_than', checked.message);
        valid = false;
      } else olderThanMs = checked.value;
    } else if (key === 'max') {
      const checked = checkStaleMax(value);
      if (!checked.ok) {
        report(line, 'stale.max', checked.message);
        valid = false;
      } else max = checked.value;
    } else {
      report(line, `stale.${clip(key)}`, unknownKeyMessage(key, STALE_KEYS));
      valid = false;
    }
  }
  if (!seenOlderThan) {
    report(
      locator.line(field.pair),
      'stale.older_than',
      'is missing (expected a duration such as 7d: how old the newest build of a branch must be)',
    );
    return undefined;
  }
  return valid && olderThanMs !== null ? Object.freeze({ olderThanMs, max }) : undefined;
}

const UPSTREAM_EXPECTED =
  'a list of upstreams such as [{ project: acme/api, branch: main }] or [{ schedule: nightly-api }]';

/**
 * `after:` -> the chain's upstreams, null when absent, undefined when invalid (already reported).
 * Each upstream is `{ project, branch, status? }` (builds by anyone) or `{ schedule, status? }`
 * (builds of one of our schedules); one mapping alone counts as a list of one.
 */
export function readAfter(
  field: Field | undefined,
  report: Report,
  locator: Locator,
): Upstream[] | null | undefined {
  if (!field) return null;
  const node = field.node;
  const items: unknown[] = isMap(node)
    ? [node]
    : node && 'items' in node && Array.isArray((node as { items: unknown }).items)
      ? (node as unknown as { items: unknown[] }).items
      : [];
  if (items.length === 0) {
    const got = Array.isArray(field.value) ? 'an empty list' : describeType(toPlain(field.value));
    report(locator.line(field.pair), 'after', `is ${got} (expected ${UPSTREAM_EXPECTED})`);
    return undefined;
  }
  if (items.length > MAX_UPSTREAMS) {
    report(
      locator.line(field.pair),
      'after',
      `lists ${items.length} upstreams (expected at most ${MAX_UPSTREAMS})`,
    );
    return undefined;
  }
  const upstreams: Upstream[] = [];
  let valid = true;
  items.forEach((raw, i) => {
    const upstream = readUpstream(
      locator.resolve(raw),
      raw as Node,
      `after[${i}]`,
      report,
      locator,
    );
    if (!upstream) {
      valid = false;
      return;
    }
    const key = upstreamKey(upstream);
    if (upstreams.some((u) => upstreamKey(u) === key)) {
      report(upstream.line, `after[${i}]`, 'is listed twice (expected each upstream once)');
      valid = false;
      return;
    }
    upstreams.push(upstream);
  });
  return valid ? upstreams : undefined;
}

/** What makes two upstreams the same (their status aside). */
export function upstreamKey(upstream: Upstream): string {
  return upstream.kind === 'schedule'
    ? `schedule\u0000${upstream.schedule}`
    : `project\u0000${upstream.project.toLowerCase()}\u0000${upstream.branch}`;
}

function readUpstream(
  value: unknown,
  itemNode: Node,
  path: string,
  report: Report,
  locator: Locator,
): Upstream | null {
  const line = locator.line(itemNode);
  if (!isMap(value)) {
    report(
      line,
      path,
      `is ${describeType(isScalar(value) ? value.value : toPlain(value))} (expected a mapping such as { project: acme/api, branch: main } or { schedule: nightly-api })`,
    );
    return null;
  }
  const fields = new Map<string, { value: unknown; line: number }>();
  let valid = true;
  for (const pair of value.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const node = locator.resolve(pair.value);
    const plain = isScalar(node) ? node.value : toPlain(node ?? null);
    if ((UPSTREAM_KEYS as readonly string[]).includes(key)) {
      fields.set(key, { value: plain, line: locator.line(pair) });
    } else {
      report(locator.line(pair), `${path}.${clip(key)}`, unknownKeyMessage(key, UPSTREAM_KEYS));
      valid = false;
    }
  }
  let status: UpstreamStatus = 'success';
  const statusField = fields.get('status');
  if (statusField) {
    const checked = checkUpstreamStatus(statusField.value);
    if (checked.ok) status = checked.value;
    else {
      report(statusField.line, `${path}.status`, checked.message);
      valid = false;
    }
  }
  const schedule = fields.get('schedule');
  const project = fields.get('project');
  const branch = fields.get('branch');
  if (schedule) {
    if (project || branch) {
      report(
        (project ?? branch)?.line ?? line,
        `${path}.${project ? 'project' : 'branch'}`,
        'given together with "schedule" (expected either { schedule } or { project, branch })',
      );
      return null;
    }
    const name = checkName(schedule.value);
    if (!name.ok) {
      report(schedule.line, `${path}.schedule`, name.message);
      return null;
    }
    return valid ? { kind: 'schedule', schedule: name.value, status, line } : null;
  }
  if (!project) {
    report(
      line,
      `${path}.project`,
      'is missing (expected { project: acme/api, branch: main } or { schedule: nightly-api })',
    );
    return null;
  }
  const projectChecked = checkText(
    project.value,
    'a project UUID or name such as acme/api',
    MAX_LENGTHS.project,
  );
  if (!projectChecked.ok) {
    report(project.line, `${path}.project`, projectChecked.message);
    valid = false;
  }
  if (!branch) {
    report(line, `${path}.branch`, 'is missing (expected the upstream branch, such as main)');
    return null;
  }
  const branchChecked = checkBranch(branch.value);
  if (!branchChecked.ok) {
    report(branch.line, `${path}.branch`, branchChecked.message);
    valid = false;
  }
  if (!valid || !projectChecked.ok || !branchChecked.ok) return null;
  return {
    kind: 'project',
    project: projectChecked.value,
    branch: branchChecked.value,
    status,
    line,
  };
}
