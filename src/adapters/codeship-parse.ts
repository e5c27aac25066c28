/**
 * Boundary validation: Codeship response bodies checked into our types. Anything unexpected is an
 * `ERR_CODESHIP_BAD_RESPONSE` that names the endpoint and the field, e.g.
 * `GET /organizations/:org/projects/:project/builds: builds[3].queued_at is not a timestamp (got 42)`.
 * Lenient where the API is known to vary (both timestamp forms, `null` times, opaque UUIDs,
 * unknown statuses), strict about types.
 */
import { CodeshipError } from '../core/errors.ts';
import type { Project, ProjectType, RemoteBuild } from '../core/model.ts';
import { parseInstant } from '../core/time.ts';

type Json = Record<string, unknown>;

/** The auth response: token, its expiry and the organizations it covers. */
export interface AuthGrant {
  readonly accessToken: string;
  readonly expiresAt: Date;
  readonly organizations: readonly { uuid: string; name: string; scopes: readonly string[] }[];
}

/** One page of a list endpoint. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
  readonly page: number;
  readonly perPage: number;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Reads fields of one object, naming `where` (`builds[3]`) in every complaint. */
class Reader {
  private readonly endpoint: string;
  readonly where: string;
  private readonly value: Json;

  constructor(endpoint: string, where: string, value: Json) {
    this.endpoint = endpoint;
    this.where = where;
    this.value = value;
  }

  static of(endpoint: string, where: string, value: unknown): Reader {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badResponse(endpoint, `${where || 'body'} is not an object (got ${shown(value)})`);
    }
    return new Reader(endpoint, where, value as Json);
  }

  private name(key: string): string {
    return this.where === '' ? key : `${this.where}.${key}`;
  }

  fail(key: string, expected: string): never {
    throw badResponse(
      this.endpoint,
      `${this.name(key)} is not ${expected} (got ${shown(this.value[key])})`,
    );
  }

  get raw(): Json {
    return this.value;
  }

  string(key: string): string {
    const value = this.value[key];
    return typeof value === 'string' ? value : this.fail(key, 'a string');
  }

  /** A string that may be missing or null (then `fallback`). */
  optString(key: string, fallback = ''): string {
    const value = this.value[key];
    if (value === undefined || value === null) return fallback;
    return typeof value === 'string' ? value : this.fail(key, 'a string');
  }

  optInteger(key: string): number | null {
    const value = this.value[key];
    if (value === undefined || value === null) return null;
    return Number.isInteger(value) ? (value as number) : this.fail(key, 'an integer');
  }

  integer(key: string): number {
    const value = this.value[key];
    return Number.isInteger(value) ? (value as number) : this.fail(key, 'an integer');
  }

  /** An ISO-8601 instant (`Z` or `+00:00`, with or without ms), null or missing. */
  time(key: string): Date | null {
    const value = this.value[key];
    if (value === undefined || value === null) return null;
    const at = typeof value === 'string' ? parseInstant(value) : null;
    return at ?? this.fail(key, 'a timestamp');
  }

  array(key: string): unknown[] {
    const value = this.value[key];
    return Array.isArray(value) ? value : this.fail(key, 'an array');
  }

  object(key: string): Reader {
    return Reader.of(this.endpoint, this.name(key), this.value[key]);
  }

  /** A flat object of strings (`links`); missing or null gives `{}`. */
  stringMap(key: string, allowNull = false): Record<string, string> {
    const value = this.value[key];
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) return this.fail(key, 'an object');
    const out: Record<string, string> = {};
    for (const [name, item] of Object.entries(value as Json)) {
      if (typeof item === 'string') out[name] = item;
      else if (!(allowNull && item === null)) {
        this.object(key).fail(name, 'a string');
      }
    }
    return out;
  }
}

/** An `ERR_CODESHIP_BAD_RESPONSE` for `endpoint` (`"GET /organizations/:org/projects"`). */
function badResponse(endpoint: string, detail: string): CodeshipError {
  const [method = '', path = ''] = endpoint.split(' ');
  return new CodeshipError('ERR_CODESHIP_BAD_RESPONSE', `${endpoint}: ${detail}`, {
    method,
    path,
  });
}

