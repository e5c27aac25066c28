import { clip, escapeControl } from './quote.ts';

/**
 * Every error this program raises on purpose. Each has a stable `code` that scripts and tests rely
 * on, a message that says what went wrong, where, and what was expected, and never a credential.
 */
export class CodeshipCronError extends Error {
  override name = 'CodeshipCronError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One problem in one schedule file, located as precisely as the file allows. */
export interface ScheduleIssue {
  file: string;
  line: number;
  schedule: string | null;
  field: string | null;
  message: string;
}

/** Longest message an issue prints: its text plus a few quotes of at most 80 characters each. */
const MAX_MESSAGE_CHARS = 600;

/**
 * Formats an issue as `FILE:LINE: schedule NAME: field: what is wrong (what was expected)`.
 * Line 0 means the whole file or folder (unreadable, missing): printed as `FILE: ...`. Every part
 * comes out with control and invisible characters escaped and cut to a bounded length, whatever
 * the file held (messages already quote input in 80 characters; this is the safety net).
 */
export function formatScheduleIssue(issue: ScheduleIssue): string {
  const safe = (text: string, max = 2 * 80) => escapeControl(clip(text, max));
  const file = safe(issue.file, 1024);
  const parts = [issue.line > 0 ? `${file}:${issue.line}` : file];
  if (issue.schedule !== null) parts.push(`schedule ${safe(issue.schedule)}`);
  if (issue.field !== null) parts.push(safe(issue.field));
  parts.push(safe(issue.message, MAX_MESSAGE_CHARS));
  return parts.join(': ');
}

/** Invalid configuration; `issues` lists every problem at once. */
export class ConfigError extends CodeshipCronError {
  override name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('ERR_CONFIG_INVALID', `invalid configuration:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

/** Ledger problems: cannot open, newer schema than this program knows, corrupt file. */
export class LedgerError extends CodeshipCronError {
  override name = 'LedgerError';
}

export type CodeshipErrorCode =
  | 'ERR_CODESHIP_AUTH'
  | 'ERR_CODESHIP_RATE_LIMIT'
  | 'ERR_CODESHIP_PERMISSION'
  | 'ERR_CODESHIP_NOT_FOUND'
  | 'ERR_CODESHIP_BAD_REQUEST'
  | 'ERR_CODESHIP_UNAVAILABLE'
  | 'ERR_CODESHIP_BAD_RESPONSE'
  | 'ERR_CODESHIP_RESPONSE_TOO_LARGE'
  | 'ERR_CODESHIP_OUTCOME_UNKNOWN';

/**
 * An error talking to Codeship, by meaning rather than by status code. `status` is the HTTP status
 * when there was one; `apiErrors` is the API's own `errors[]`; `method` and `path` name the call
 * (a path, never a URL with credentials or a query).
 */
export class CodeshipError extends CodeshipCronError {
  override name = 'CodeshipError';
  declare readonly code: CodeshipErrorCode;
  readonly status: number | null;
  readonly apiErrors: readonly string[];
  readonly method: string;
  readonly path: string;
  constructor(
    code: CodeshipErrorCode,
    message: string,
    details: {
      status?: number | null;
      apiErrors?: readonly string[];
      method?: string;
      path?: string;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.status = details.status ?? null;
    this.apiErrors = details.apiErrors ?? [];
    this.method = details.method ?? '';
    this.path = details.path ?? '';
  }
}

/** Turns anything caught into an Error, so `catch (e)` never handles `unknown` by hand. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/**
 * True for the error a fenced ledger write raises in a process that does not hold the leader
 * lease (`ERR_LEDGER_NOT_LEADER`, README "Several instances on PostgreSQL"): nothing was written
 * and nothing may be sent.
 */
export function isNotLeader(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_LEDGER_NOT_LEADER';
}

/** True for the API's 404 (`ERR_CODESHIP_NOT_FOUND`): the build or project does not exist. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_CODESHIP_NOT_FOUND';
}
