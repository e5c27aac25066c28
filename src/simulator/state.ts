/**
 * The simulated world: users, organizations, projects and builds, and the operations the API
 * performs on them. Time comes only from the injected `now` (the server's clock); ids are derived
 * by hashing, new builds' with a per-instance salt so no two simulators share them.
 */
import { BranchHeads } from './heads.ts';
import { commitSha, opaqueUuid } from './ids.ts';
import { isStoppable, type Run, runState } from './lifecycle.ts';
import type { PushPlanner } from './pushes.ts';
import { SCOPES } from './seed.ts';
import type { SimBuild, SimulatorSeed } from './types.ts';

export interface UserRecord {
  username: string;
  password: string;
  /** The `username` of builds this user creates; null: the login. */
  displayName: string | null;
  twoFactor: boolean;
  organizations: OrgRecord[];
}

export interface OrgRecord {
  uuid: string;
  name: string;
  scopes: string[];
}

export interface ProjectRecord {
  uuid: string;
  id: number;
  org: OrgRecord;
  name: string;
  type: 'basic' | 'pro';
  repositoryUrl: string;
  repositoryProvider: string;
  /** Where this project's notification webhooks go (loopback http URLs from the seed). */
  webhooks: readonly string[];
  createdAtMs: number;
  updatedAtMs: number;
  /** Builds in creation order; the API lists them by queued time, newest first. */
  builds: BuildRecord[];
}

export interface BuildRecord {
  uuid: string;
  /** The legacy numeric id notification webhooks carry as `build_id`; unique in this run. */
  id: number;
  /** Global creation order: breaks ties of queued times. */
  seq: number;
  project: ProjectRecord;
  ref: string;
  branch: string;
  commitSha: string;
  commitMessage: string;
  username: string;
  /** Its run; until `run.queuedAtMs` (a push in the future) the build is invisible. */
  run: Run;
  ghost: boolean;
  /** Queued by a push by someone else. */
  pusher: boolean;
}

interface WorldOptions {
  /** The server's clock (epoch ms). */
  now: () => number;
  buildDurationMs: number;
  outcome: (build: { branch: string; projectName: string; uuid: string }) => 'success' | 'error';
  /** Mixed into new build UUIDs and pushed commits. */
  idSalt: string;
  pushes: PushPlanner;
}

/** All simulator state, and the build lifecycle operations of the API. */
export class World {
  readonly users = new Map<string, UserRecord>();
  readonly orgs = new Map<string, OrgRecord>();
  readonly projects = new Map<string, ProjectRecord>();
  private nextSeq = 1;
  private nextProjectId = 1;
  /** Build ids start far from project ids so a test that mixes the two up fails. */
  private nextBuildId = 100_001;
  private readonly buildListeners: ((build: BuildRecord) => void)[] = [];
  private created = 0;
  private readonly heads: BranchHeads;

  private readonly options: WorldOptions;

