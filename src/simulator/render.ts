/**
 * JSON bodies shaped like the real API's (see shared/codeship-api/fixtures): projects with `Z`
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

/** The project object of GET/POST/PUT project and the projects list. */
export function renderProject(project: ProjectRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    aes_key: project.type === 'pro' ? commitSha(`aes/${project.uuid}`).slice(0, 32) : null,
    authentication_user: 'Demo User',
    created_at: zTime(project.createdAtMs),
    id: project.id,
    name: project.name,
    notification_rules: project.settings.notification_rules,
    organization_uuid: project.org.uuid,
    repository_provider: project.repositoryProvider,
    repository_url: project.repositoryUrl,
    ssh_key: `ssh-rsa AAAAB3NzaC1yc2E${commitSha(`ssh/${project.uuid}`)} codeship`,
    team_ids: project.settings.team_ids,
    type: project.type,
    updated_at: zTime(project.updatedAtMs),
    uuid: project.uuid,
    build_on_pr_only: project.settings.build_on_pr_only,
    branch_match: project.settings.branch_match,
    branches: project.settings.branches,
  };
  // Configuration that only Basic projects have (the Pro fixtures omit these keys).
  if (project.type === 'basic') {
    body.setup_commands = project.settings.setup_commands;
    body.environment_variables = project.settings.environment_variables;
    body.test_pipelines = project.settings.test_pipelines;
    body.deployment_pipelines = project.settings.deployment_pipelines;
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

function subStatus(status: string, running: string): string {
  return status === 'testing' || status === 'stopping' ? running : status;
}

/** GET .../pipelines items (Basic): one build pipeline once testing has started. */
export function renderPipelines(build: BuildRecord, state: RunState): Record<string, unknown>[] {
  if (state.allocatedAtMs === null) return [];
  const seconds = Math.round(
    ((state.finishedAtMs ?? state.allocatedAtMs) - state.allocatedAtMs) / 1000,
  );
  return [
    {
      build_uuid: build.uuid,
      created_at: zTime(state.allocatedAtMs),
      finished_at: zTime(state.finishedAtMs),
      // The real API sends every metric as a string.
      metrics: {
        ami_id: 'ami-02322b79',
        architecture: 'trusty_64',
        cpu_per_second: '136',
        cpu_system: '499',
        cpu_user: '1142',
        disk_free_bytes: '128536784896',
        disk_used_bytes: '362098688',
        duration: String(seconds),
        instance_id: 'i-0cfcd05a46d4cdb12',
        instance_type: 'i3.8xlarge',
        max_used_connections: '1',
        memory_max_usage_in_bytes: '665427968',
        network_rx_bytes: '32221720',
        network_tx_bytes: '310269',
        queries: '112',
      },
      status: subStatus(state.status, 'initiated'),
      type: 'build',
      updated_at: zTime(state.finishedAtMs ?? state.allocatedAtMs),
      uuid: `${commitSha(`pipeline/${build.uuid}/${build.runs}`).slice(0, 8)}-a899-4492-9c94-86ef24527f05`,
    },
  ];
}

function serviceUuid(build: BuildRecord): string {
  return `${commitSha(`service/${build.uuid}`).slice(0, 8)}-1bdb-4413-8e55-a9a8b1b27526`;
}

/** GET .../services items (Pro): one `test` service once testing has started. */
export function renderServices(build: BuildRecord, state: RunState): Record<string, unknown>[] {
  if (state.allocatedAtMs === null) return [];
  return [
    {
      build_uuid: build.uuid,
      building_at: null,
      finished_at: offsetTime(state.finishedAtMs, false),
      name: 'test',
      pulling_at: null,
      status: state.finishedAtMs === null ? 'running' : 'finished',
      updated_at: offsetTime(state.finishedAtMs ?? state.allocatedAtMs, false),
      uuid: serviceUuid(build),
    },
  ];
}

/** GET .../steps items (Pro): one `run` step of the `test` service once testing has started. */
export function renderSteps(build: BuildRecord, state: RunState): Record<string, unknown>[] {
  if (state.allocatedAtMs === null) return [];
  return [
    {
      build_uuid: build.uuid,
      building_at: offsetTime(state.allocatedAtMs, false),
      command: './run-tests.sh',
      finished_at: offsetTime(state.finishedAtMs, false),
      image_name: null,
      name: 'test',
      registry: null,
      service_uuid: serviceUuid(build),
      started_at: offsetTime(state.allocatedAtMs, false),
      status: subStatus(state.status, 'running'),
      steps: [],
      tag: '',
      type: 'run',
      updated_at: offsetTime(state.finishedAtMs ?? state.allocatedAtMs, false),
      uuid: `${commitSha(`step/${build.uuid}/${build.runs}`).slice(0, 8)}-5139-4547-b1cf-7c40160b6e9d`,
    },
  ];
}
