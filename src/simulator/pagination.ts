/**
 * List pagination as the API does it: 1-based `page`, `per_page` default 30 clamped to 50, an
 * envelope `{<items>, page, per_page, total}` and a GitHub-style `Link` header (the first page has
 * no first/prev, the last page no next/last).
 */

const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 50;

function positiveInt(raw: string | undefined, fallback: number): number {
  if (raw === undefined || !/^\d+$/.test(raw)) return fallback;
  const value = Number(raw);
  return value >= 1 ? value : fallback;
}

/** One page of `items` and its Link header (null when there is only one page). */
export function paginate<T>(
  key: string,
  items: readonly T[],
  query: Record<string, string>,
  selfUrl: string,
): { body: Record<string, unknown>; link: string | null } {
  const page = positiveInt(query.page, 1);
  const perPage = Math.min(positiveInt(query.per_page, DEFAULT_PER_PAGE), MAX_PER_PAGE);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const urlOf = (target: number) => {
    const { page: _page, per_page: _perPage, ...filters } = query;
    const params = new URLSearchParams({
      ...filters,
      page: String(target),
      per_page: String(perPage),
    });
    return `<${selfUrl}?${params.toString()}>`;
  };
  const rels: string[] = [];
  if (page < lastPage)
    rels.push(`${urlOf(page + 1)}; rel="next"`, `${urlOf(lastPage)}; rel="last"`);
  if (page > 1)
    rels.push(`${urlOf(1)}; rel="first"`, `${urlOf(Math.min(page - 1, lastPage))}; rel="prev"`);
  return {
    body: { [key]: slice, page, per_page: perPage, total: items.length },
    link: rels.length > 0 ? rels.join(', ') : null,
  };
}
