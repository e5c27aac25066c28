/**
 * The daemon's HTTP server (`node:http`, no framework): probes, metrics and the status page on
 * HTTP_ADDR. It can never take the scheduler down: every handler's error becomes a JSON answer
 * (4xx for refusals, 500 logged without details for the rest), malformed requests are dropped by
 * Node's parser, and closing it aborts in-flight triggers. Failing to listen (port in use) is a
 * start-up error with a clear message: an operator who set HTTP_ADDR relies on the probes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../adapters/logger.ts';
import type { Config } from '../config.ts';
import { CodeshipCronError, coerceError } from '../core/errors.ts';
import { isLedgerBusy, type Runtime } from '../daemon/runtime.ts';
import type { ScheduleSet } from '../daemon/schedule-set.ts';
import type { Metrics } from '../metrics.ts';
import { createDashboardAuth, secretsEqual } from './auth.ts';
import type { HttpDeps, RequestContext, Route } from './context.ts';
import { createHostCheck, isLoopbackHost } from './host-check.ts';
import { HttpError, sendJson } from './respond.ts';
import { dashboardRoutes, warmDashboard } from './routes-dashboard.ts';
import { probeRoutes } from './routes-probes.ts';
import { WEBHOOK_PATH, webhookRoutes } from './routes-webhook.ts';
import { createTriggerGuard } from './trigger-guard.ts';

export interface HttpServerOptions {
  config: Pick<Config, 'http' | 'dashboardToken' | 'httpAllowedHosts'> &
    Partial<Pick<Config, 'webhookSecret'>>;
  rt: Runtime;
  schedules: ScheduleSet;
  metrics: Metrics;
  logger: Logger;
}

export interface HttpServer {
  /** `http://host:port` as bound (the real port when HTTP_ADDR asked for port 0). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, aborts in-flight triggers, closes every connection. */
  close(): Promise<void>;
}

/** A request path as logs may show it: the webhook's secret never reaches a log. */
export function loggablePath(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return path.startsWith(WEBHOOK_PATH) ? `${WEBHOOK_PATH}<secret>` : path;
}

/**
 * Concurrent connections at most: a loopback page has a handful of clients, and a flood of idle
 * or half-open sockets must not take the file descriptors the API client needs. Past it, new
 * connections are closed at once.
 */
export const MAX_HTTP_CONNECTIONS = 128;

/** Matches `path` against a template; returns the decoded params or null. */
export function matchPath(template: string, path: string): Record<string, string> | null {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const segment = want[i] as string;
    const actual = got[i] as string;
    if (segment.startsWith(':')) {
      if (actual === '') return null;
      try {
        params[segment.slice(1)] = decodeURIComponent(actual);
      } catch {
        throw new HttpError(400, 'malformed percent-encoding in the path');
      }
    } else if (segment !== actual) return null;
  }
  return params;
}

/**
 * True for a path under the webhook route whose secret is wrong (or with no route): it answers
 * 404 whatever the method, so neither a 405 nor anything else tells that the route exists.
 */
function hiddenWebhookPath(path: string, secret: string | null): boolean {
  if (!path.startsWith(WEBHOOK_PATH)) return false;
  if (secret === null) return true;
  let given: string;
  try {
    given = decodeURIComponent(path.slice(WEBHOOK_PATH.length));
  } catch {
    return true;
  }
  return !secretsEqual(given, secret);
}

async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HttpDeps,
  routes: readonly Route[],
  webhookSecret: string | null,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  if (hiddenWebhookPath(url.pathname, webhookSecret)) {
    if (webhookSecret !== null) deps.rt.events.emit('webhook', { result: 'bad_secret' });
    throw new HttpError(404, 'not found');
  }
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, url.pathname);
    if (params === null) continue;
    if (route.method === method) {
      const context: RequestContext = { req, res, url, params, deps };
      await route.handle(context);
      return;
    }
    allowed.push(route.method === 'GET' ? 'GET, HEAD' : route.method);
  }
  if (allowed.length > 0) {
    throw new HttpError(
      405,
      `method ${req.method} not allowed on ${loggablePath(url.pathname)} (allowed: ${allowed.join(', ')})`,
      {
        allow: allowed.join(', '),
      },
    );
  }
  throw new HttpError(404, `not found: ${loggablePath(url.pathname)}`);
}

