import { describe, expect, it } from 'vitest';
import {
  type ChainInput,
  chainProblems,
  decideChain,
  describeChain,
  type UpstreamBuild,
} from '../../src/core/chain.ts';
import type { ChainRule, Schedule } from '../../src/core/model.ts';
import { parseScheduleFile } from '../../src/core/schedule/file.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-06-15T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const api: ChainRule = {
  upstreams: [{ kind: 'project', project: 'acme/api', branch: 'main', status: 'success', line: 3 }],
  withinMs: 24 * HOUR,
};
const fanIn: ChainRule = {
  upstreams: [
    { kind: 'schedule', schedule: 'nightly-api', status: 'success', line: 3 },
    { kind: 'project', project: 'acme/web', branch: 'main', status: 'success', line: 4 },
  ],
  withinMs: 6 * HOUR,
};

let n = 0;
function build(minutes: number, status = 'success', project = 'acme/api'): UpstreamBuild {
  n += 1;
  return {
    uuid: `b${String(n).padStart(4, '0')}`,
    project,
    branch: 'main',
    status,
    finishedAt: at(minutes),
  };
}

function input(
  rule: ChainRule,
  builds: UpstreamBuild[][],
  fields: Partial<ChainInput> = {},
): ChainInput {
  return {
    rule,
    builds,
    armedAt: at(0),
    watchingSince: at(0),
    lastFireAt: null,
    handled: new Set(),
    now: at(600),
    catchupMs: HOUR,
    ...fields,
  };
}

describe('decideChain: one upstream', () => {
  it('fires once for every qualifying build after the chain was armed, oldest first', () => {
    const old = build(-5);
    const ok1 = build(10);
    const failed = build(20, 'error');
    const ok2 = build(30);
    const running = { ...build(40, 'testing') };
    const decision = decideChain(input(api, [[ok2, failed, old, ok1, running]]));
    expect(decision.fire.map((c) => c.build)).toEqual([ok1.uuid, ok2.uuid]);
    expect(decision.missed).toEqual([]);
    expect(decision.fire[0]).toMatchObject({
      project: 'acme/api',
      branch: 'main',
      status: 'success',
      finishedAt: at(10).toISOString(),
    });
  });

  it('never fires a build that already has a slot', () => {
    const a = build(10);
    const b = build(20);
    const decision = decideChain(input(api, [[a, b]], { handled: new Set([a.uuid]) }));
    expect(decision.fire.map((c) => c.build)).toEqual([b.uuid]);
  });

  it.each([
    ['success', ['success'], ['error', 'stopped', 'failed']],
    ['failure', ['error', 'failed', 'infrastructure_failure'], ['success', 'stopped']],
    ['finished', ['success', 'error', 'stopped'], []],
  ] as const)('status %s counts %j and not %j', (status, yes, no) => {
    const rule: ChainRule = { ...api, upstreams: [{ ...api.upstreams[0], status } as never] };
    const builds = [...yes, ...no].map((s, i) => build(10 + i, s));
    const fired = decideChain(input(rule, [builds])).fire.map((c) => c.status);
    expect(fired.sort()).toEqual([...yes].sort());
  });

  it('builds that finished while no daemon watched: only the latest fires, within catchup', () => {
    const a = build(10);
    const b = build(20);
    const c = build(50);
    const decision = decideChain(
      input(api, [[a, b, c]], { watchingSince: at(30), now: at(60), catchupMs: HOUR }),
    );
    expect(decision.fire.map((x) => x.build)).toEqual([b.uuid, c.uuid]);
    expect(decision.missed.map((x) => x.build)).toEqual([a.uuid]);
  });

  it('catchup 0, or a missed build older than catchup, fires nothing of the downtime', () => {
    const a = build(10);
    const none = decideChain(input(api, [[a]], { watchingSince: at(30), catchupMs: 0 }));
    expect(none.fire).toEqual([]);
    expect(none.missed.map((x) => x.build)).toEqual([a.uuid]);
    const stale = decideChain(
      input(api, [[a]], { watchingSince: at(300), now: at(300), catchupMs: HOUR }),
    );
    expect(stale.fire).toEqual([]);
  });
});

describe('decideChain: fan-in', () => {
  const ownBuild = (minutes: number, status = 'success') => ({
    ...build(minutes, status, 'acme/api'),
    schedule: 'nightly-api',
  });

  it('fires when a build completes the set within the window; the set is used once', () => {
    const api1 = ownBuild(10);
    const web1 = build(20, 'success', 'acme/web');
    const web2 = build(30, 'success', 'acme/web');
    const decision = decideChain(input(fanIn, [[api1], [web1, web2]]));
    // web1 completes the set; web2 alone (api1 already used) does not.
    expect(decision.fire.map((c) => c.build)).toEqual([web1.uuid]);
  });

  it('does not fire while an upstream has no qualifying build within the window', () => {
    const api1 = ownBuild(10);
    const web1 = build(10 + 7 * 60, 'success', 'acme/web');
    const failedWeb = build(20, 'error', 'acme/web');
    expect(decideChain(input(fanIn, [[api1], [failedWeb, web1]], { now: at(900) })).fire).toEqual(
      [],
    );
  });

  it('a fresh set after the previous fire fires again', () => {
    const api1 = ownBuild(10);
    const web1 = build(20, 'success', 'acme/web');
    const api2 = ownBuild(100);
    const web2 = build(110, 'success', 'acme/web');
    const decision = decideChain(
      input(
        fanIn,
        [
          [api1, api2],
          [web1, web2],
        ],
        {
          lastFireAt: at(20),
          handled: new Set([web1.uuid]),
        },
      ),
    );
    expect(decision.fire.map((c) => c.build)).toEqual([web2.uuid]);
  });
});

