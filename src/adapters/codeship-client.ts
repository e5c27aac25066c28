/**
 * The Codeship API v2 client (got 14): one method per endpoint, each with a link to its doc. All
 * calls share one pacer, one token and one request core (`codeship-request.ts`); bodies are
 * validated into our types at this boundary (`codeship-parse.ts`). Errors are `CodeshipError`s.
 */
import type { ApiConfig } from '../config.ts';
import { type RemoteBuild, refForBranch } from '../core/model.ts';
import { ServerClock } from '../core/server-clock.ts';
import type { CallOptions, Clock, CodeshipApi } from '../ports.ts';
import { createAuthenticator } from './codeship-auth.ts';
import {
  type Page,
  parseBuild,
  parseJson,
  parsePage,
  parseProject,
  parseSingle,
} from './codeship-parse.ts';
import {
  type ClientObserver,
  createTransport,
  endpointOf,
  errorForResponse,
  type Method,
  type RawResponse,
  type RequestSpec,
} from './codeship-request.ts';
import type { Logger } from './logger.ts';
import { createPacer, type Pacer } from './pacer.ts';

export type { ClientObserver };

interface CodeshipClientOptions {
  api: ApiConfig;
  clock: Clock;
  logger: Logger;
  /** Whole-request timeout per attempt; default 30 s. */
  requestTimeoutMs?: number;
  /** Retries of an idempotent call on 5xx and network errors; default 3. */
  retryLimit?: number;
  observer?: ClientObserver;
}

/** Whole-request timeout per attempt unless the caller sets one. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The API's page size maximum; our default for every list. */
const MAX_PER_PAGE = 50;
/** Stops a server whose pagination never ends from looping us forever. */
const MAX_PAGES = 1000;

interface Call {
  method: Method;
  route: string;
  /** The real path, built once the organization UUID is known. */
  path: (org: string) => string;
  searchParams?: Record<string, string | number>;
  json?: unknown;
  idempotent?: boolean;
  outcomeHint?: string;
}

/** The page after `page`, from `Link: <…?page=N>; rel="next"` or else from `total`; null at the end. */
export function nextPageOf(headers: RawResponse['headers'], page: Page<unknown>): number | null {
  const link = headers.link;
  const text = Array.isArray(link) ? link.join(', ') : link;
  if (typeof text === 'string' && text.trim() !== '') {
    for (const part of text.split(',')) {
      const match = /<([^>]*)>\s*;.*rel="?next"?/.exec(part);
      if (!match) continue;
      const url = new URL(match[1] as string, 'http://link.invalid/');
      const next = Number(url.searchParams.get('page'));
      return Number.isInteger(next) && next > page.page ? next : page.page + 1;
    }
    return null;
  }
  if (page.items.length === 0) return null;
  return page.page * Math.max(1, page.perPage) < page.total ? page.page + 1 : null;
}

/**
 * Makes the client. Nothing is sent until the first call; the first call authenticates. The pacer
 * is exposed for metrics (`pacer.stats()`).
 */