  constructor(seed: SimulatorSeed, options: WorldOptions) {
    this.options = options;
    this.heads = new BranchHeads(options.idSalt);
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
        created.webhooks = [...(project.webhooks ?? [])];
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
            pusher: false,
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
        displayName: user.displayName ?? null,
        twoFactor: user.twoFactor ?? false,
        organizations,
      });
    }
  }

  /** The server's clock (epoch ms). */
  now(): number {
    return this.options.now();
  }

  /** Adds a project of the seed to an organization. */
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
      webhooks: [],
      createdAtMs: atMs,
      updatedAtMs: atMs,
      builds: [],
    };
    this.projects.set(project.uuid, project);
    return project;
  }

  /** Projects of an organization in creation order. */
  projectsOf(org: OrgRecord): ProjectRecord[] {
    return [...this.projects.values()].filter((p) => p.org === org);
  }

  /** Calls `listener` with every build added from now on (created or pushed), as it is added. */
  onBuildAdded(listener: (build: BuildRecord) => void): void {
    this.buildListeners.push(listener);
  }

  private addBuild(
    project: ProjectRecord,
    build: Pick<BuildRecord, 'uuid' | 'branch' | 'commitSha' | 'username' | 'run' | 'pusher'>,
  ): BuildRecord {
    const record: BuildRecord = {
      ...build,
      id: this.nextBuildId++,
      seq: this.nextSeq++,
      project,
      ref: `heads/${build.branch}`,
      commitMessage: `Update ${build.branch}`,
      ghost: false,
    };
    project.builds.push(record);
    for (const listener of this.buildListeners) listener(record);
    return record;
  }

  private liveRun(project: ProjectRecord, branch: string, uuid: string, atMs: number): Run {
    return {
      queuedAtMs: atMs,
      fixed: null,
      durationMs: this.options.buildDurationMs,
      outcome: this.options.outcome({ branch, projectName: project.name, uuid }),
      stopAtMs: null,
    };
  }

  /** A UUID no other build of any simulator instance has (salted, counted). */
  private newBuildUuid(project: ProjectRecord): string {
    return opaqueUuid(`build/${this.options.idSalt}/${project.uuid}/${++this.created}`);
  }

  /**
   * Someone else pushes to a branch at `atMs` (past, now or future): a new head commit from then
   * on and a build of it queued then, invisible until the server's clock reaches it.
   */
  push(project: ProjectRecord, branch: string, atMs: number, username: string): BuildRecord {
    const sha = this.heads.push(project.uuid, branch, atMs);
    const uuid = this.newBuildUuid(project);
    return this.addBuild(project, {
      uuid,
      branch,
      commitSha: sha,
      username,
      pusher: true,
      run: this.liveRun(project, branch, uuid, atMs),
    });
  }

  /**
   * POST .../builds: a new waiting build of `sha` (default: the branch's head now) on top of the
   * list, or null when `ref` is not `heads/<branch>` (the real API accepts that and silently
   * builds nothing). A create that builds may get a push by someone else around it (`pushes`);
   * a push before it changes the head only for later creates.
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
    const nowMs = this.options.now();
    const uuid = this.newBuildUuid(project);
    const created = this.addBuild(project, {
      uuid,
      branch,
      commitSha: sha ?? this.heads.at(project.uuid, branch, nowMs),
      username,
      pusher: false,
      run: this.liveRun(project, branch, uuid, nowMs),
    });
    const offsetMs = this.options.pushes.decide();
    if (offsetMs !== null)
      this.push(project, branch, nowMs + offsetMs, this.options.pushes.username);
    return created;
  }

  /** POST .../stop: a waiting or testing build becomes stopping, later stopped; else no effect. */
  stopBuild(build: BuildRecord): void {
    if (isStoppable(this.stateOf(build).status)) build.run.stopAtMs = this.options.now();
  }

  stateOf(build: BuildRecord) {
    return runState(build.run, this.options.now());
  }

  /** Whether a build has been queued yet (a push in the future has not). */
  isVisible(build: BuildRecord): boolean {
    return build.run.queuedAtMs <= this.options.now();
  }

  /** A project's visible builds as the API lists them: newest first by queued time. */
  listed(project: ProjectRecord): BuildRecord[] {
    return project.builds
      .filter((b) => this.isVisible(b))
      .sort((a, b) => b.run.queuedAtMs - a.run.queuedAtMs || b.seq - a.seq);
  }

  /** A visible build of a project by UUID, or undefined. */
  findBuild(project: ProjectRecord, uuid: string): BuildRecord | undefined {
    return project.builds.find((b) => b.uuid === uuid && this.isVisible(b));
  }

  /** A project by UUID, else by name (the first in creation order), or undefined. */
  findProject(nameOrUuid: string): ProjectRecord | undefined {
    return (
      this.projects.get(nameOrUuid) ??
      [...this.projects.values()].find((p) => p.name === nameOrUuid)
    );
  }

  /** Every visible build of every project, in creation order. */
  allBuilds(): BuildRecord[] {
    return [...this.projects.values()]
      .flatMap((p) => p.builds)
      .filter((b) => this.isVisible(b))
      .sort((a, b) => a.seq - b.seq);
  }

  /** The inspection view of a build at now(). */
  snapshot(build: BuildRecord): SimBuild {
    const state = this.stateOf(build);
    return {
      uuid: build.uuid,
      id: build.id,
      projectId: build.project.id,
      projectUuid: build.project.uuid,
      organizationUuid: build.project.org.uuid,
      ref: build.ref,
      branch: build.branch,
      status: state.status,
      queuedAt: new Date(build.run.queuedAtMs).toISOString(),
      finishedAt: state.finishedAtMs === null ? null : new Date(state.finishedAtMs).toISOString(),
      commitSha: build.commitSha,
      username: build.username,
      pusher: build.pusher,
      ghost: build.ghost,
    };
  }
}
