/**
 * Resolves the `project:` of a schedule (a UUID or a project name) to a project UUID, listing the
 * organization's projects once and again only when a name is not found (at most once a minute).
 */
import { CodeshipError } from '../core/errors.ts';
import type { Project } from '../core/model.ts';
import { MINUTE } from '../core/time.ts';
import type { CallOptions, Clock, CodeshipApi } from '../ports.ts';

export interface ProjectResolver {
  /** The UUID of `project`, or a CodeshipError `ERR_CODESHIP_NOT_FOUND` naming the known projects. */
  resolve(project: string, options?: CallOptions): Promise<string>;
  /** Projects as last listed (empty before the first resolve). */
  known(): readonly Project[];
}

export function createProjectResolver(api: CodeshipApi, clock: Clock): ProjectResolver {
  let projects: Project[] = [];
  let listedAt: number | null = null;
  let listing: Promise<void> | null = null;

  const find = (project: string) => {
    const wanted = project.toLowerCase();
    return projects.find((p) => p.uuid === project || p.name.toLowerCase() === wanted) ?? null;
  };

  const refresh = (options?: CallOptions) => {
    listing ??= api
      .listProjects(options)
      .then((list) => {
        projects = list;
        listedAt = clock.now().getTime();
      })
      .finally(() => {
        listing = null;
      });
    return listing;
  };

  return {
    async resolve(project, options) {
      let found = find(project);
      const stale = listedAt === null || clock.now().getTime() - listedAt >= MINUTE;
      if (!found && stale) {
        await refresh(options);
        found = find(project);
      }
      if (found) return found.uuid;
      const names = projects.map((p) => p.name).join(', ') || 'none';
      throw new CodeshipError(
        'ERR_CODESHIP_NOT_FOUND',
        `project "${project}" not found in the organization (projects: ${names})`,
      );
    },
    known: () => projects,
  };
}