describe('chains in schedule files', () => {
  const parse = (text: string) =>
    parseScheduleFile(text, 'chains.yaml', { defaultTimezone: 'UTC' });

  it('reads after:, within and status, and describes them', () => {
    const { schedules, issues } = parse(`schedules:
  - name: docs-after-api
    after:
      - project: acme/api
        branch: main
        status: success
    project: acme/docs
    branch: main
  - name: release-after-both
    after:
      - schedule: nightly-api
      - { project: acme/web, branch: main, status: finished }
    within: 6h
    project: acme/release
    branch: main
`);
    expect(issues).toEqual([]);
    const [docs, release] = schedules as [Schedule, Schedule];
    expect(docs.cron).toBeNull();
    expect(describeChain(docs.after as ChainRule)).toBe('after acme/api main (success)');
    expect(release.after?.withinMs).toBe(6 * HOUR);
    expect(describeChain(release.after as ChainRule)).toBe(
      'after schedule nightly-api (success) and acme/web main (finished) within 6h',
    );
    expect(release.after?.upstreams[1]?.line).toBe(12);
  });

  it.each([
    [
      'both cron and after',
      '    cron: "0 2 * * *"\n    after: [{ schedule: a }]\n',
      'after',
      'given together with "cron"',
    ],
    ['neither', '', 'cron', 'is missing'],
    ['within without after', '    cron: "0 2 * * *"\n    within: 6h\n', 'within', 'chains only'],
    [
      'an unknown status',
      '    after: [{ schedule: a, status: green }]\n',
      'after[0].status',
      'expected one of success, failure, finished',
    ],
    [
      'a project without branch',
      '    after: [{ project: acme/api }]\n',
      'after[0].branch',
      'is missing',
    ],
    [
      'schedule and project',
      '    after: [{ schedule: a, project: acme/api }]\n',
      'after[0].project',
      'given together',
    ],
    ['an unknown key', '    after: [{ schedul: a }]\n', 'after[0].schedul', 'did you mean'],
    ['an empty list', '    after: []\n', 'after', 'empty list'],
    ['a glob branch on a chain', '    after: [{ schedule: a }]\n', 'branch', 'glob', 'release/*'],
  ])('%s is a located error', (_what, lines, field, message, branch = 'main') => {
    const { schedules, issues } = parse(
      `schedules:\n  - name: x\n${lines}    project: acme/docs\n    branch: ${branch}\n`,
    );
    expect(schedules).toEqual([]);
    expect(issues.map((i) => i.field)).toContain(field);
    expect(issues.find((i) => i.field === field)?.message).toContain(message);
    expect(issues.every((i) => i.file === 'chains.yaml' && i.line >= 2)).toBe(true);
  });

  it('finds cycles and unknown schedule upstreams', () => {
    const { schedules } = parse(`schedules:
  - name: a
    after: [{ schedule: b }]
    project: p
    branch: main
  - name: b
    after: [{ schedule: a }]
    project: p
    branch: main
  - name: c
    after: [{ schedule: ghost }]
    project: p
    branch: main
  - name: d
    after: [{ schedule: d }]
    project: p
    branch: main
  - name: e
    after: [{ schedule: c }]
    project: p
    branch: main
`);
    const problems = chainProblems(schedules, new Set(schedules.map((s) => s.name)));
    const by = (name: string) =>
      problems.filter((p) => p.schedule.name === name).map((p) => p.message);
    expect(by('a')).toEqual([expect.stringContaining('cycle (a after b after a')]);
    expect(by('b')).toEqual([expect.stringContaining('cycle (b after a after b')]);
    expect(by('c')).toEqual([expect.stringContaining('"ghost", which no schedule file defines')]);
    expect(by('d')).toEqual([expect.stringContaining('itself')]);
    expect(by('e')).toEqual([]);
  });

  it('finds loops through project builds: a chain after what it builds, or two that feed each other', () => {
    const { schedules } = parse(`schedules:
  - name: ping
    after: [{ project: acme/web, branch: main, status: finished }]
    project: acme/docs
    branch: main
  - name: pong
    after: [{ project: ACME/docs, branch: "*", status: finished }]
    project: acme/web
    branch: main
  - name: self
    after: [{ project: acme/api, branch: "release/*" }]
    project: acme/api
    branches: [release/2.0]
  - name: fine
    after: [{ project: acme/docs, branch: main }]
    project: acme/api
    branch: develop
  - name: nightly
    cron: "0 2 * * *"
    project: acme/web
    branch: main
`);
    const problems = chainProblems(schedules, new Set(schedules.map((s) => s.name)));
    const by = (name: string) =>
      problems.filter((p) => p.schedule.name === name).map((p) => `${p.key}: ${p.message}`);
    expect(by('ping')).toEqual([
      'project: makes a cycle (ping after pong after ping; expected chains that end)',
    ]);
    expect(by('pong')).toEqual([
      'project: makes a cycle (pong after ping after pong; expected chains that end)',
    ]);
    expect(by('self')).toEqual([
      'project: follows acme/api release/*, which this chain builds itself (it would fire after its own builds for ever)',
    ]);
    // fine follows acme/docs main (built by ping) but nothing follows what fine builds.
    expect(by('fine')).toEqual([]);
  });
});
