/**
 * Tokens for the Codeship client: `POST /v2/auth` with a Basic header built here (never got's
 * username/password options, which put credentials into URLs and error messages), one token
 * cached and shared, one authentication in flight at a time, renewed before `expires_at`, and the
 * organization chosen by name (case-insensitive) or UUID.
 */
import type { ApiConfig } from '../config.ts';
import type { CallPriority, Clock } from '../ports.ts';
import { type AuthGrant, apiErrorsOf, parseAuthGrant, parseJson } from './codeship-parse.ts';
import {
  codeshipError,
  endpointOf,
  errorForResponse,
  type RequestSpec,
  type Transport,
} from './codeship-request.ts';
import type { Logger } from './logger.ts';

/** A usable token and the organization it is used for. */
interface Session {
  readonly token: string;
  readonly organizationUuid: string;
  readonly expiresAt: Date;
  /** When to authenticate again: min(60 s, a quarter of the lifetime) before `expiresAt`. */
  readonly renewAt: Date;
}

const RENEW_MARGIN_MAX_MS = 60_000;

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Picks the configured organization from the token's list; errors name what exists. */
function chooseOrganization(grant: AuthGrant, wanted: string | null, username: string): string {
  const spec = { method: 'POST', route: '/auth' } as const;
  const names = grant.organizations.map((org) => org.name).join(', ');
  if (wanted === null) {
    const [only, ...others] = grant.organizations;
    if (only && others.length === 0) return only.uuid;
    if (!only) {
      return fail(`the account ${username} belongs to no organization`);
    }
    return fail(
      `the account ${username} belongs to several organizations (${names}); set CODESHIP_ORGANIZATION to one of them`,
    );
  }
  const key = wanted.toLowerCase();
  const found = grant.organizations.find(
    (org) => org.uuid.toLowerCase() === key || org.name.toLowerCase() === key,
  );
  if (found) return found.uuid;
  return fail(
    `organization "${wanted}" (CODESHIP_ORGANIZATION) is not one of the account's organizations (${names || 'none'})`,
  );

  function fail(detail: string): never {
    throw codeshipError('ERR_CODESHIP_AUTH', spec, detail);
  }
}

/** Makes the token provider of one client. */
export function createAuthenticator(options: {
  api: ApiConfig;
  clock: Clock;
  transport: Transport;
  logger: Logger;
}) {
  const { api, clock, transport, logger } = options;
  const basic = `Basic ${Buffer.from(`${api.username}:${api.password}`, 'utf8').toString('base64')}`;
  let current: Session | null = null;
  let inFlight: Promise<Session> | null = null;

  async function authenticate(priority: CallPriority): Promise<Session> {
    const spec: RequestSpec = {
      method: 'POST',
      route: '/auth',
      path: '/auth',
      authorization: basic,
      // Asking for a token twice creates nothing: retrying /auth is safe.
      idempotent: true,
      priority,
    };
    const response = await transport.exchange(spec);
    if (response.status === 401) {
      throw codeshipError(
        'ERR_CODESHIP_AUTH',
        spec,
        `Codeship rejected the credentials of ${api.username}`,
        { status: 401, apiErrors: apiErrorsOf(response.body) },
      );
    }
    if (response.status >= 300) throw errorForResponse(spec, response);
    const body = parseJson(endpointOf(spec), response.body);
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error === 'string') {
      // The API reports a two-factor account with a 2xx and an `error` field.
      const detail = /two-factor/i.test(error)
        ? `the account ${api.username} has two-factor authentication enabled, and two-factor accounts cannot use the API (use an account without 2FA)`
        : `Codeship did not issue a token: ${error}`;
      throw codeshipError('ERR_CODESHIP_AUTH', spec, detail, {
        status: response.status,
        apiErrors: [error],
      });
    }
    const grant = parseAuthGrant(endpointOf(spec), body);
    const organizationUuid = chooseOrganization(grant, api.organization, api.username);
    const nowMs = clock.now().getTime();
    const lifetimeMs = Math.max(0, grant.expiresAt.getTime() - nowMs);
    const marginMs = Math.min(RENEW_MARGIN_MAX_MS, lifetimeMs / 4);
    logger.debug(
      { organizationUuid, expiresAt: grant.expiresAt.toISOString() },
      'codeship authenticated',
    );
    return {
      token: grant.accessToken,
      organizationUuid,
      expiresAt: grant.expiresAt,
      renewAt: new Date(grant.expiresAt.getTime() - marginMs),
    };
  }

  return {
    /** A session valid now, authenticating (once for all concurrent callers) when needed. */
    session(priority: CallPriority, signal?: AbortSignal): Promise<Session> {
      if (current && clock.now().getTime() < current.renewAt.getTime()) {
        return Promise.resolve(current);
      }
      if (!inFlight) {
        // Not tied to one caller's signal: other callers share this authentication.
        inFlight = authenticate(priority).then(
          (session) => {
            current = session;
            inFlight = null;
            return session;
          },
          (error: unknown) => {
            inFlight = null;
            throw error;
          },
        );
      }
      return raceSignal(inFlight, signal);
    },
    /** Drops `token` after a 401, unless a newer token already replaced it. */
    invalidate(token: string): void {
      if (current?.token === token) current = null;
    },
  };
}
