/**
 * The simulated world: users, organizations, projects and builds, and the operations the API
 * performs on them. Time comes only from the injected `now`; ids are derived deterministically.
 */
import { commitSha, opaqueUuid } from './ids.ts';
import { isRunning, isStoppable, type Run, runState } from './lifecycle.ts';
import { SCOPES } from './seed.ts';
import type { SimBuild, SimulatorSeed } from './types.ts';

export interface UserRecord {
  username: string;
  password: string;
  twoFactor: boolean;
  organizations: OrgRecord[];
}

export interface OrgRecord {
  uuid: string;
  name: string;
  scopes: string[];
}

/** Project settings the API returns and PUT replaces; `null`-free, arrays default to []. */
export interface ProjectSettings {
  setup_commands: unknown[];
  environment_variables: unknown[];
  notification_rules: unknown[];
  team_ids: unknown[];
  test_pipelines: unknown[];
  deployment_pipelines: unknown[];
  build_on_pr_only: boolean;
  branch_match: string;
  branches: unknown[];
}

export interface ProjectRecord {
  uuid: string;
  id: number;
  org: OrgRecord;
  name: string;
  type: 'basic' | 'pro';
  repositoryUrl: string;
  repositoryProvider: string;
  createdAtMs: number;
  updatedAtMs: number;
  settings: ProjectSettings;
  /** Builds in creation order; the API lists them reversed (newest first). */
  builds: BuildRecord[];
}

export interface BuildRecord {
  uuid: string;
  /** Global creation order: the list position, kept by a Basic restart. */
  seq: number;
  project: ProjectRecord;
  ref: string;
  branch: string;
  commitSha: string;
  commitMessage: string;
  username: string;
  run: Run;
  runs: number;
  ghost: boolean;
}

export interface WorldOptions {
  now: () => number;
  buildDurationMs: number;
  outcome: (build: { branch: string; projectName: string; uuid: string }) => 'success' | 'error';
}

/** Default settings of a new project, as the create fixtures show them. */
export function emptySettings(): ProjectSettings {
  return {
    setup_commands: [],
    environment_variables: [],
    notification_rules: [],
    team_ids: [],
    test_pipelines: [],
    deployment_pipelines: [],
    build_on_pr_only: false,
    branch_match: 'exclude',
    branches: [],
  };
}

/** All simulator state, and the build lifecycle operations of the API. */
export class World {
  readonly users = new Map<string, UserRecord>();
  readonly orgs = new Map<string, OrgRecord>();
  readonly projects = new Map<string, ProjectRecord>();
  private nextSeq = 1;
  private nextProjectId = 1;
  private created = 0;

  private readonly options: WorldOptions;

  constructor(seed: SimulatorSeed, options: WorldOptions) {
    this.options = options;
    const startMs = options.now();
    for (const org of seed.organizations) {
      const record: OrgRecord = {
        uuid: org.uuid ?? opaqueUuid(`org/${org.name}`),
        name: org.name,
        scopes: org.scopes ?? [...SCOPES],
      };
      this.orgs.set(record.uuid, record);
      for (const project of org.projects) {
        const created = this.addProject(record, project.name, project.type, startMs, project.uuid);
        const builds = [...(project.builds ?? [])].sort(
          (a, b) => Date.parse(a.queuedAt) - Date.parse(b.queuedAt),
        );
        builds.forEach((build, i) => {
          const queuedAtMs = Date.parse(build.queuedAt);
          const finishedAtMs = build.finishedAt ? Date.parse(build.finishedAt) : null;
          this.addBuild(created, {
            uuid: build.uuid ?? opaqueUuid(`seed-build/${created.uuid}/${i}`),
            branch: build.branch,
            commitSha:
              build.commitSha ?? commitSha(`${created.name}/${build.branch}/${queuedAtMs}`),
            username: build.username ?? 'demo',
            run: {
              queuedAtMs,
              fixed: { status: build.status, finishedAtMs },
              durationMs:
                finishedAtMs === null ? options.buildDurationMs : finishedAtMs - queuedAtMs,
              outcome: 'success',
              stopAtMs: null,
            },
          });
        });
        const oldest = created.builds[0]?.run.queuedAtMs ?? startMs;
        created.createdAtMs = Math.min(created.createdAtMs, oldest - 86_400_000);
        created.updatedAtMs = created.createdAtMs;
      }
    }
    for (const user of seed.users) {
      const organizations = user.organizations.map(
        (name) => [...this.orgs.values()].find((o) => o.name === name)!,
      );
      this.users.set(user.username, {
        username: user.username,
        password: user.password,
        twoFactor: user.twoFactor ?? false,
        organizations,
      });
    }
  }

