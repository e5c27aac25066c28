import { describe, expect, it } from 'vitest';
import { checkSchedule, findProject, unmatchedPatterns } from '../../src/core/api-check.ts';
import { formatScheduleIssue } from '../../src/core/errors.ts';
import type { Schedule } from '../../src/core/model.ts';

const PROJECTS = [
  { uuid: '0f6c5c9a-0000-4000-8000-000000000001', name: 'acme/api' },
  { uuid: '0f6c5c9a-0000-4000-8000-000000000002', name: 'acme/web' },
];

function schedule(branches: string[], project = 'acme/api'): Schedule {
  return {
    name: 'nightly',
    cron: '0 2 * * *',
    after: null,
    timezone: 'UTC',
    project,
    branches,
    catchupMs: 3_600_000,
    overlap: 'allow',
    unchanged: 'build',
    jitterMs: 0,
    enabled: true,
    stale: null,
    source: { file: 'a.yaml', line: 3 },
  };
}

const history = (branches: string[], complete = true, builds = 120) => ({
  branches: new Set(branches),
  builds,
  complete,
});

describe('findProject and unmatchedPatterns', () => {
  it('finds a project by UUID or by name in any case', () => {
    expect(findProject(PROJECTS, 'ACME/Web')?.name).toBe('acme/web');
    expect(findProject(PROJECTS, PROJECTS[0]!.uuid)?.name).toBe('acme/api');
    expect(findProject(PROJECTS, 'acme/docs')).toBeNull();
  });

  it('keeps the names and globs nothing matched yet', () => {
    const seen = new Set(['main', 'release/1.0']);
    expect(unmatchedPatterns(['main', 'release/*', 'develop', 'hotfix/**'], seen)).toEqual([
      'develop',
      'hotfix/**',
    ]);
  });
});

describe('checkSchedule', () => {
  it('accepts a schedule whose names and globs all matched, saying what each matched', () => {
    const result = checkSchedule(
      schedule(['main', 'release/*']),
      PROJECTS,
      history(['main', 'release/1.0', 'release/2.0', 'develop']),
    );
    expect(result).toEqual({
      schedule: 'nightly',
      projectUuid: PROJECTS[0]!.uuid,
      matches: [
        { pattern: 'main', branches: ['main'] },
        { pattern: 'release/*', branches: ['release/1.0', 'release/2.0'] },
      ],
      problems: [],
    });
  });

  it.each([
    [
      'a wrong project, with a hint',
      schedule(['main'], 'acme/apj'),
      history([]),
      'a.yaml:3: schedule nightly: project: "acme/apj" not found in the organization (did you mean "acme/api"?)',
    ],
    [
      'a wrong project, listing the projects',
      schedule(['main'], 'other/thing'),
      history([]),
      'a.yaml:3: schedule nightly: project: "other/thing" not found in the organization (expected one of: acme/api, acme/web)',
    ],
    [
      'a branch never built, with a hint',
      schedule(['mainn']),
      history(['main', 'develop']),
      'a.yaml:3: schedule nightly: branch: "mainn" has no build in acme/api\'s build history (did you mean "main"?)',
    ],
    [
      'a branch not among the builds read when the history was cut',
      schedule(['main', 'old']),
      history(['main'], false, 2000),
      'a.yaml:3: schedule nightly: branches: "old" has no build in the newest 2000 builds of acme/api (expected one of: main)',
    ],
    [
      'a glob matching nothing',
      schedule(['hotfix/*']),
      history(['main']),
      'a.yaml:3: schedule nightly: branches: "hotfix/*" matches no branch in acme/api\'s build history (expected a glob matching one of: main)',
    ],
    [
      'a project without builds',
      schedule(['main']),
      history([], true, 0),
      'a.yaml:3: schedule nightly: branch: "main" has no build: acme/api\'s build history is empty (expected a branch that was built)',
    ],
  ])('reports %s', (_, entry, facts, text) => {
    const { problems } = checkSchedule(entry, PROJECTS, facts);
    expect(problems.map(formatScheduleIssue)).toEqual([text]);
  });

  it("checks a chain's project upstreams against the organization", () => {
    const chain: Schedule = {
      ...schedule(['main'], 'acme/web'),
      cron: null,
      after: {
        upstreams: [
          { kind: 'project', project: 'acme/apj', branch: 'main', status: 'success', line: 5 },
          { kind: 'project', project: 'ACME/API', branch: 'main', status: 'success', line: 6 },
          { kind: 'schedule', schedule: 'nightly', status: 'success', line: 7 },
        ],
        withinMs: 86_400_000,
      },
    };
    const { problems } = checkSchedule(chain, PROJECTS, null);
    expect(problems.map(formatScheduleIssue)).toEqual([
      'a.yaml:5: schedule nightly: after[0].project: "acme/apj" not found in the organization (did you mean "acme/api"?)',
    ]);
  });

  it('judges no branch when the history was not read', () => {
    expect(checkSchedule(schedule(['nope']), PROJECTS, null)).toMatchObject({
      matches: null,
      problems: [],
    });
  });
});
