/**
 * The one request core of the Codeship client: every attempt waits in the shared pacer, goes out
 * through got with no got-level retries, and comes back as status + text, or as a CodeshipError
 * whose message names method and path template only (never a URL, header or token). Handles the
 * rate-limit 403 (pause everyone, send the same call again), and retries idempotent calls on 5xx
 * and network errors with exponential backoff on the injected Clock. Non-idempotent calls are
 * never re-sent once they may have reached the server.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got, type Headers, type RequestError, TimeoutError } from 'got';
import { CodeshipError } from '../core/errors.ts';
import { parseHttpDate, type ServerClock } from '../core/server-clock.ts';
import type { CallPriority, Clock } from '../ports.ts';
import { apiErrorsOf } from './codeship-parse.ts';
import type { Logger } from './logger.ts';
import type { Pacer } from './pacer.ts';

/** Hooks for metrics: one event per attempt, one per rate-limit pause. */
export interface ClientObserver {
  request?(event: {
    method: string;
    endpoint: string;
    status: number | null;
    durationMs: number;
  }): void;
  rateLimited?(event: { pauseMs: number }): void;
}

export type Method = 'GET' | 'POST' | 'PUT';

export interface RequestSpec {
  method: Method;
  /** Route template for messages, logs and metrics: `/organizations/:org/projects`. */
  route: string;
  /** The real path under the base URL, without query. */
  path: string;
  searchParams?: Record<string, string | number>;
  json?: unknown;
  /** `Bearer …` or `Basic …`; never logged. */
  authorization: string;
  /** False for calls that must not be sent twice (create build, stop build). */
  idempotent: boolean;
  /** For non-idempotent calls: what may have happened, e.g. "the build may have been created". */
  outcomeHint?: string;
  priority: CallPriority;
  signal?: AbortSignal;
  /** Called right before each send, after pacing; a throw cancels the call unsent. */
  beforeSend?: () => void | Promise<void>;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

interface TransportOptions {
  baseUrl: string;
  pacer: Pacer;
  clock: Clock;
  logger: Logger;
  requestTimeoutMs: number;
  retryLimit: number;
  observer?: ClientObserver;
  /** Learns the server's clock from every answer's `Date` header (README, "Build identity"). */
  serverClock?: ServerClock;
}

/**
 * Largest response body read (decompressed). The API's biggest answers (a page of 50 builds) are
 * tens of kilobytes; a server that sends more is broken or hostile and would fill memory.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Consecutive rate-limit answers to one call before it gives up (each waits 60 s). */
const MAX_RATE_LIMITED = 10;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** Errors that prove the request never reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
const NOT_SENT_TIMEOUTS = new Set(['lookup', 'connect', 'secureConnect']);
const RETRY_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** `GET /organizations/:org/projects`: the name of a call in messages, logs and metrics. */
export function endpointOf(spec: Pick<RequestSpec, 'method' | 'route'>): string {
  return `${spec.method} ${spec.route}`;
}

/** A CodeshipError for `spec` with `detail` after the endpoint name. */
export function codeshipError(
  code: CodeshipError['code'],
  spec: Pick<RequestSpec, 'method' | 'route'>,
  detail: string,
  extra: { status?: number | null; apiErrors?: readonly string[] } = {},
): CodeshipError {
  return new CodeshipError(code, `${endpointOf(spec)}: ${detail}`, {
    ...extra,
    method: spec.method,
    path: spec.route,
  });
}

/**
 * True for the API's rate-limit answer: 403 with the text body `Rate Limit Exceeded` (or a 429,
 * which the API is not known to send). A 403 with a JSON `errors` body is a permission error.
 */
function isRateLimitAnswer(response: RawResponse): boolean {
  if (response.status === 429) return true;
  return response.status === 403 && /^rate limit exceeded\.?$/i.test(response.body.trim());
}

type Failure =
  | { kind: 'network'; code: string; notSent: boolean }
  | { kind: 'too-large'; code: string; notSent: false };

function describeGotError(error: unknown): Failure {
  // A request whose socket never connected cannot have reached the server.
  const connected = (error as RequestError)?.timings?.connect !== undefined;
  if (error instanceof TimeoutError) {
    const notSent = NOT_SENT_TIMEOUTS.has(error.event) || !connected;
    return { kind: 'network', code: `timeout in ${error.event} phase`, notSent };
  }
  const code = (error as { code?: unknown })?.code;
  const text = typeof code === 'string' ? code : 'unknown network error';
  return { kind: 'network', code: text, notSent: NOT_SENT_CODES.has(text) };
}

function retryableCode(failure: Failure): boolean {
  return failure.code.startsWith('timeout') || RETRY_CODES.has(failure.code);
}

/**
 * The error for an answer whose body passed MAX_RESPONSE_BYTES: its own code for reads; for a
 * call that must not be sent twice the server did answer, but what it did is unknowable.
 */
function tooLargeError(spec: RequestSpec): CodeshipError {
  const what = `response body larger than ${MAX_RESPONSE_BYTES} bytes, not read further`;
  if (!spec.idempotent) {
    return codeshipError(
      'ERR_CODESHIP_OUTCOME_UNKNOWN',
      spec,
      `outcome unknown (${what}): ${spec.outcomeHint ?? 'the call may have taken effect'}`,
    );
  }
  return codeshipError('ERR_CODESHIP_RESPONSE_TOO_LARGE', spec, `${what} (expected at most 8 MB)`);
}

/** Makes the request core bound to one base URL, pacer and clock. */
export function createTransport(options: TransportOptions) {
  const { pacer, clock, logger, observer } = options;
  const http = got.extend({
    prefixUrl: `${options.baseUrl.replace(/\/+$/, '')}/`,
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    responseType: 'text',
    timeout: {
      lookup: Math.min(5_000, options.requestTimeoutMs),
      connect: Math.min(10_000, options.requestTimeoutMs),
      request: options.requestTimeoutMs,
    },
  });

  const freshAgents = {
    http: new HttpAgent({ keepAlive: false }),
    https: new HttpsAgent({ keepAlive: false }),
  };

  /** One paced attempt; got errors are turned into a Failure, never thrown. */
  async function attempt(spec: RequestSpec, front: boolean): Promise<RawResponse | Failure> {
    await pacer.acquire(spec.priority, spec.signal, front);
    await spec.beforeSend?.();
    const startedMs = Date.now();
    const sentMs = clock.now().getTime();
    const sentEpochMs = clock.monotonicMs ? sentMs - clock.monotonicMs() : undefined;
    const endpoint = endpointOf(spec);
    let status: number | null = null;
    let tooLarge = false;
    try {
      const request = http(spec.path.replace(/^\//, ''), {
        method: spec.method,
        searchParams: spec.searchParams,
        headers: {
          authorization: spec.authorization,
          accept: 'application/json',
          'content-type': 'application/json',
        },
        ...(spec.json === undefined ? {} : { json: spec.json }),
        // A create on a pooled socket the server already closed fails with ECONNRESET, which
        // would make its outcome unknown for nothing: non-idempotent calls get a fresh socket.
        ...(spec.idempotent ? {} : { agent: freshAgents }),
        // An abort must not cut a non-idempotent call in flight: its outcome would be unknown.
        ...(spec.idempotent && spec.signal ? { signal: spec.signal } : {}),
      });
      // got has no body-size option: count the (decompressed) bytes and stop at the cap.
      request.on('downloadProgress', (progress) => {
        if (
          progress.transferred > MAX_RESPONSE_BYTES ||
          (progress.total ?? 0) > MAX_RESPONSE_BYTES
        ) {
          tooLarge = true;
          request.cancel();
        }
      });
      const response = await request;
      status = response.statusCode;
      const dateMs = parseHttpDate(response.headers.date);
      if (dateMs !== null) {
        const answeredMs = clock.now().getTime();
        const epochMs = clock.monotonicMs ? answeredMs - clock.monotonicMs() : undefined;
        options.serverClock?.observe(sentMs, answeredMs, dateMs, {
          sentEpochMs,
          answeredEpochMs: epochMs,
        });
      }
      return { status, headers: response.headers, body: response.body };
    } catch (error) {
      if (tooLarge) return { kind: 'too-large', code: 'response too large', notSent: false };
      if (spec.signal?.aborted && spec.idempotent) throw spec.signal.reason;
      return describeGotError(error);
    } finally {
      const durationMs = Date.now() - startedMs;
      logger.debug({ method: spec.method, endpoint, status, durationMs }, 'codeship request');
      observer?.request?.({ method: spec.method, endpoint, status, durationMs });
    }
  }

  function networkError(spec: RequestSpec, failure: Failure, attempts: number): CodeshipError {
    if (!spec.idempotent && !failure.notSent) {
      return codeshipError(
        'ERR_CODESHIP_OUTCOME_UNKNOWN',
        spec,
        `outcome unknown (${failure.code}): ${spec.outcomeHint ?? 'the call may have taken effect'}`,
      );
    }
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const safe = spec.idempotent ? '' : '; it was not sent, so it is safe to send again later';
    return codeshipError(
      'ERR_CODESHIP_UNAVAILABLE',
      spec,
      `Codeship is unreachable (${failure.code})${tries}${safe}`,
    );
  }

  /**
   * Sends `spec` until it gets an answer that is neither a rate-limit 403 nor (for idempotent
   * calls) a 5xx or network error. Returns any other answer, 4xx included, for the caller to map.
   */
  async function exchange(spec: RequestSpec): Promise<RawResponse> {
    let attempts = 0;
    let rateLimited = 0;
    let front = false;
    for (;;) {
      const result = await attempt(spec, front);
      front = false;
      attempts += 1;
      if ('kind' in result && result.kind === 'too-large') throw tooLargeError(spec);
      if ('status' in result && isRateLimitAnswer(result)) {
        rateLimited += 1;
        const pauseMs = pacer.rateLimited();
        observer?.rateLimited?.({ pauseMs });
        logger.warn(
          { endpoint: endpointOf(spec), pauseMs },
          'codeship rate limit, pausing all calls',
        );
        if (rateLimited >= MAX_RATE_LIMITED) {
          throw codeshipError(
            'ERR_CODESHIP_RATE_LIMIT',
            spec,
            `still rate limited after ${rateLimited} pauses of 60s`,
            { status: result.status },
          );
        }
        // The call was turned away, not executed: sending it again is safe even for a create.
        attempts -= 1;
        front = true;
        continue;
      }
      const serverError = 'status' in result && result.status >= 500;
      if (!serverError && 'status' in result) return result;
      if (!spec.idempotent) {
        if ('status' in result) {
          throw codeshipError(
            'ERR_CODESHIP_OUTCOME_UNKNOWN',
            spec,
            `outcome unknown (HTTP ${result.status}): ${spec.outcomeHint ?? 'the call may have taken effect'}`,
            { status: result.status },
          );
        }
        throw networkError(spec, result, attempts);
      }
      const retryable = 'status' in result || retryableCode(result);
      if (!retryable || attempts > options.retryLimit) {
        if ('status' in result) {
          throw codeshipError(
            'ERR_CODESHIP_UNAVAILABLE',
            spec,
            `Codeship answered HTTP ${result.status}${attempts > 1 ? ` after ${attempts} attempts` : ''}`,
            { status: result.status },
          );
        }
        throw networkError(spec, result, attempts);
      }
      const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1));
      const reason = 'status' in result ? `HTTP ${result.status}` : result.code;
      logger.warn(
        { endpoint: endpointOf(spec), attempt: attempts, delayMs, reason },
        'codeship retry',
      );
      await clock.sleep(delayMs, spec.signal);
    }
  }

  return { exchange };
}

