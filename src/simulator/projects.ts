/** Project endpoints: the list (filters `name`, `type`). */
import type { ApiResponse, Scope } from './http-types.ts';
import { paginate } from './pagination.ts';
import { renderProject } from './render.ts';

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
