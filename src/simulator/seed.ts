/**
 * Seed validation and loading. Every problem of a seed is reported at once, each located by a
 * JSON path (`organizations[0].projects[1].type`) and saying what was expected.
 */
import { readFileSync } from 'node:fs';
import { SimulatorError } from './errors.ts';
import { BUILD_STATUSES } from './lifecycle.ts';
import type { SimulatorSeed } from './types.ts';
import { webhookUrlIssues } from './webhook-settings.ts';

/** A seed that cannot be used; `issues` lists every problem. Code `ERR_SIMULATOR_SEED`. */
export class SeedError extends SimulatorError {
  override name = 'SeedError';
  readonly issues: readonly string[];
  constructor(source: string, issues: readonly string[]) {
    super('ERR_SIMULATOR_SEED', `invalid simulator seed ${source}:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

export const SCOPES = ['project.read', 'project.write', 'build.read', 'build.write'] as const;
const STATUSES: readonly string[] = BUILD_STATUSES;

type Issues = string[];
type Obj = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

function object(value: unknown, at: string, keys: readonly string[], issues: Issues): Obj | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push(`${at}: must be an object (got ${describe(value)})`);
    return null;
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      issues.push(`${at}.${key}: unknown key (expected one of ${keys.join(', ')})`);
  }
  return value as Obj;
}

function list(value: unknown, at: string, issues: Issues, optional = false): unknown[] {
  if (value === undefined && optional) return [];
  if (!Array.isArray(value)) {
    issues.push(`${at}: must be an array (got ${describe(value)})`);
    return [];
  }
  return value;
}

function text(value: unknown, at: string, issues: Issues, optional = false): string | null {
  if (value === undefined && optional) return null;
  if (typeof value !== 'string' || value.length === 0) {
    issues.push(`${at}: must be a non-empty string (got ${describe(value)})`);
    return null;
  }
  return value;
}

function instant(value: unknown, at: string, issues: Issues, optional: boolean): void {
  if ((value === undefined || value === null) && optional) return;
  const raw = text(value, at, issues);
  if (raw !== null && Number.isNaN(Date.parse(raw))) {
    issues.push(`${at}: must be an ISO-8601 instant (got ${describe(value)})`);
  }
}

function checkBuild(value: unknown, at: string, issues: Issues): void {
  const build = object(
    value,
    at,
    ['branch', 'status', 'queuedAt', 'finishedAt', 'commitSha', 'username', 'uuid'],
    issues,
  );
  if (build === null) return;
  text(build.branch, `${at}.branch`, issues);
  const status = text(build.status, `${at}.status`, issues);
  if (status !== null && !STATUSES.includes(status)) {
    issues.push(
      `${at}.status: unknown build status "${status}" (expected one of ${STATUSES.join(', ')})`,
    );
  }
  instant(build.queuedAt, `${at}.queuedAt`, issues, false);
  instant(build.finishedAt, `${at}.finishedAt`, issues, true);
  const sha = text(build.commitSha, `${at}.commitSha`, issues, true);
  if (sha !== null && !/^[0-9a-f]{40}$/.test(sha)) {
    issues.push(`${at}.commitSha: must be 40 lowercase hex digits (got ${describe(sha)})`);
  }
  text(build.username, `${at}.username`, issues, true);
  text(build.uuid, `${at}.uuid`, issues, true);
}

function checkOrganization(
  value: unknown,
  at: string,
  issues: Issues,
  projectNames: Set<string>,
): string | null {
  const org = object(value, at, ['uuid', 'name', 'scopes', 'projects'], issues);
  if (org === null) return null;
  text(org.uuid, `${at}.uuid`, issues, true);
  const name = text(org.name, `${at}.name`, issues);
  list(org.scopes, `${at}.scopes`, issues, true).forEach((scope, i) => {
    if (!SCOPES.includes(scope as (typeof SCOPES)[number])) {
      issues.push(
        `${at}.scopes[${i}]: unknown scope ${describe(scope)} (expected one of ${SCOPES.join(', ')})`,
      );
    }
  });
  list(org.projects, `${at}.projects`, issues).forEach((raw, i) => {
    const pat = `${at}.projects[${i}]`;
    const project = object(
      raw,
      pat,
      ['uuid', 'name', 'type', 'branches', 'builds', 'webhooks'],
      issues,
    );
    if (project === null) return;
    text(project.uuid, `${pat}.uuid`, issues, true);
    const projectName = text(project.name, `${pat}.name`, issues);
    if (projectName !== null) {
      if (projectNames.has(projectName))
        issues.push(`${pat}.name: duplicate project name "${projectName}"`);
      projectNames.add(projectName);
    }
    if (project.type !== 'basic' && project.type !== 'pro') {
      issues.push(`${pat}.type: must be "basic" or "pro" (got ${describe(project.type)})`);
    }
    list(project.branches, `${pat}.branches`, issues, true).forEach((branch, j) => {
      text(branch, `${pat}.branches[${j}]`, issues);
    });
    list(project.builds, `${pat}.builds`, issues, true).forEach((build, j) => {
      checkBuild(build, `${pat}.builds[${j}]`, issues);
    });
    issues.push(...webhookUrlIssues(project.webhooks, `${pat}.webhooks`));
  });
  return name;
}

/**
 * Checks a seed's shape and references (users' organizations must exist, names must be unique)
 * and returns it typed, or throws a SeedError listing every problem; `source` names it in the message.
 */
export function validateSeed(value: unknown, source: string): SimulatorSeed {
  const issues: Issues = [];
  const seed = object(value, 'seed', ['users', 'organizations'], issues);
  if (seed === null) throw new SeedError(source, issues);
  const orgNames = new Set<string>();
  const projectNames = new Set<string>();
  list(seed.organizations, 'organizations', issues).forEach((org, i) => {
    const name = checkOrganization(org, `organizations[${i}]`, issues, projectNames);
    if (name === null) return;
    if (orgNames.has(name))
      issues.push(`organizations[${i}].name: duplicate organization "${name}"`);
    orgNames.add(name);
  });
  const usernames = new Set<string>();
  list(seed.users, 'users', issues).forEach((raw, i) => {
    const at = `users[${i}]`;
    const user = object(
      raw,
      at,
      ['username', 'password', 'displayName', 'twoFactor', 'organizations'],
      issues,
    );
    if (user === null) return;
    const username = text(user.username, `${at}.username`, issues);
    if (username !== null) {
      if (usernames.has(username)) issues.push(`${at}.username: duplicate user "${username}"`);
      usernames.add(username);
    }
    // Never echo the password itself, even when it is the wrong type.
    if (typeof user.password !== 'string' || user.password.length === 0) {
      issues.push(`${at}.password: must be a non-empty string`);
    }
    if (user.displayName !== undefined) text(user.displayName, `${at}.displayName`, issues);
    if (user.twoFactor !== undefined && typeof user.twoFactor !== 'boolean') {
      issues.push(`${at}.twoFactor: must be true or false (got ${describe(user.twoFactor)})`);
    }
    list(user.organizations, `${at}.organizations`, issues).forEach((org, j) => {
      const name = text(org, `${at}.organizations[${j}]`, issues);
      if (name !== null && !orgNames.has(name)) {
        issues.push(`${at}.organizations[${j}]: no organization named "${name}" in this seed`);
      }
    });
  });
  if (issues.length > 0) throw new SeedError(source, issues);
  return value as SimulatorSeed;
}

/** Reads and validates a JSON seed file; every problem is reported at once as a SeedError. */
export function loadSeedFile(path: string): SimulatorSeed {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SeedError(path, [`cannot read the file (${code})`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new SeedError(path, [`not valid JSON (${(error as Error).message})`]);
  }
  return validateSeed(value, path);
}
