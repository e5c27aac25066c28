/**
 * Who may press "Trigger now". Nobody when DASHBOARD_TOKEN is unset (the page is read-only).
 * Otherwise a client presents the token as `Authorization: Bearer <token>` (scripts), or logs in
 * once through the form: the server then sets an HttpOnly, SameSite=Strict cookie holding a random
 * session secret (never the token) and hands the page a CSRF token tied to that session, which
 * every cookie-authenticated POST must echo. Secrets are compared in constant time; sessions live
 * in memory only, so a restart logs everybody out. Failed credentials, bearer and login alike, are
 * throttled per client address (`throttle.ts`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.ts';
import { clientAddress, createFailureThrottle } from './throttle.ts';

export const SESSION_COOKIE = 'codeship_cron_session';
/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Oldest sessions are dropped past this many (a loopback dashboard has a handful of users). */
const MAX_SESSIONS = 64;

export const READ_ONLY_MESSAGE = 'read-only: set DASHBOARD_TOKEN to enable triggers';
export const AUTH_REQUIRED_MESSAGE =
  'authentication required: send Authorization: Bearer <DASHBOARD_TOKEN> or log in on the page';
export const WRONG_TOKEN_MESSAGE = 'wrong dashboard token';
export const CSRF_MESSAGE = 'missing or invalid CSRF token: reload the page and try again';
export const CROSS_ORIGIN_MESSAGE = 'cross-origin request refused';

export interface Session {
  /** The cookie value; only its hash is kept as the map key. */
  readonly id: string;
  readonly csrf: string;
  readonly expiresAtMs: number;
}

export type Principal =
  | { kind: 'bearer' }
  | { kind: 'session'; session: Session }
  | { kind: 'anonymous' };

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Equal strings in time that depends on neither their content nor their lengths. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return null;
}

/** No Origin header (old browsers, curl) or one naming this host (behind a TLS proxy too). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export interface DashboardAuth {
  /** False when DASHBOARD_TOKEN is unset: no logins, every write is refused. */
  readonly enabled: boolean;
  /**
   * The caller: a correct bearer, a live session, or anonymous. A wrong bearer token is a 401; an
   * address with too many failed credentials gets 429 before its token is even compared.
   */
  identify(req: IncomingMessage): Principal;
  /**
   * Refuses a write (403 read-only, 401 no or wrong credentials, 403 bad CSRF or foreign origin);
   * `csrf` is the token from the form field or `X-CSRF-Token` header (sessions only).
   */
  requireWriter(req: IncomingMessage, csrf: string | undefined): Principal;
  /**
   * A new session for a correct token, null for a wrong one; throws 429 while `client` (an
   * address, see `clientAddress`) has too many failed credentials.
   */
  login(presented: string, client: string): Session | null;
  logout(session: Session): void;
  /** `Set-Cookie` for a session, or clearing it when `session` is null. */
  cookie(session: Session | null): string;
}

/** The dashboard's authentication for `token` (null: read-only), on a clock for session expiry. */
export function createDashboardAuth(token: string | null, nowMs: () => number): DashboardAuth {
  const sessions = new Map<string, Session>();
  const throttle = createFailureThrottle(nowMs);
  const keyOf = (id: string) => digest(id).toString('hex');

  const sessionOf = (req: IncomingMessage): Session | null => {
    const id = cookieValue(req, SESSION_COOKIE);
    if (!id) return null;
    const key = keyOf(id);
    const session = sessions.get(key);
    if (!session) return null;
    if (session.expiresAtMs <= nowMs()) {
      sessions.delete(key);
      return null;
    }
    return session;
  };

  const identify = (req: IncomingMessage): Principal => {
    if (token === null) return { kind: 'anonymous' };
    const header = req.headers.authorization;
    if (header !== undefined) {
      const client = clientAddress(req);
      throttle.check(client);
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!match || !secretsEqual(match[1] as string, token)) {
        throttle.fail(client);
        throw new HttpError(401, WRONG_TOKEN_MESSAGE, {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
      return { kind: 'bearer' };
    }
    const session = sessionOf(req);
    return session ? { kind: 'session', session } : { kind: 'anonymous' };
  };

  return {
    enabled: token !== null,
    identify,
    requireWriter(req, csrf) {
      if (token === null) throw new HttpError(403, READ_ONLY_MESSAGE);
      const principal = identify(req);
      if (principal.kind === 'anonymous') {
        throw new HttpError(401, AUTH_REQUIRED_MESSAGE, { 'www-authenticate': 'Bearer' });
      }
      if (principal.kind === 'session') {
        // SameSite=Strict already keeps the cookie off cross-site requests; these checks hold
        // even in browsers that ignore it.
        if (!sameOrigin(req)) throw new HttpError(403, CROSS_ORIGIN_MESSAGE);
        if (!csrf || !secretsEqual(csrf, principal.session.csrf))
          throw new HttpError(403, CSRF_MESSAGE);
      }
      return principal;
    },
    login(presented, client) {
      if (token === null) throw new HttpError(403, READ_ONLY_MESSAGE);
      throttle.check(client);
      if (!secretsEqual(presented, token)) {
        throttle.fail(client);
        return null;
      }
      const now = nowMs();
      for (const [key, session] of sessions) if (session.expiresAtMs <= now) sessions.delete(key);
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      const session: Session = {
        id: randomBytes(32).toString('base64url'),
        csrf: randomBytes(32).toString('base64url'),
        expiresAtMs: now + SESSION_TTL_MS,
      };
      sessions.set(keyOf(session.id), session);
      return session;
    },
    logout(session) {
      sessions.delete(keyOf(session.id));
    },
    cookie(session) {
      const base = 'Path=/; HttpOnly; SameSite=Strict';
      if (session === null) return `${SESSION_COOKIE}=; ${base}; Max-Age=0`;
      return `${SESSION_COOKIE}=${session.id}; ${base}; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`;
    },
  };
}
