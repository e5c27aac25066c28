import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  apiErrorsOf,
  parseAuthGrant,
  parseBuild,
  parsePage,
  parseProject,
  parseSingle,
} from '../../src/adapters/codeship-parse.ts';
import { CodeshipError } from '../../src/core/errors.ts';

// The real API's bodies (codeship-go's fixtures, MIT: see the LICENSE beside them).
const FIXTURES = fileURLToPath(new URL('../fixtures/codeship-api/', import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8'));
const LIST = 'GET /organizations/:org/projects/:project/builds';

function thrown(action: () => unknown): CodeshipError {
  try {
    action();
  } catch (error) {
    if (error instanceof CodeshipError) return error;
    throw error;
  }
  throw new Error('expected a CodeshipError');
}

describe('fixtures of the real API', () => {
  it('parses every response fixture (each file is covered by one parser)', () => {
    const parsers: Record<string, (body: unknown) => unknown> = {
      'auth/success.json': (b) => parseAuthGrant('POST /auth', b),
      'auth/unauthorized.json': (b) => apiErrorsOf(JSON.stringify(b)),
      'auth/two_factor.json': (b) => apiErrorsOf(JSON.stringify(b)),
      'builds/get.json': (b) => parseSingle('GET b', 'build', b, parseBuild),
      'builds/list.json': (b) => parsePage(LIST, 'builds', b, parseBuild),
      'projects/list.json': (b) => parsePage('GET p', 'projects', b, parseProject),
      'errors.json': (b) => apiErrorsOf(JSON.stringify(b)),
      'not_found.json': (b) => apiErrorsOf(JSON.stringify(b)),
    };
    const files = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files.length).toBe(8);
    for (const file of files) {
      const parse = parsers[file];
      expect(parse, `a parser for ${file}`).toBeDefined();
      expect(() => parse?.(fixture(file)), file).not.toThrow();
    }
  });

  it('reads a build with +00:00 timestamps, project_id and links', () => {
    const build = parseSingle('GET b', 'build', fixture('builds/get.json'), parseBuild);
    expect(build).toEqual({
      uuid: '25a3dd8c-eb3e-4e75-1298-8cbcbe621342',
      projectUuid: '28123f10-e33d-5533-b53f-111ef8d7b14f',
      projectId: 1,
      organizationUuid: '28123g10-e33d-5533-b57f-111ef8d7b14f',
      ref: 'heads/master',
      branch: 'test-branch',
      commitSha: '185ab4c7dc4eda2a027c284f7a669cac3f50a5ed',
      commitMessage: 'implemented interface for handling tests',
      username: 'fillup',
      status: 'success',
      queuedAt: new Date('2017-09-13T17:13:39.314Z'),
      allocatedAt: new Date('2017-09-13T17:13:36.967Z'),
      finishedAt: new Date('2017-09-13T17:13:55.193Z'),
      links: {
        services: expect.stringMatching(/\/services$/),
        steps: expect.stringMatching(/\/steps$/),
      },
    });
  });

  it('reads the list envelope and both project types', () => {
    const page = parsePage('GET p', 'projects', fixture('projects/list.json'), parseProject);
    expect(page).toMatchObject({ total: 2, page: 1, perPage: 30 });
    expect(page.items.map((p) => [p.name, p.type, p.id])).toEqual([
      ['org/test-project', 'pro', 1],
      ['org/another-project', 'basic', 2],
    ]);
    expect(page.items[0]?.createdAt?.toISOString()).toBe('2017-09-08T20:19:55.199Z');
    expect(page.items[1]?.raw.setup_commands).toEqual([]);
  });

  it('reads the token, its expiry in seconds and the organizations', () => {
    const grant = parseAuthGrant('POST /auth', fixture('auth/success.json'));
    expect(grant.accessToken).toBe('token');
    expect(grant.expiresAt.getTime()).toBe(9_999_999_999_000);
    expect(grant.organizations).toEqual([
      {
        uuid: '28123f10-e33d-5533-b53f-111ef8d7b14f',
        name: 'codeship',
        scopes: ['project.read', 'project.write', 'build.read', 'build.write'],
      },
    ]);
  });

  it('keeps the API errors of error bodies', () => {
    expect(apiErrorsOf(JSON.stringify(fixture('not_found.json')))).toEqual(['%s not found']);
    expect(apiErrorsOf('{"error":"Unauthorized"}')).toEqual(['Unauthorized']);
    expect(apiErrorsOf('Rate Limit Exceeded')).toEqual([]);
  });
});

describe('boundary validation', () => {
  const base = (fixture('builds/list.json') as { builds: Record<string, unknown>[] }).builds[0];
  const listOf = (...builds: Record<string, unknown>[]) => ({
    builds,
    page: 1,
    per_page: 50,
    total: builds.length,
  });

  it('accepts Z and +00:00, with and without ms, and null times; keeps unknown statuses and odd UUIDs', () => {
    const page = parsePage(
      LIST,
      'builds',
      listOf(
        { ...base, uuid: 'x', queued_at: '2017-12-07T22:17:51.280Z', status: 'brand_new_status' },
        { ...base, uuid: '20b4a690-6a03-0135-d6ec-00000', queued_at: '2017-12-07T22:17:51Z' },
        { ...base, queued_at: '2017-09-13T17:13:41+00:00', allocated_at: null, finished_at: null },
        { ...base, queued_at: '2017-09-13T17:13:41.5+00:00', branch: undefined },
      ),
      parseBuild,
    );
    expect(page.items.map((b) => b.queuedAt?.toISOString())).toEqual([
      '2017-12-07T22:17:51.280Z',
      '2017-12-07T22:17:51.000Z',
      '2017-09-13T17:13:41.000Z',
      '2017-09-13T17:13:41.500Z',
    ]);
    expect(page.items[0]?.status).toBe('brand_new_status');
    expect(page.items[1]?.uuid).toBe('20b4a690-6a03-0135-d6ec-00000');
    expect(page.items[2]).toMatchObject({ allocatedAt: null, finishedAt: null });
    // Without `branch`, the branch is the ref without heads/.
    expect(page.items[3]?.branch).toBe('master');
  });

  it('names the endpoint and the field of an unexpected shape', () => {
    const body = listOf(base!, base!, base!, { ...base, queued_at: 42 });
    const error = thrown(() => parsePage(LIST, 'builds', body, parseBuild));
    expect(error.code).toBe('ERR_CODESHIP_BAD_RESPONSE');
    expect(error.message).toBe(
      'GET /organizations/:org/projects/:project/builds: builds[3].queued_at is not a timestamp (got 42)',
    );
    expect(error.method).toBe('GET');
    expect(error.path).toBe('/organizations/:org/projects/:project/builds');
    expect(
      thrown(() =>
        parsePage(LIST, 'builds', listOf({ ...base, queued_at: 'yesterday' }), parseBuild),
      ).message,
    ).toBe(`${LIST}: builds[0].queued_at is not a timestamp (got "yesterday")`);
    expect(thrown(() => parsePage(LIST, 'builds', { total: 1 }, parseBuild)).message).toBe(
      `${LIST}: builds is not an array (got undefined)`,
    );
    expect(
      thrown(() => parsePage(LIST, 'builds', listOf({ ...base, uuid: 7 }), parseBuild)).message,
    ).toBe(`${LIST}: builds[0].uuid is not a string (got 7)`);
    expect(
      thrown(() =>
        parseSingle(
          'GET x',
          'project',
          {
            project: {
              ...(fixture('projects/list.json') as { projects: object[] }).projects[0],
              type: 'enterprise',
            },
          },
          parseProject,
        ),
      ).message,
    ).toBe('GET x: project.type is not "basic" or "pro" (got "enterprise")');
    expect(thrown(() => parseSingle('GET x', 'build', [], parseBuild)).message).toBe(
      'GET x: body is not an object (got [])',
    );
    expect(
      thrown(() => parseAuthGrant('POST /auth', { access_token: 't', organizations: [] })).message,
    ).toBe('POST /auth: expires_at is not an integer (got undefined)');
  });
});
