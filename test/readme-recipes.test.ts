/** The README's recipes are complete schedule files: each must validate as it is printed. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainProblems } from '../src/core/chain.ts';
import { formatScheduleIssue } from '../src/core/errors.ts';
import { parseScheduleFile } from '../src/core/schedule/file.ts';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const recipes = readme.slice(readme.indexOf('## Recipes'), readme.indexOf('## Time semantics'));
const blocks = [...recipes.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('README recipes', () => {
  it('has the seven recipes the README promises', () => {
    expect(blocks).toHaveLength(7);
  });

  it.each(blocks.map((text, index) => [index + 1, text]))('recipe %i validates', (index, text) => {
    const { schedules, issues } = parseScheduleFile(String(text), `README recipe ${index}`, {
      defaultTimezone: 'UTC',
    });
    expect(issues.map(formatScheduleIssue)).toEqual([]);
    expect(schedules.length).toBeGreaterThan(0);
  });

  it('spreads nightlies with jitter, sweeps releases with stale:, skips unchanged heads', () => {
    const parsed = blocks.map(
      (text) => parseScheduleFile(text, 'README', { defaultTimezone: 'UTC' }).schedules,
    );
    expect(parsed[1]?.map((s) => s.jitterMs)).toEqual([1_800_000, 1_800_000, 1_800_000]);
    expect(parsed[2]?.[0]).toMatchObject({
      branches: ['release/*'],
      stale: { olderThanMs: 7 * 86_400_000, max: 5 },
    });
    expect(parsed[3]?.[0]).toMatchObject({ unchanged: 'skip', branches: ['main'] });
    expect(parsed[6]?.[0]).toMatchObject({ timezone: 'America/New_York', catchupMs: 0 });
  });

  it('chains a deploy after a green nightly, and an integration after every component', () => {
    const parsed = blocks.map(
      (text) => parseScheduleFile(text, 'README', { defaultTimezone: 'UTC' }).schedules,
    );
    const deploy = parsed[4] ?? [];
    expect(chainProblems(deploy, new Set(deploy.map((s) => s.name)))).toEqual([]);
    expect(deploy[1]?.after?.upstreams).toMatchObject([
      { kind: 'schedule', schedule: 'nightly-api', status: 'success' },
    ]);
    expect(parsed[5]?.[0]?.after).toMatchObject({
      withinMs: 6 * 3_600_000,
      upstreams: [{ project: 'acme/api' }, { project: 'acme/web' }, { project: 'acme/docs' }],
    });
  });
});
