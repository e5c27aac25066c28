/**
 * Input quoted in messages. Schedule files, settings and request headers may hold anything (a
 * password file behind a symlink, a megabyte of garbage, terminal escapes, bidi overrides that
 * reorder what an operator reads), and messages reach terminals and logs. So a message quotes at
 * most QUOTE_MAX_CHARS characters of any input, and shows invisible and control characters as
 * escapes. Pure.
 */

/** Characters of input a message quotes at most. */
export const QUOTE_MAX_CHARS = 80;

// C0 and C1 controls, DEL, and the invisible formatting characters that reorder or hide text
// (bidi marks, embeddings, overrides and isolates; zero-width characters; line separators;
// the byte-order mark), plus lone surrogates.
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(char: string): string {
  return SHORT[char] ?? `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** `text` with every control and invisible formatting character written as an escape (`\u001b`). */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** At most `max` characters (code points) of `text`, with `…` when cut. */
export function clip(text: string, max = QUOTE_MAX_CHARS): string {
  if (text.length <= max) return text;
  const points = Array.from(text.slice(0, max * 2 + 2));
  return points.length <= max ? text : `${points.slice(0, max).join('')}…`;
}

/**
 * `text` as a quoted excerpt for a message: `"…"`, at most `max` characters of it (then `…`),
 * backslashes and quotes escaped, control and invisible characters as escapes.
 */
export function quoteInput(text: string, max = QUOTE_MAX_CHARS): string {
  const cut = clip(text, max);
  const ellipsis = cut.endsWith('…') && cut !== text;
  const body = ellipsis ? cut.slice(0, -1) : cut;
  const escaped = escapeControl(body.replace(/[\\"]/g, (c) => `\\${c}`));
  return `"${escaped}"${ellipsis ? '…' : ''}`;
}
