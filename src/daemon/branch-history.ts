/**
 * What the build history says about a project's branches: the newest build per branch. The API
 * has no branch list, so this is read from the newest-first build list: the first time down to
 * the end of the history (or a page limit), afterwards only the builds newer than those seen.
 * Kept in memory between sweeps; every page is a call through the shared pacer.
 */
import type { RemoteBuild } from '../core/model.ts';
import type { CallOptions, CodeshipApi } from '../ports.ts';

/** Pages read at most when a project's history is first walked (50 builds a page). */
export const MAX_HISTORY_PAGES = 40;
const PER_PAGE = 50;

interface ProjectHistory {
  lastBuilt: Map<string, Date>;
  /** UUIDs of the newest builds seen, to know where the previous walk began. */
  topUuids: Set<string>;
}

export interface BranchHistory {
  /** Newest build time per branch of the project; `apiCalls` counts the pages read by this call. */
  read(
    projectUuid: string,
    options?: CallOptions,
  ): Promise<{ lastBuilt: ReadonlyMap<string, Date>; apiCalls: number }>;
  /** Records a build this process just triggered, so the next sweep sees the branch as fresh. */
  noteBuild(projectUuid: string, branch: string, at: Date): void;
}

export function createBranchHistory(api: CodeshipApi): BranchHistory {
  const projects = new Map<string, ProjectHistory>();

  const absorb = (history: ProjectHistory, build: RemoteBuild) => {
    const at = build.queuedAt;
    if (!at) return;
    const previous = history.lastBuilt.get(build.branch);
    if (!previous || previous < at) history.lastBuilt.set(build.branch, at);
  };

  return {
    async read(projectUuid, options = {}) {
      const known = projects.get(projectUuid);
      const history: ProjectHistory = known ?? { lastBuilt: new Map(), topUuids: new Set() };
      const newTop = new Set<string>();
      let seen = 0;
      for await (const build of api.listBuilds(projectUuid, { ...options, perPage: PER_PAGE })) {
        seen += 1;
        if (known?.topUuids.has(build.uuid)) break; // everything older was read before
        if (newTop.size < PER_PAGE) newTop.add(build.uuid);
        absorb(history, build);
        if (seen >= MAX_HISTORY_PAGES * PER_PAGE) break;
      }
      if (newTop.size > 0) {
        // Keep the previous top too: a restarted Basic build keeps its place in the list.
        history.topUuids = new Set([...newTop, ...history.topUuids].slice(0, PER_PAGE * 2));
      }
      projects.set(projectUuid, history);
      return { lastBuilt: history.lastBuilt, apiCalls: Math.max(1, Math.ceil(seen / PER_PAGE)) };
    },
    noteBuild(projectUuid, branch, at) {
      const history = projects.get(projectUuid);
      if (!history) return;
      const previous = history.lastBuilt.get(branch);
      if (!previous || previous < at) history.lastBuilt.set(branch, at);
    },
  };
}
