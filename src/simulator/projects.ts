/**
 * Project endpoints: list (filters `name`, `type`), get, create (201) and update (PUT, full
 * replacement of the settings; pipelines are kept, as the API updates them elsewhere).
 */
import { type ApiResponse, errors, type Scope } from './http-types.ts';
import { paginate } from './pagination.ts';
import { renderProject } from './render.ts';
import { emptySettings, type ProjectRecord, type ProjectSettings } from './state.ts';

type Body = Record<string, unknown>;

const ARRAY_SETTINGS = [
  'setup_commands',
  'environment_variables',
  'notification_rules',
  'team_ids',
  'branches',
] as const;

function asBody(value: unknown): Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Body)
    : {};
}

/** Problems with the settings of a create/update body, in the API's `errors[]` wording. */
function settingsIssues(body: Body): string[] {
  const issues: string[] = [];
  for (const key of [
    ...ARRAY_SETTINGS,
    'test_pipelines',
    'deployment_pipelines',
    'deploy_pipelines',
  ]) {
    if (body[key] !== undefined && !Array.isArray(body[key]))
      issues.push(`${key} must be an array`);
  }
  if (body.build_on_pr_only !== undefined && typeof body.build_on_pr_only !== 'boolean') {
    issues.push('build_on_pr_only must be true or false');
  }
  if (
    body.branch_match !== undefined &&
    body.branch_match !== 'include' &&
    body.branch_match !== 'exclude'
  ) {
    issues.push('branch_match must be include or exclude');
  }
  return issues;
}

function typeIssue(type: unknown): string | null {
  if (type === undefined || type === null || type === '') return "Type can't be blank";
  return type === 'basic' || type === 'pro' ? null : 'Type must be basic or pro';
}

/** Settings from a body: what it names, defaults for the rest (PUT is a full replacement). */
function settingsFrom(body: Body, keep: ProjectSettings): ProjectSettings {
  const settings = emptySettings();
  for (const key of ARRAY_SETTINGS) settings[key] = (body[key] as unknown[] | undefined) ?? [];
  settings.build_on_pr_only = (body.build_on_pr_only as boolean | undefined) ?? false;
  settings.branch_match = (body.branch_match as string | undefined) ?? 'exclude';
  settings.test_pipelines = keep.test_pipelines;
  settings.deployment_pipelines = keep.deployment_pipelines;
  return settings;
}

/** `org/repo` from `https://github.com/org/repo`, `git@github.com:org/repo.git` and the like. */
function nameFromUrl(url: string): string {
  const parts = url
    .replace(/\.git$/, '')
    .split(/[/:]/)
    .filter((p) => p !== '');
  return parts.slice(-2).join('/');
}

function providerOf(url: string): string {
  for (const provider of ['bitbucket', 'gitlab']) if (url.includes(provider)) return provider;
  return 'github';
}

/** GET /organizations/{org}/projects */
export function listProjects({ world, org, request }: Scope): ApiResponse {
  const { name, type } = request.query;
  const projects = world
    .projectsOf(org)
    .filter(
      (p) => (name === undefined || p.name === name) && (type === undefined || p.type === type),
    );
  const { body, link } = paginate(
    'projects',
    projects.map(renderProject),
    request.query,
    `${request.baseUrl}/organizations/${org.uuid}/projects`,
  );
  return { status: 200, body, headers: link === null ? {} : { Link: link } };
}

/** GET /organizations/{org}/projects/{project} */
export function getProject(_scope: Scope, project: ProjectRecord): ApiResponse {
  return { status: 200, body: { project: renderProject(project) } };
}

/** POST /organizations/{org}/projects */
export function createProject({ world, org, request, nowMs }: Scope): ApiResponse {
  const body = asBody(request.body);
  const issues: string[] = [];
  const url = body.repository_url;
  if (typeof url !== 'string' || url.trim() === '') issues.push("Repository url can't be blank");
  const typeProblem = typeIssue(body.type);
  if (typeProblem !== null) issues.push(typeProblem);
  issues.push(...settingsIssues(body));
  const name = typeof url === 'string' ? nameFromUrl(url) : '';
  if (issues.length === 0 && world.projectsOf(org).some((p) => p.name === name)) {
    issues.push('Repository url has already been taken');
  }
  if (issues.length > 0) return errors(400, ...issues);
  const project = world.addProject(org, name, body.type as 'basic' | 'pro', nowMs);
  project.repositoryUrl = url as string;
  project.repositoryProvider = providerOf(url as string);
  project.settings = settingsFrom(body, emptySettings());
  if (project.type === 'basic') {
    // Pipelines get ids, as the API assigns them; Pro ignores this configuration entirely.
    let id = 1;
    const withIds = (list: unknown) =>
      ((list as unknown[] | undefined) ?? []).map((p) => ({ id: id++, ...asBody(p) }));
    project.settings.test_pipelines = withIds(body.test_pipelines);
    project.settings.deployment_pipelines = withIds(
      body.deployment_pipelines ?? body.deploy_pipelines,
    );
  } else {
    project.settings.setup_commands = [];
    project.settings.environment_variables = [];
  }
  return { status: 201, body: { project: renderProject(project) } };
}

/** PUT /organizations/{org}/projects/{project} */
export function updateProject({ request, nowMs }: Scope, project: ProjectRecord): ApiResponse {
  const body = asBody(request.body);
  const typeProblem = typeIssue(body.type);
  const issues = [...(typeProblem === null ? [] : [typeProblem]), ...settingsIssues(body)];
  if (issues.length > 0) return errors(400, ...issues);
  project.type = body.type as 'basic' | 'pro';
  project.settings = settingsFrom(body, project.settings);
  project.updatedAtMs = nowMs;
  return { status: 200, body: { project: renderProject(project) } };
}