export type Transport = ReturnType<typeof createTransport>;

/**
 * Maps an answer that is not a success (and not a rate limit or 5xx, which `exchange` handles) to
 * a CodeshipError carrying the API's own `errors[]`.
 */
export function errorForResponse(spec: RequestSpec, response: RawResponse): CodeshipError {
  const apiErrors = apiErrorsOf(response.body);
  const said = apiErrors.length > 0 ? `: ${apiErrors.join('; ')}` : '';
  const status = response.status;
  const extra = { status, apiErrors };
  if (status === 401) {
    return codeshipError(
      'ERR_CODESHIP_AUTH',
      spec,
      `Codeship rejected the token (HTTP 401)${said}`,
      extra,
    );
  }
  if (status === 403) {
    return codeshipError(
      'ERR_CODESHIP_PERMISSION',
      spec,
      `permission denied (HTTP 403)${said}`,
      extra,
    );
  }
  if (status === 404) {
    return codeshipError('ERR_CODESHIP_NOT_FOUND', spec, `not found (HTTP 404)${said}`, extra);
  }
  if (status >= 400) {
    return codeshipError(
      'ERR_CODESHIP_BAD_REQUEST',
      spec,
      `Codeship refused the request (HTTP ${status})${said}`,
      extra,
    );
  }
  return codeshipError('ERR_CODESHIP_BAD_RESPONSE', spec, `unexpected HTTP ${status}`, extra);
}
