/**
 * Fault injection: which request fails, and how, drawn from a seeded PRNG so a sequence is
 * reproducible. Faults apply to API routes only, optionally narrowed by `only` patterns.
 */
import { SimulatorError } from './errors.ts';
import { createPrng } from './ids.ts';
import type { Faults } from './types.ts';

/** What to do instead of (or after) handling a request. */
export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'error'; status: 500 | 502 | 503 }
  | { kind: 'timeout' }
  | { kind: 'reset' };

const RATES = ['errorRate', 'timeoutRate', 'resetRate', 'ghostCreateRate'] as const;
const KEYS = [...RATES, 'latencyMs', 'only', 'seed'];

/** Checks a Faults object (from code or POST /_simulator/faults), listing every problem. */
export function validateFaults(value: unknown): Faults {
  const issues: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimulatorError('ERR_SIMULATOR_FAULTS', 'invalid faults: must be a JSON object');
  }
  const faults = value as Record<string, unknown>;
  for (const key of Object.keys(faults)) {
    if (!KEYS.includes(key))
      issues.push(`${key}: unknown key (expected one of ${KEYS.join(', ')})`);
  }
  for (const key of RATES) {
    const rate = faults[key];
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) {
      issues.push(`${key}: must be a number from 0 to 1 (got ${JSON.stringify(rate)})`);
    }
  }
  const latency = faults.latencyMs;
  if (
    latency !== undefined &&
    (typeof latency !== 'number' || !(latency >= 0 && latency <= 600_000))
  ) {
    issues.push(
      `latencyMs: must be a number of milliseconds from 0 to 600000 (got ${JSON.stringify(latency)})`,
    );
  }
  if (faults.seed !== undefined && !Number.isInteger(faults.seed)) {
    issues.push(`seed: must be an integer (got ${JSON.stringify(faults.seed)})`);
  }
  const only = faults.only;
  if (
    only !== undefined &&
    (!Array.isArray(only) ||
      only.some((p) => typeof p !== 'string' || !/^\S+(\s+\S+)?$/.test(p.trim())))
  ) {
    issues.push('only: must be a list of "METHOD /path" patterns, e.g. "POST /builds"');
  }
  if (issues.length > 0) {
    throw new SimulatorError('ERR_SIMULATOR_FAULTS', `invalid faults:\n  ${issues.join('\n  ')}`);
  }
  return faults as Faults;
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/**
 * True when "METHOD /path" matches a request: the method equals (or is `*`), and the pattern's
 * segments are a tail of the route template (`/organizations/:org/projects/:project/builds`) or
 * of the actual path, `*` matching any segment. So "POST /builds" is "create build" only.
 */
export function matchesRoute(
  pattern: string,
  method: string,
  template: string,
  path: string,
): boolean {
  const [patternMethod = '*', patternPath = ''] = pattern.trim().split(/\s+/);
  if (patternMethod !== '*' && patternMethod.toUpperCase() !== method.toUpperCase()) return false;
  const want = segments(patternPath);
  const tailMatches = (have: string[]) => {
    if (want.length > have.length) return false;
    const tail = have.slice(have.length - want.length);
    return want.every(
      (w, i) => w === '*' || w === tail[i] || (w.startsWith(':') && tail[i]!.startsWith(':')),
    );
  };
  return tailMatches(segments(template)) || tailMatches(segments(path));
}

/** Decides faults for requests; `set` replaces the faults and restarts the PRNG. */
export class FaultInjector {
  private faults: Faults = {};
  private random: () => number = createPrng(1);

  constructor(faults: Faults = {}) {
    this.set(faults);
  }

  set(faults: Faults): void {
    this.faults = { ...validateFaults(faults) };
    this.random = createPrng(faults.seed ?? 1);
  }

  get current(): Faults {
    return { ...this.faults };
  }

  /** Real milliseconds to wait before answering a request this route. */
  latencyMs(method: string, template: string, path: string): number {
    return this.applies(method, template, path) ? (this.faults.latencyMs ?? 0) : 0;
  }

  private applies(method: string, template: string, path: string): boolean {
    const only = this.faults.only;
    return only === undefined || only.some((p) => matchesRoute(p, method, template, path));
  }

  /** Whether this request fails before it is handled (and then has no effect). */
  decide(method: string, template: string, path: string): FaultDecision {
    const { errorRate = 0, timeoutRate = 0, resetRate = 0 } = this.faults;
    if (errorRate + timeoutRate + resetRate === 0 || !this.applies(method, template, path))
      return { kind: 'none' };
    const roll = this.random();
    const variant = this.random();
    if (roll < errorRate)
      return { kind: 'error', status: ([500, 502, 503] as const)[Math.floor(variant * 3)]! };
    if (roll < errorRate + timeoutRate) return { kind: 'timeout' };
    if (roll < errorRate + timeoutRate + resetRate) return { kind: 'reset' };
    return { kind: 'none' };
  }

  /** After a create built something: whether to hide that from the client, and how. */
  decideGhost(method: string, template: string, path: string): FaultDecision {
    const rate = this.faults.ghostCreateRate ?? 0;
    if (rate === 0 || !this.applies(method, template, path)) return { kind: 'none' };
    const roll = this.random();
    const variant = this.random();
    if (roll >= rate) return { kind: 'none' };
    const kinds: FaultDecision[] = [
      { kind: 'error', status: 500 },
      { kind: 'reset' },
      { kind: 'timeout' },
    ];
    return kinds[Math.floor(variant * 3)]!;
  }
}