export function createCodeshipClient(
  options: CodeshipClientOptions,
): CodeshipApi & { readonly pacer: Pacer } {
  const { api, clock } = options;
  const logger = options.logger.child({ component: 'codeship' });
  const pacer = createPacer({ ratePerMinute: api.rateLimitPerMinute, clock });
  const serverClock = new ServerClock();
  const transport = createTransport({
    serverClock,
    baseUrl: api.baseUrl,
    pacer,
    clock,
    logger,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retryLimit: options.retryLimit ?? 3,
    observer: options.observer,
  });
  const auth = createAuthenticator({ api, clock, transport, logger });

  /** Sends a call with the current token; re-authenticates and re-sends once on a 401. */
  async function send(call: Call, callOptions: CallOptions = {}): Promise<RawResponse> {
    const priority = callOptions.priority ?? 'normal';
    const { signal } = callOptions;
    let session = await auth.session(priority, signal);
    const specFor = (token: string, org: string): RequestSpec => ({
      method: call.method,
      route: call.route,
      path: call.path(org),
      searchParams: call.searchParams,
      json: call.json,
      authorization: `Bearer ${token}`,
      idempotent: call.idempotent ?? true,
      outcomeHint: call.outcomeHint,
      priority,
      signal,
      beforeSend: callOptions.beforeSend,
    });
    let spec = specFor(session.token, session.organizationUuid);
    let response = await transport.exchange(spec);
    if (response.status === 401) {
      // A 401 means the call was refused, not executed: one re-send is safe even for a create.
      auth.invalidate(session.token);
      session = await auth.session(priority, signal);
      spec = specFor(session.token, session.organizationUuid);
      response = await transport.exchange(spec);
    }
    if (response.status >= 300) throw errorForResponse(spec, response);
    return response;
  }

  async function getJson(call: Call, callOptions?: CallOptions): Promise<unknown> {
    const response = await send(call, callOptions);
    return parseJson(endpointOf(call), response.body);
  }

  async function* pages<T>(
    call: Call,
    key: string,
    parse: (endpoint: string, where: string, value: unknown) => T,
    perPage: number,
    callOptions?: CallOptions,
  ): AsyncGenerator<T> {
    let page: number | null = 1;
    for (let walked = 0; page !== null && walked < MAX_PAGES; walked += 1) {
      const paged: Call = {
        ...call,
        searchParams: { ...call.searchParams, page, per_page: perPage },
      };
      const response = await send(paged, callOptions);
      const parsed = parsePage(
        endpointOf(call),
        key,
        parseJson(endpointOf(call), response.body),
        parse,
      );
      yield* parsed.items;
      page = nextPageOf(response.headers, parsed);
    }
  }

  async function all<T>(
    call: Call,
    key: string,
    parse: (endpoint: string, where: string, value: unknown) => T,
    callOptions?: CallOptions,
  ): Promise<T[]> {
    const items: T[] = [];
    for await (const item of pages(call, key, parse, MAX_PER_PAGE, callOptions)) items.push(item);
    return items;
  }

  const enc = encodeURIComponent;
  const projectsPath = (org: string) => `/organizations/${enc(org)}/projects`;
  const projectPath = (project: string) => (org: string) => `${projectsPath(org)}/${enc(project)}`;
  const buildsPath = (project: string) => (org: string) => `${projectPath(project)(org)}/builds`;
  const buildPath = (project: string, build: string) => (org: string) =>
    `${buildsPath(project)(org)}/${enc(build)}`;
  const buildRoute = '/organizations/:org/projects/:project/builds/:build';

  return {
    pacer,

    clockEstimate() {
      return serverClock.estimate(clock.now().getTime());
    },

    resetServerClock() {
      serverClock.reset();
    },

    /** The organization chosen at authentication (https://docs.cloudbees.com/docs/cloudbees-codeship/latest/api-authentication/authenticate). */
    async organizationUuid(callOptions) {
      const session = await auth.session(callOptions?.priority ?? 'normal', callOptions?.signal);
      return session.organizationUuid;
    },

    /** https://docs.cloudbees.com/docs/cloudbees-codeship/latest/api-projects/list-projects */
    listProjects(callOptions) {
      const call: Call = {
        method: 'GET',
        route: '/organizations/:org/projects',
        path: projectsPath,
      };
      return all(call, 'projects', parseProject, callOptions);
    },

    /** Newest first, lazily: https://docs.cloudbees.com/docs/cloudbees-codeship/latest/api-builds/list-builds */
    listBuilds(projectUuid, callOptions = {}): AsyncIterable<RemoteBuild> {
      const perPage = Math.min(
        MAX_PER_PAGE,
        Math.max(1, Math.floor(callOptions.perPage ?? MAX_PER_PAGE)),
      );
      const call: Call = {
        method: 'GET',
        route: '/organizations/:org/projects/:project/builds',
        path: buildsPath(projectUuid),
      };
      return pages(call, 'builds', parseBuild, perPage, callOptions);
    },

    /** https://docs.cloudbees.com/docs/cloudbees-codeship/latest/api-builds/get-build */
    async getBuild(projectUuid, buildUuid, callOptions) {
      const call: Call = {
        method: 'GET',
        route: buildRoute,
        path: buildPath(projectUuid, buildUuid),
      };
      return parseSingle(endpointOf(call), 'build', await getJson(call, callOptions), parseBuild);
    },

    /** 202, no body, no UUID; never re-sent: https://docs.cloudbees.com/docs/cloudbees-codeship/latest/api-builds/create-build */
    async createBuild(projectUuid, request, callOptions) {
      const json: Record<string, string> = { ref: refForBranch(request.branch) };
      if (request.commitSha) json.commit_sha = request.commitSha;
      await send(
        {
          method: 'POST',
          route: '/organizations/:org/projects/:project/builds',
          path: buildsPath(projectUuid),
          json,
          idempotent: false,
          outcomeHint:
            'the build may have been created and must be looked for in the build list before re-sending',
        },
        callOptions,
      );
    },

    /** Documented only by the Go client (codeship-go builds.go StopBuild): 202, no body. */
    async stopBuild(projectUuid, buildUuid, callOptions) {
      await send(
        {
          method: 'POST',
          route: `${buildRoute}/stop`,
          path: (org) => `${buildPath(projectUuid, buildUuid)(org)}/stop`,
          idempotent: false,
          outcomeHint: 'the build may be stopping; look at its status before stopping it again',
        },
        callOptions,
      );
    },
  };
}
