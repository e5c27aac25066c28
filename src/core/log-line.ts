/**
 * One pino JSON log line as one readable line, for `codeship-cron logs` on a server (where the
 * development-only pino-pretty is not installed) and for the demo without it. Pure.
 *
 *   2026-06-15 01:30:00Z INFO  build triggered  schedule=nightly-api branch=main attempt=1
 */

/** Fields shown in the line's head, not repeated as `key=value`. */
const HEAD_FIELDS = new Set(['time', 'level', 'msg']);
/** pino's numeric levels, for logs written without the label formatter. */
const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** A value as `key=value` shows it: plain text when it has no space or quote, JSON otherwise. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object') {
    // An error is its message (and code); the stack stays in the JSON log.
    const { message, code } = value as { message?: unknown; code?: unknown };
    if (typeof message === 'string') {
      return JSON.stringify(typeof code === 'string' ? `${code}: ${message}` : message);
    }
  }
  return JSON.stringify(value) ?? String(value);
}

function formatTime(value: unknown): string {
  const at = typeof value === 'number' ? new Date(value) : new Date(String(value));
  if (Number.isNaN(at.getTime())) return String(value ?? '-');
  return at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * `line` made readable: time, level, message, then every other field as `key=value`. A line that
 * is not a JSON object comes back as it is.
 */
export function formatLogLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const record = entry as Record<string, unknown>;
  const level =
    typeof record.level === 'number'
      ? (LEVEL_NAMES[record.level] ?? String(record.level))
      : String(record.level ?? '-');
  const fields = Object.entries(record)
    .filter(([key, value]) => !HEAD_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const head = `${formatTime(record.time)} ${level.toUpperCase().padEnd(5)} ${String(record.msg ?? '')}`;
  return fields.length === 0 ? head : `${head}  ${fields.join(' ')}`;
}