  /** Adds a project to an organization (seed or POST .../projects). */
  addProject(
    org: OrgRecord,
    name: string,
    type: 'basic' | 'pro',
    atMs: number,
    uuid?: string,
  ): ProjectRecord {
    const project: ProjectRecord = {
      uuid: uuid ?? opaqueUuid(`project/${org.uuid}/${name}`),
      id: this.nextProjectId++,
      org,
      name,
      type,
      repositoryUrl: `https://github.com/${name}`,
      repositoryProvider: 'github',
      createdAtMs: atMs,
      updatedAtMs: atMs,
      settings: emptySettings(),
      builds: [],
    };
    this.projects.set(project.uuid, project);
    return project;
  }

  /** Projects of an organization in creation order. */
  projectsOf(org: OrgRecord): ProjectRecord[] {
    return [...this.projects.values()].filter((p) => p.org === org);
  }

  private addBuild(
    project: ProjectRecord,
    build: Pick<BuildRecord, 'uuid' | 'branch' | 'commitSha' | 'username' | 'run'>,
  ): BuildRecord {
    const record: BuildRecord = {
      ...build,
      seq: this.nextSeq++,
      project,
      ref: `heads/${build.branch}`,
      commitMessage: `Update ${build.branch}`,
      runs: 1,
      ghost: false,
    };
    project.builds.push(record);
    return record;
  }

  private liveRun(project: ProjectRecord, branch: string, uuid: string): Run {
    return {
      queuedAtMs: this.options.now(),
      fixed: null,
      durationMs: this.options.buildDurationMs,
      outcome: this.options.outcome({ branch, projectName: project.name, uuid }),
      stopAtMs: null,
    };
  }

  /** The head SHA the simulator pretends a branch has (stable per project and branch). */
  branchHead(project: ProjectRecord, branch: string): string {
    return commitSha(`head/${project.uuid}/${branch}`);
  }

  /**
   * POST .../builds: a new waiting build on top of the list, or null when `ref` is not
   * `heads/<branch>` (the real API accepts that and silently builds nothing).
   */
  createBuild(
    project: ProjectRecord,
    ref: string,
    sha: string | undefined,
    username: string,
  ): BuildRecord | null {
    const match = /^heads\/(.+)$/.exec(ref);
    if (match === null) return null;
    const branch = match[1]!;
    const uuid = opaqueUuid(`build/${project.uuid}/${++this.created}`);
    return this.addBuild(project, {
      uuid,
      branch,
      commitSha: sha ?? this.branchHead(project, branch),
      username,
      run: this.liveRun(project, branch, uuid),
    });
  }

  /** POST .../restart: ignored while running; Basic re-runs in place, Pro adds a new build on top. */
  restartBuild(build: BuildRecord, username: string): void {
    if (isRunning(this.stateOf(build).status)) return;
    const { project } = build;
    if (project.type === 'basic') {
      build.run = this.liveRun(project, build.branch, build.uuid);
      build.runs += 1;
      return;
    }
    const uuid = opaqueUuid(`build/${project.uuid}/${++this.created}`);
    this.addBuild(project, {
      uuid,
      branch: build.branch,
      commitSha: build.commitSha,
      username,
      run: this.liveRun(project, build.branch, uuid),
    });
  }

  /** POST .../stop: a waiting or testing build becomes stopping, later stopped; else no effect. */
  stopBuild(build: BuildRecord): void {
    if (isStoppable(this.stateOf(build).status)) build.run.stopAtMs = this.options.now();
  }

  stateOf(build: BuildRecord) {
    return runState(build.run, this.options.now());
  }

  /** Every build of every project, oldest first. */
  allBuilds(): BuildRecord[] {
    return [...this.projects.values()].flatMap((p) => p.builds).sort((a, b) => a.seq - b.seq);
  }

  /** The inspection view of a build at now(). */
  snapshot(build: BuildRecord): SimBuild {
    const state = this.stateOf(build);
    return {
      uuid: build.uuid,
      projectUuid: build.project.uuid,
      organizationUuid: build.project.org.uuid,
      ref: build.ref,
      branch: build.branch,
      status: state.status,
      queuedAt: new Date(build.run.queuedAtMs).toISOString(),
      finishedAt: state.finishedAtMs === null ? null : new Date(state.finishedAtMs).toISOString(),
      commitSha: build.commitSha,
      ghost: build.ghost,
    };
  }
}
