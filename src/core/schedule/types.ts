/** Types shared by the schedule file reader and its parts (no imports back into them). */
import type { Node, Pair } from 'yaml';

export interface ParseOptions {
  /** Zone of entries that name none (DEFAULT_TIMEZONE, already validated). */
  readonly defaultTimezone: string;
}

/** Where a YAML node was written, and what an alias stands for. */
export interface Locator {
  line(node: Node | Pair | null | undefined): number;
  resolve(node: unknown): unknown;
}