/** Parses the JSON text of a response; a body that is not JSON is a bad response. */
export function parseJson(endpoint: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badResponse(endpoint, `the body is not JSON (got ${shown(text.slice(0, 60))})`);
  }
}

/** Validates one build object found at `where` (`build`, `builds[3]`). */
export function parseBuild(endpoint: string, where: string, value: unknown): RemoteBuild {
  const r = Reader.of(endpoint, where, value);
  const ref = r.string('ref');
  return {
    uuid: r.string('uuid'),
    projectUuid: r.string('project_uuid'),
    projectId: r.optInteger('project_id'),
    organizationUuid: r.optString('organization_uuid'),
    ref,
    branch: r.optString('branch', ref.replace(/^heads\//, '')),
    commitSha: r.optString('commit_sha'),
    commitMessage: r.optString('commit_message'),
    username: r.optString('username'),
    status: r.string('status'),
    queuedAt: r.time('queued_at'),
    allocatedAt: r.time('allocated_at'),
    finishedAt: r.time('finished_at'),
    links: r.stringMap('links'),
  };
}

/** Validates one project object found at `where` (`project`, `projects[0]`). */
export function parseProject(endpoint: string, where: string, value: unknown): Project {
  const r = Reader.of(endpoint, where, value);
  const type = r.string('type');
  if (type !== 'basic' && type !== 'pro') r.fail('type', '"basic" or "pro"');
  return {
    uuid: r.string('uuid'),
    id: r.optInteger('id'),
    name: r.string('name'),
    type: type as ProjectType,
    repositoryUrl: r.optString('repository_url'),
    repositoryProvider: r.optString('repository_provider'),
    organizationUuid: r.optString('organization_uuid'),
    createdAt: r.time('created_at'),
    updatedAt: r.time('updated_at'),
    raw: r.raw,
  };
}

/** Validates `{ <key>: {...} }` (a single resource envelope) with `parse`. */
export function parseSingle<T>(
  endpoint: string,
  key: string,
  body: unknown,
  parse: (endpoint: string, where: string, value: unknown) => T,
): T {
  const r = Reader.of(endpoint, '', body);
  return parse(endpoint, key, r.raw[key]);
}

/** Validates a list envelope `{ <key>: [...], total, page, per_page }`. */
export function parsePage<T>(
  endpoint: string,
  key: string,
  body: unknown,
  parse: (endpoint: string, where: string, value: unknown) => T,
): Page<T> {
  const r = Reader.of(endpoint, '', body);
  const items = r.array(key).map((item, i) => parse(endpoint, `${key}[${i}]`, item));
  return {
    items,
    total: r.raw.total === undefined ? items.length : r.integer('total'),
    page: r.raw.page === undefined ? 1 : r.integer('page'),
    perPage: r.raw.per_page === undefined ? items.length : r.integer('per_page'),
  };
}

/** Validates the `POST /auth` body (the caller handles the `{"error": …}` form first). */
export function parseAuthGrant(endpoint: string, body: unknown): AuthGrant {
  const r = Reader.of(endpoint, '', body);
  const token = r.string('access_token');
  if (token === '') r.fail('access_token', 'a non-empty string');
  const organizations = r.array('organizations').map((item, i) => {
    const org = Reader.of(endpoint, `organizations[${i}]`, item);
    const scopes = org.raw.scopes === undefined ? [] : org.array('scopes');
    return {
      uuid: org.string('uuid'),
      name: org.string('name'),
      scopes: scopes.filter((s): s is string => typeof s === 'string'),
    };
  });
  return {
    accessToken: token,
    expiresAt: new Date(r.integer('expires_at') * 1000),
    organizations,
  };
}

/** The API's `errors[]` (or `/auth`'s `error`), from a body that may not be JSON at all. */
export function apiErrorsOf(text: string): string[] {
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null) return [];
    const { errors, error } = body as Json;
    if (Array.isArray(errors)) return errors.map((e) => (typeof e === 'string' ? e : shown(e)));
    if (typeof error === 'string') return [error];
    return [];
  } catch {
    return [];
  }
}
