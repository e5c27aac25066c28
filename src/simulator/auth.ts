/**
 * Credentials and the rate limit: Basic auth for /auth, tokens (`Bearer <t>` or bare `<t>`) with
 * an expiry for everything else, and a fixed window of requests per user.
 */
import { randomBytes } from 'node:crypto';
import type { UserRecord } from './state.ts';
import type { AuthorizationKind } from './types.ts';

/** The credential a request carried, classified; `value` is never recorded. */
export interface Credential {
  kind: AuthorizationKind;
  value: string;
}

/** Classifies an Authorization header: Basic, Bearer, a bare token, or none. */
export function readCredential(header: string | undefined): Credential {
  const raw = header?.trim() ?? '';
  if (raw === '') return { kind: 'none', value: '' };
  const [scheme, ...rest] = raw.split(/\s+/);
  const lower = scheme!.toLowerCase();
  if (lower === 'basic') return { kind: 'basic', value: rest.join(' ') };
  if (lower === 'bearer') return { kind: 'bearer', value: rest.join(' ') };
  return { kind: 'raw', value: raw };
}

/** Decodes a Basic credential into username and password, or null when malformed. */
export function decodeBasic(value: string): { username: string; password: string } | null {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

interface TokenRecord {
  user: UserRecord;
  expiresAtSeconds: number;
}

/** Issued access tokens. A token is valid while `now` (in seconds) is before `expires_at`. */
export class Tokens {
  private readonly tokens = new Map<string, TokenRecord>();

  private readonly ttlSeconds: number;

  constructor(ttlSeconds: number) {
    this.ttlSeconds = ttlSeconds;
  }

  /** Issues a fresh token for a user. */
  issue(user: UserRecord, nowMs: number): { token: string; expiresAtSeconds: number } {
    const token = randomBytes(24).toString('base64url');
    const expiresAtSeconds = Math.floor(nowMs / 1000) + this.ttlSeconds;
    this.tokens.set(token, { user, expiresAtSeconds });
    return { token, expiresAtSeconds };
  }

  /** The user of a valid token, or null when the token is unknown or expired. */
  userOf(token: string, nowMs: number): UserRecord | null {
    const record = this.tokens.get(token);
    if (record === undefined) return null;
    // Same rule as the official Go client: expired once expires_at <= now.
    if (record.expiresAtSeconds <= Math.floor(nowMs / 1000)) return null;
    return record.user;
  }
}

/**
 * A fixed window per user: the window opens at the user's first request after the previous one
 * closed, and every request inside it counts (rejected ones too, as a client hammering gets no
 * relief). `limit === null` turns the limiter off.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  private readonly limit: { requests: number; windowMs: number } | null;

  constructor(limit: { requests: number; windowMs: number } | null) {
    this.limit = limit;
  }

  /** Counts one request by `username`; false when it is over the limit. */
  admit(username: string, nowMs: number): boolean {
    if (this.limit === null) return true;
    let window = this.windows.get(username);
    if (
      window === undefined ||
      nowMs >= window.startMs + this.limit.windowMs ||
      nowMs < window.startMs
    ) {
      window = { startMs: nowMs, count: 0 };
      this.windows.set(username, window);
    }
    window.count += 1;
    return window.count <= this.limit.requests;
  }
}
