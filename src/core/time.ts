/** Unit constants, so durations read as `5 * MINUTE` and never as bare numbers. */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** ISO-8601 UTC text with milliseconds: the one form instants take in the ledger and in JSON. */
export function toIso(at: Date): string {
  return at.toISOString();
}

/** Parses an ISO-8601 instant (`Z` or `+00:00`, with or without milliseconds); null if it is not one. */
export function parseInstant(text: string): Date | null {
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY } as const;

/**
 * Parses a duration such as `90s`, `15m`, `1h`, `7d` (or `0`) into milliseconds.
 * Returns null for anything else, so callers can say what was expected.
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = DURATION.exec(trimmed);
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Formats milliseconds as the largest whole unit that fits: `31d`, `5h`, `90s`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= DAY) return `${Math.floor(ms / DAY)}d`;
  if (abs >= HOUR) return `${Math.floor(ms / HOUR)}h`;
  if (abs >= MINUTE) return `${Math.floor(ms / MINUTE)}m`;
  if (abs >= SECOND) return `${Math.floor(ms / SECOND)}s`;
  return `${ms}ms`;
}
