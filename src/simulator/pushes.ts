/**
 * Pushes by others: whether a create gets a push by someone else on its branch, and when, drawn
 * from a seeded PRNG so a sequence of creates always meets the same pushes.
 */
import { SimulatorError } from './errors.ts';
import { createPrng } from './ids.ts';
import type { Pushes } from './types.ts';

/** Who pushes when neither the options nor the caller name someone. */
export const DEFAULT_PUSHER = 'someone-else';

const KEYS = ['rate', 'spreadMs', 'seed', 'username'];
const MAX_SPREAD_MS = 86_400_000;

/**
 * Checks a Pushes object (from code or POST /_simulator/pushes), listing every problem; `null`
 * means no pushes. Throws a SimulatorError `ERR_SIMULATOR_PUSHES`.
 */
export function validatePushes(value: unknown): Pushes | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SimulatorError(
      'ERR_SIMULATOR_PUSHES',
      'invalid pushes: must be a JSON object or null',
    );
  }
  const pushes = value as Record<string, unknown>;
  const issues: string[] = [];
  for (const key of Object.keys(pushes)) {
    if (!KEYS.includes(key))
      issues.push(`${key}: unknown key (expected one of ${KEYS.join(', ')})`);
  }
  const { rate, spreadMs, seed, username } = pushes;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    issues.push(`rate: must be a number from 0 to 1 (got ${JSON.stringify(rate) ?? 'nothing'})`);
  }
  if (typeof spreadMs !== 'number' || !(spreadMs >= 0 && spreadMs <= MAX_SPREAD_MS)) {
    issues.push(
      `spreadMs: must be a number of milliseconds from 0 to ${MAX_SPREAD_MS} (got ${JSON.stringify(spreadMs) ?? 'nothing'})`,
    );
  }
  if (seed !== undefined && !Number.isInteger(seed)) {
    issues.push(`seed: must be an integer (got ${JSON.stringify(seed)})`);
  }
  if (username !== undefined && (typeof username !== 'string' || username.trim() === '')) {
    issues.push(`username: must be a non-empty string (got ${JSON.stringify(username)})`);
  }
  if (issues.length > 0) {
    throw new SimulatorError('ERR_SIMULATOR_PUSHES', `invalid pushes:\n  ${issues.join('\n  ')}`);
  }
  return pushes as unknown as Pushes;
}

/** Decides pushes for creates; `set` replaces the options and restarts the PRNG. */
export class PushPlanner {
  private pushes: Pushes | null = null;
  private random: () => number = createPrng(1);

  constructor(pushes: Pushes | null = null) {
    this.set(pushes);
  }

  set(pushes: Pushes | null): void {
    const valid = validatePushes(pushes);
    this.pushes = valid === null ? null : { ...valid };
    this.random = createPrng(valid?.seed ?? 1);
  }

  /** The options in force, or null when nobody else pushes. */
  get current(): Pushes | null {
    return this.pushes === null ? null : { ...this.pushes };
  }

  /** Who pushes by default. */
  get username(): string {
    return this.pushes?.username ?? DEFAULT_PUSHER;
  }

  /**
   * For one create that built something: null when nobody pushes around it, else the push's
   * offset from the create in whole milliseconds, in [-spreadMs, +spreadMs].
   */
  decide(): number | null {
    if (this.pushes === null || this.pushes.rate === 0) return null;
    const roll = this.random();
    const spread = this.random();
    if (roll >= this.pushes.rate) return null;
    return Math.round((spread * 2 - 1) * this.pushes.spreadMs);
  }
}
