/**
 * Answers and request bodies for the HTTP server: JSON errors with a stable shape
 * (`{"error": "..."}`), security headers on every answer, and bodies read with a size cap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the server refuses on purpose; `status` is a 4xx, `message` goes to the client as is. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Bodies we accept are a branch name or a login token: a few hundred bytes at most. */
export const MAX_BODY_BYTES = 16 * 1024;

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Inline CSS and JS only, no framing: the page is the only HTML this server sends. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Sends `value` as JSON. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);
}

/** Sends a whole HTML page with the page's content security policy. */
export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'text/html; charset=utf-8', html, {
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'DENY',
    ...headers,
  });
}

/** Sends plain text with an explicit content type (the metrics exposition format). */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
): void {
  send(res, status, contentType, text);
}

/** A 303 to `location` (after a form POST, so a reload does not post again). */
export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string> = {},
): void {
  send(res, 303, 'text/plain; charset=utf-8', `see ${location}\n`, { location, ...headers });
}

/** Reads the body as text, refusing more than `maxBytes` (default MAX_BODY_BYTES) with a 413. */
export async function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes)
    throw new HttpError(413, `request body too large (at most ${maxBytes} bytes)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new HttpError(413, `request body too large (at most ${maxBytes} bytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** True when the request body is an HTML form (so the answer should be a redirect, not JSON). */
export function isFormPost(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith('application/x-www-form-urlencoded');
}

/**
 * Parses a JSON object or an urlencoded form into string fields. Empty bodies are `{}`; anything
 * else (invalid JSON, an array, a non-string field) is a 400.
 */
export async function readFields(req: IncomingMessage): Promise<Record<string, string>> {
  const text = await readBody(req);
  if (isFormPost(req)) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === '') return {};
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/json')) {
    throw new HttpError(
      415,
      'send the body as application/json or application/x-www-form-urlencoded',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'request body must be a JSON object such as {"branch": "main"}');
  }
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'string') throw new HttpError(400, `field "${key}" must be a string`);
    fields[key] = field;
  }
  return fields;
}
