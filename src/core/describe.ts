/**
 * The shape of a cron expression (fields, nicknames) and its plain-English reading via cronstrue.
 * Pure; croner itself is used only in `cron.ts`.
 */
import cronstrue from 'cronstrue';
import { closestMatch } from './did-you-mean.ts';

/** Nicknames and the expressions they stand for (as in Vixie cron; `@reboot` has no meaning here). */
const CRON_NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** An expression split into its fields; `seconds` is null for the 5-field form. */
export interface CronFields {
  /** The expression with nicknames expanded and whitespace collapsed, as croner receives it. */
  readonly text: string;
  readonly seconds: string | null;
  readonly minute: string;
  readonly hour: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
}

const EXPECTED_SHAPE =
  'expected 5 fields "minute hour day-of-month month day-of-week", 6 with seconds first, or a nickname such as @daily';

/**
 * Splits an expression into fields, expanding nicknames. Returns a message (what is wrong, what
 * was expected) for an empty expression, `@reboot`, an unknown nickname or a wrong field count.
 */
export function expandNickname(expression: string): CronFields | string {
  const trimmed = expression.trim();
  if (trimmed === '') return `is empty (${EXPECTED_SHAPE})`;
  let text = trimmed.replace(/\s+/g, ' ');
  if (text.startsWith('@')) {
    const nickname = text.toLowerCase();
    if (nickname === '@reboot') {
      return '@reboot is not supported: schedules fire on the clock, not at start-up (expected a nickname such as @daily, or 5 fields)';
    }
    const expanded = CRON_NICKNAMES[nickname];
    if (expanded === undefined) {
      const hint = closestMatch(nickname, Object.keys(CRON_NICKNAMES));
      return `unknown nickname "${text}" (expected one of ${Object.keys(CRON_NICKNAMES).join(', ')}${hint ? `; did you mean ${hint}?` : ''})`;
    }
    text = expanded;
  }
  const parts = text.split(' ');
  if (parts.length !== 5 && parts.length !== 6) {
    return `has ${parts.length} field${parts.length === 1 ? '' : 's'} (${EXPECTED_SHAPE})`;
  }
  const [seconds, minute, hour, dayOfMonth, month, dayOfWeek] =
    parts.length === 6 ? parts : [null, ...parts];
  return {
    text,
    seconds: seconds ?? null,
    minute: minute ?? '',
    hour: hour ?? '',
    dayOfMonth: dayOfMonth ?? '',
    month: month ?? '',
    dayOfWeek: dayOfWeek ?? '',
  };
}

/**
 * Plain English for a valid expression (`At 02:00, Monday through Friday`), 24-hour clock.
 * Falls back to the expression itself where cronstrue cannot read it (e.g. `5#L`).
 */
export function describeCron(expression: string): string {
  const fields = expandNickname(expression);
  if (typeof fields === 'string') return expression;
  try {
    return cronstrue.toString(fields.text.replace(/#L\b/gi, 'L'), {
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
    });
  } catch {
    return `cron "${expression}"`;
  }
}
