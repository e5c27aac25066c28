/**
 * Build endpoints: list (newest first by queued time; a build queued in the future is not there
 * yet), get, create and stop (202, no body).
 */
import { type ApiResponse, errors, type Scope } from './http-types.ts';
import { paginate } from './pagination.ts';
import { renderBuild } from './render.ts';
import type { BuildRecord, ProjectRecord } from './state.ts';

const ACCEPTED: ApiResponse = { status: 202 };

function buildsUrl(scope: Scope, project: ProjectRecord): string {
  return `${scope.request.baseUrl}/organizations/${project.org.uuid}/projects/${project.uuid}/builds`;
}

/** The login shown as a build's `username`: the user name before any `@`. */
function login(username: string): string {
  return username.split('@')[0]!;
}

/** GET …/builds */
export function listBuilds(scope: Scope, project: ProjectRecord): ApiResponse {
  const { world, request } = scope;
  const rendered = world
    .listed(project)
    .map((b) => renderBuild(b, world.stateOf(b), request.baseUrl));
  const { body, link } = paginate('builds', rendered, request.query, buildsUrl(scope, project));
  return { status: 200, body, headers: link === null ? {} : { Link: link } };
}

/** GET …/builds/{build} */
export function getBuild(scope: Scope, build: BuildRecord): ApiResponse {
  return {
    status: 200,
    body: { build: renderBuild(build, scope.world.stateOf(build), scope.request.baseUrl) },
  };
}

/** POST …/builds: 400 without `ref`; 202 always otherwise, building only for `heads/<branch>`. */
export function createBuild(scope: Scope, project: ProjectRecord): ApiResponse {
  const body = scope.request.body;
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const ref = fields.ref;
  if (typeof ref !== 'string' || ref.trim() === '') return errors(400, 'ref is required');
  const sha = fields.commit_sha;
  if (sha !== undefined && sha !== null && typeof sha !== 'string')
    return errors(400, 'commit_sha must be a string');
  const created = scope.world.createBuild(
    project,
    ref,
    sha || undefined,
    scope.user.displayName ?? login(scope.user.username),
  );
  return created === null ? ACCEPTED : { ...ACCEPTED, created };
}

/** POST …/builds/{build}/stop */
export function stopBuild(scope: Scope, build: BuildRecord): ApiResponse {
  scope.world.stopBuild(build);
  return ACCEPTED;
}
