/**
 * The API's front door: routing, /auth, token checks, the rate limit, organization and scope
 * permissions, and 404s for unknown projects and builds; then the handler of the route.
 */
import { decodeBasic, type RateLimiter, type Tokens } from './auth.ts';
import { createBuild, getBuild, listBuilds, stopBuild } from './builds.ts';
import { type ApiRequest, type ApiResponse, errors, type Scope } from './http-types.ts';
import { listProjects } from './projects.ts';
import type { BuildRecord, ProjectRecord, World } from './state.ts';

export const TWO_FACTOR_ERROR =
  'Your account has two-factor authentication enabled, which is not possible to support with the API.';
export const RATE_LIMIT_TEXT = 'Rate Limit Exceeded';

type Handler = (scope: Scope, project: ProjectRecord, build: BuildRecord) => ApiResponse;

interface RouteDef {
  method: string;
  template: string;
  scope: string;
  handler: Handler;
}

const P = '/organizations/:org/projects';
const B = `${P}/:project/builds`;
const ROUTES: RouteDef[] = [
  { method: 'GET', template: P, scope: 'project.read', handler: (s) => listProjects(s) },
  { method: 'GET', template: B, scope: 'build.read', handler: listBuilds },
  { method: 'POST', template: B, scope: 'build.write', handler: createBuild },
  {
    method: 'GET',
    template: `${B}/:build`,
    scope: 'build.read',
    handler: (s, _p, b) => getBuild(s, b),
  },
  {
    method: 'POST',
    template: `${B}/:build/stop`,
    scope: 'build.write',
    handler: (s, _p, b) => stopBuild(s, b),
  },
];

/** Matches a path (with or without the /v2 prefix removed) against a template. */
function match(template: string, segments: string[]): Record<string, string> | null {
  const parts = template.split('/').filter((s) => s !== '');
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i]!;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(segment);
    else if (part !== segment) return null;
  }
  return params;
}

/**
 * The route template of a path (`/auth`, `/organizations/:org/projects/:project/builds`, …),
 * for fault patterns; null when the path is no API route.
 */
export function routeTemplate(path: string): string | null {
  if (!path.startsWith('/v2/')) return null;
  const segments = path
    .slice(3)
    .split('/')
    .filter((s) => s !== '');
  if (segments.length === 1 && segments[0] === 'auth') return '/auth';
  return ROUTES.find((r) => match(r.template, segments) !== null)?.template ?? null;
}

/** Answers API requests against one world. */
export class Api {
  private readonly world: World;
  private readonly tokens: Tokens;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;

  constructor(world: World, tokens: Tokens, limiter: RateLimiter, now: () => number) {
    this.world = world;
    this.tokens = tokens;
    this.limiter = limiter;
    this.now = now;
  }

  handle(request: ApiRequest): ApiResponse {
    const template = routeTemplate(request.path);
    if (template === '/auth') {
      return request.method === 'POST' ? this.auth(request) : errors(404, 'route not found');
    }
    const segments = request.path
      .slice(3)
      .split('/')
      .filter((s) => s !== '');
    const route = ROUTES.find(
      (r) => r.method === request.method && match(r.template, segments) !== null,
    );
    if (template === null || route === undefined) return errors(404, 'route not found');
    const params = match(route.template, segments)!;
    const nowMs = this.now();
    const { kind, value } = request.credential;
    const user = kind === 'bearer' || kind === 'raw' ? this.tokens.userOf(value, nowMs) : null;
    if (user === null) return errors(401, 'Unauthorized');
    if (!this.limiter.admit(user.username, nowMs)) return rateLimited();
    const org = user.organizations.find((o) => o.uuid === params.org);
    if (org === undefined) return errors(403, 'You are not allowed to access this organization');
    if (!org.scopes.includes(route.scope))
      return errors(403, `This token lacks the ${route.scope} scope for this organization`);
    if (request.bodyInvalid && request.method !== 'GET')
      return errors(400, 'request body is not valid JSON');
    const scope: Scope = { request, world: this.world, user, org, params, nowMs };
    if (params.project === undefined)
      return route.handler(scope, undefined as never, undefined as never);
    const project = this.world.projects.get(params.project);
    if (project === undefined || project.org !== org) return errors(404, 'project not found');
    if (params.build === undefined) return route.handler(scope, project, undefined as never);
    const build = this.world.findBuild(project, params.build);
    if (build === undefined) return errors(404, 'build not found');
    return route.handler(scope, project, build);
  }

  /** POST /auth with Basic credentials; the rate limit counts the named user, known or not. */
  private auth(request: ApiRequest): ApiResponse {
    const unauthorized: ApiResponse = { status: 401, body: { error: 'Unauthorized' } };
    const basic =
      request.credential.kind === 'basic' ? decodeBasic(request.credential.value) : null;
    if (basic === null) return unauthorized;
    const nowMs = this.now();
    if (!this.limiter.admit(basic.username, nowMs)) return rateLimited();
    const user = this.world.users.get(basic.username);
    if (user === undefined || user.password !== basic.password) return unauthorized;
    // The real API sends this error with a 2xx status (the Go client's fixture uses 200).
    if (user.twoFactor) return { status: 200, body: { error: TWO_FACTOR_ERROR } };
    const { token, expiresAtSeconds } = this.tokens.issue(user, nowMs);
    return {
      status: 200,
      body: {
        access_token: token,
        expires_at: expiresAtSeconds,
        organizations: user.organizations.map((o) => ({
          uuid: o.uuid,
          name: o.name,
          scopes: [...o.scopes],
        })),
      },
    };
  }
}

function rateLimited(): ApiResponse {
  return { status: 403, text: RATE_LIMIT_TEXT };
}