/**
 * Starts the server on `config.http` and resolves once it listens. Rejects with
 * `ERR_HTTP_LISTEN` (naming the address and the reason) when it cannot bind.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { config, rt } = options;
  if (!config.http) throw new CodeshipCronError('ERR_HTTP_LISTEN', 'HTTP_ADDR is not set');
  const { host, port } = config.http;
  const logger = options.logger.child({ component: 'http' });
  const closing = new AbortController();
  const deps: HttpDeps = {
    rt,
    schedules: options.schedules,
    metrics: options.metrics,
    logger,
    auth: createDashboardAuth(config.dashboardToken, () => rt.clock.now().getTime()),
    guard: createTriggerGuard(() => rt.clock.now().getTime()),
    signal: closing.signal,
  };
  const routes: readonly Route[] = [
    ...probeRoutes,
    ...dashboardRoutes,
    ...webhookRoutes(config.webhookSecret ?? null),
  ];
  let checkHost: ((header: string | undefined) => void) | null = null;
  const server = createServer(
    { requestTimeout: 60_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      checkHost ??= createHostCheck({
        host,
        port: (server.address() as AddressInfo).port,
        allowed: config.httpAllowedHosts,
      });
      const check = checkHost;
      Promise.resolve()
        .then(() => {
          check(req.headers.host);
          return dispatch(req, res, deps, routes, config.webhookSecret ?? null);
        })
        .catch((raw: unknown) => {
          const error = coerceError(raw);
          if (error instanceof HttpError) {
            sendJson(res, error.status, { error: error.message }, { ...error.headers });
            return;
          }
          if (req.destroyed || (error as { code?: string }).code === 'ECONNRESET') {
            // The client went away mid-request (a body cut short): nothing to answer, no fault here.
            logger.debug({ method: req.method, path: loggablePath(req.url) }, 'client gone');
            return;
          }
          if (isLedgerBusy(error)) {
            sendJson(
              res,
              503,
              { error: 'the ledger is locked by another process; try again shortly' },
              { 'retry-after': '1' },
            );
            return;
          }
          // The message may carry anything (SQL, paths); the client gets a generic answer.
          logger.error(
            { method: req.method, path: loggablePath(req.url), err: error },
            'request failed',
          );
          sendJson(res, 500, { error: 'internal error (see the daemon log)' });
        });
    },
  );
  server.maxConnections = MAX_HTTP_CONNECTIONS;
  let droppedWarnedAtMs = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    options.metrics.droppedConnection();
    // Said at most once a minute: a flood must not flood the log too.
    if (Date.now() - droppedWarnedAtMs < 60_000) return;
    droppedWarnedAtMs = Date.now();
    logger.warn(
      { maxConnections: MAX_HTTP_CONNECTIONS },
      'http connections dropped: too many open at once (codeship_cron_http_connections_dropped_total counts them)',
    );
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === 'EADDRINUSE'
          ? 'another process uses that port; free it or change HTTP_ADDR'
          : 'check HTTP_ADDR';
      reject(
        new CodeshipCronError(
          'ERR_HTTP_LISTEN',
          `cannot serve HTTP on ${host}:${port}: ${error.code ?? error.message} (${hint})`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'http server error'));
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  logger.info(
    { url, triggers: config.dashboardToken ? 'enabled' : 'read-only' },
    'http server listening',
  );
  setImmediate(() => {
    warmDashboard(deps).catch((error: unknown) =>
      logger.debug({ err: coerceError(error) }, 'status page warm-up failed'),
    );
  });
  if (!isLoopbackHost(host)) {
    logger.warn(
      { url, host },
      'the status page is exposed beyond this machine: HTTP_ADDR is not a loopback address (bind 127.0.0.1 and put a TLS proxy in front)',
    );
  }
  return {
    url,
    port: bound,
    async close() {
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
