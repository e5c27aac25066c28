/**
 * JSON bodies shaped like the real API's (see test/fixtures/codeship-api): projects with `Z`
 * times, builds with `+00:00` times, Basic/Pro differences, links under the simulator's own base.
 */
import { commitSha } from './ids.ts';
import type { RunState } from './lifecycle.ts';
import type { BuildRecord, ProjectRecord } from './state.ts';

/** `2017-09-13T17:13:39.314+00:00`, the flavour of the real build bodies. */
function offsetTime(ms: number | null, withMs = true): string | null {
  if (ms === null) return null;
  const iso = new Date(ms).toISOString();
  return `${withMs ? iso.slice(0, 23) : iso.slice(0, 19)}+00:00`;
}

function zTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The project object of the projects list; settings as a new project has them (empty lists). */
export function renderProject(project: ProjectRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    aes_key: project.type === 'pro' ? commitSha(`aes/${project.uuid}`).slice(0, 32) : null,
    authentication_user: 'Demo User',
    created_at: zTime(project.createdAtMs),
    id: project.id,
    name: project.name,
    notification_rules: [],
    organization_uuid: project.org.uuid,
    repository_provider: project.repositoryProvider,
    repository_url: project.repositoryUrl,
    ssh_key: `ssh-rsa AAAAB3NzaC1yc2E${commitSha(`ssh/${project.uuid}`)} codeship`,
    team_ids: [],
    type: project.type,
    updated_at: zTime(project.updatedAtMs),
    uuid: project.uuid,
    build_on_pr_only: false,
    branch_match: 'exclude',
    branches: [],
  };
  // Configuration that only Basic projects have (the Pro fixtures omit these keys).
  if (project.type === 'basic') {
    body.setup_commands = [];
    body.environment_variables = [];
    body.test_pipelines = [];
    body.deployment_pipelines = [];
  }
  return body;
}

/** The build object of GET build and the builds list. */
export function renderBuild(
  build: BuildRecord,
  state: RunState,
  baseUrl: string,
): Record<string, unknown> {
  const { project } = build;
  const self = `${baseUrl}/organizations/${project.org.uuid}/projects/${project.uuid}/builds/${build.uuid}`;
  return {
    allocated_at: project.type === 'pro' ? offsetTime(state.allocatedAtMs) : null,
    branch: build.branch,
    commit_message: build.commitMessage,
    commit_sha: build.commitSha,
    finished_at: offsetTime(state.finishedAtMs),
    links:
      project.type === 'pro'
        ? { services: `${self}/services`, steps: `${self}/steps` }
        : { pipelines: `${self}/pipelines` },
    organization_uuid: project.org.uuid,
    pr_number: null,
    project_id: project.id,
    project_uuid: project.uuid,
    queued_at: offsetTime(build.run.queuedAtMs),
    ref: build.ref,
    status: state.status,
    username: build.username,
    uuid: build.uuid,
  };
}
