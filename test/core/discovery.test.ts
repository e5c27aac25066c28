import { describe, expect, it } from 'vitest';
import {
  assignBuilds,
  type Claimant,
  DISCOVERY_SKEW_MS,
  decideFollowUps,
  decidePending,
  nextReconcileDelayMs,
  type PendingSlot,
  walkHorizon,
} from '../../src/core/discovery.ts';
import type { RemoteBuild } from '../../src/core/model.ts';
import { MINUTE, SECOND } from '../../src/core/time.ts';

const at = (iso: string) => new Date(iso);

function build(
  uuid: string,
  branch: string,
  queuedAt: string | null,
  fields: Partial<RemoteBuild> = {},
): RemoteBuild {
  return {
    uuid,
    projectUuid: 'p-1',
    projectId: 1,
    organizationUuid: 'o-1',
    ref: `heads/${branch}`,
    branch,
    commitSha: 'a'.repeat(40),
    commitMessage: 'nightly',
    username: 'bot',
    status: 'testing',
    queuedAt: queuedAt === null ? null : at(queuedAt),
    allocatedAt: null,
    finishedAt: null,
    links: {},
    ...fields,
  };
}

const claimant = (id: number, ref: string, intentAt: string): Claimant => ({
  id,
  ref,
  intentAt: at(intentAt),
});

/** `claimant id -> build uuid`, for readable expectations. */
function assigned(
  claimants: Claimant[],
  builds: RemoteBuild[],
  claimed: string[] = [],
): Record<number, string> {
  const result = assignBuilds(claimants, builds, new Set(claimed));
  return Object.fromEntries([...result].map(([id, b]) => [id, b.uuid]));
}

describe('assignBuilds', () => {
  it("serves confirmed (202) claimants first: an unknown-outcome create cannot take a later slot's build", () => {
    const unknown: Claimant = {
      ...claimant(1, 'heads/main', '2026-06-01T10:01:00Z'),
      confirmed: false,
    };
    const accepted: Claimant = {
      ...claimant(2, 'heads/main', '2026-06-01T10:01:40Z'),
      confirmed: true,
    };
    // Only the accepted create built anything (the unknown one got a 500 with no effect).
    const builds = [build('b-accepted', 'main', '2026-06-01T10:01:40Z')];
    expect(assigned([unknown, accepted], builds)).toEqual({ 2: 'b-accepted' });
  });

  it("gives an unknown-outcome claimant the build nearest its own attempt, not a younger create's", () => {
    // #1 failed (503, nothing built); #2 was killed before its 202 was recorded; #3 was accepted.
    const failed: Claimant = {
      ...claimant(1, 'heads/main', '2026-06-01T10:06:04Z'),
      confirmed: false,
    };
    const killed: Claimant = {
      ...claimant(2, 'heads/main', '2026-06-01T10:06:06.2Z'),
      confirmed: false,
    };
    const accepted: Claimant = {
      ...claimant(3, 'heads/main', '2026-06-01T10:06:10Z'),
      confirmed: true,
    };
    const builds = [
      build('b-accepted', 'main', '2026-06-01T10:06:10.2Z'),
      build('b-killed', 'main', '2026-06-01T10:06:06.4Z'),
    ];
    expect(assigned([failed, killed, accepted], builds)).toEqual({
      2: 'b-killed',
      3: 'b-accepted',
    });
  });

  it('never hands a claimant a build queued a minute or more after its last attempt', () => {
    const unknown: Claimant = {
      ...claimant(1, 'heads/main', '2026-06-01T10:01:00Z'),
      lastAttemptAt: at('2026-06-01T10:01:00Z'),
    };
    expect(assigned([unknown], [build('b-next', 'main', '2026-06-01T10:02:00Z')])).toEqual({});
    expect(assigned([unknown], [build('b-own', 'main', '2026-06-01T10:01:59.999Z')])).toEqual({
      1: 'b-own',
    });
    // A re-sent slot's window follows its second attempt.
    const resent = { ...unknown, lastAttemptAt: at('2026-06-01T10:03:00Z') };
    expect(assigned([resent], [build('b-second', 'main', '2026-06-01T10:03:01Z')])).toEqual({
      1: 'b-second',
    });
  });

  // Newest first, as the API lists them.
  const twoOnMain = [
    build('y', 'main', '2026-06-16T10:00:03Z'),
    build('x', 'main', '2026-06-16T10:00:02Z'),
  ];

  it('maps two triggers of one branch to its two builds in order', () => {
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:00:00Z'),
      claimant(2, 'heads/main', '2026-06-16T10:00:01Z'),
    ];
    expect(assigned(claimants, twoOnMain)).toEqual({ 1: 'x', 2: 'y' });
  });

  it('serves claimants by intent, not by the order they are given in', () => {
    const claimants = [
      claimant(2, 'heads/main', '2026-06-16T10:00:01Z'),
      claimant(1, 'heads/main', '2026-06-16T10:00:00Z'),
    ];
    expect(assigned(claimants, twoOnMain)).toEqual({ 1: 'x', 2: 'y' });
  });

  it('breaks an intent tie by claimant id', () => {
    const claimants = [
      claimant(9, 'heads/main', '2026-06-16T10:00:00Z'),
      claimant(4, 'heads/main', '2026-06-16T10:00:00Z'),
    ];
    expect(assigned(claimants, twoOnMain)).toEqual({ 4: 'x', 9: 'y' });
  });

  it('ignores builds on other refs', () => {
    const builds = [
      build('d', 'dev', '2026-06-16T10:00:02Z'),
      build('m', 'main', '2026-06-16T10:00:03Z'),
    ];
    expect(assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], builds)).toEqual({
      1: 'm',
    });
    expect(assigned([claimant(1, 'heads/release', '2026-06-16T10:00:00Z')], builds)).toEqual({});
  });

  it('matches a claimant written as a bare branch name', () => {
    expect(assigned([claimant(1, 'main', '2026-06-16T10:00:00Z')], twoOnMain)).toEqual({ 1: 'x' });
  });

  it('ignores builds already claimed by another slot', () => {
    expect(assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], twoOnMain, ['x'])).toEqual(
      { 1: 'y' },
    );
  });

  it('hands a build to one claimant only', () => {
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:00:00Z'),
      claimant(2, 'heads/main', '2026-06-16T10:00:01Z'),
    ];
    expect(assigned(claimants, [build('x', 'main', '2026-06-16T10:00:02Z')])).toEqual({ 1: 'x' });
  });

  it('ignores a build queued before the intent minus the skew', () => {
    const early = [build('old', 'main', '2026-06-16T09:59:29.999Z')];
    expect(assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], early)).toEqual({});
  });

  it('claims a build queued exactly at the intent minus the skew', () => {
    expect(DISCOVERY_SKEW_MS).toBe(30 * SECOND);
    const edge = [build('edge', 'main', '2026-06-16T09:59:30.000Z')];
    expect(assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], edge)).toEqual({
      1: 'edge',
    });
  });

  it('ignores a build without a queued time', () => {
    expect(
      assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], [build('n', 'main', null)]),
    ).toEqual({});
  });
});

describe('walkHorizon', () => {
  it('stops at the earliest intent minus the skew or the earliest followed build', () => {
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:05:00Z'),
      claimant(2, 'heads/dev', '2026-06-16T10:01:00Z'),
    ];
    expect(walkHorizon(claimants, [])).toEqual(at('2026-06-16T10:00:30Z'));
    expect(walkHorizon(claimants, [at('2026-06-16T09:40:00Z')])).toEqual(
      at('2026-06-16T09:40:00Z'),
    );
    expect(walkHorizon([], [at('2026-06-16T09:40:00Z'), at('2026-06-16T09:30:00Z')])).toEqual(
      at('2026-06-16T09:30:00Z'),
    );
  });

  it('is null when there is nothing to look for', () => {
    expect(walkHorizon([], [])).toBeNull();
  });
});

describe('decidePending', () => {
  const policy = { discoveryWindowMs: 2 * MINUTE, acceptedGiveUpMs: 10 * MINUTE };
  const intentAt = '2026-06-16T10:00:00Z';
  const unknown = (fields: Partial<PendingSlot> = {}): PendingSlot => ({
    ...claimant(7, 'heads/main', intentAt),
    state: 'pending',
    attempts: 1,
    outcomeUnknown: true,
    ...fields,
  });
  const accepted = (fields: Partial<PendingSlot> = {}): PendingSlot =>
    unknown({ state: 'triggered', outcomeUnknown: false, ...fields });
  const decide = (slot: PendingSlot, now: string, builds: RemoteBuild[] = []) =>
    decidePending([slot], builds, new Set(), at(now), policy);

  it.each<[string, PendingSlot, string, object]>([
    [
      'an unknown outcome waits inside the discovery window',
      unknown(),
      '2026-06-16T10:01:59.999Z',
      { kind: 'wait', id: 7 },
    ],
    [
      'an unknown outcome is re-sent once the window has passed',
      unknown(),
      '2026-06-16T10:02:00Z',
      { kind: 'resend', id: 7 },
    ],
    [
      'a second attempt waits a full window from its own send',
      unknown({ attempts: 2, lastAttemptAt: at('2026-06-16T10:02:05Z') }),
      '2026-06-16T10:04:00Z',
      { kind: 'wait', id: 7 },
    ],
    [
      'a second attempt with nothing after the window fails, never a third send',
      unknown({ attempts: 2, lastAttemptAt: at('2026-06-16T10:02:05Z') }),
      '2026-06-16T10:04:05Z',
      {
        kind: 'fail',
        id: 7,
        reason:
          'create outcome unknown and no build appeared within 2m of attempt 2; both attempts are recorded, not sending again',
      },
    ],
    [
      'an accepted trigger is never re-sent',
      accepted(),
      '2026-06-16T10:09:59.999Z',
      { kind: 'wait', id: 7 },
    ],
    [
      'an accepted trigger gives up when no build appeared',
      accepted(),
      '2026-06-16T10:10:00Z',
      { kind: 'fail', id: 7, reason: 'accepted (202) but no build appeared within 10m' },
    ],
    [
      'a create still in flight waits, even past the window',
      unknown({ outcomeUnknown: false }),
      '2026-06-16T10:30:00Z',
      { kind: 'wait', id: 7 },
    ],
  ])('%s', (_title, slot, now, decision) => {
    expect(decide(slot, now)).toEqual([decision]);
  });

  it('claims the build of an accepted trigger', () => {
    const found = build('b-1', 'main', '2026-06-16T10:00:04Z');
    expect(decide(accepted(), '2026-06-16T10:00:10Z', [found])).toEqual([
      { kind: 'claim', id: 7, build: found },
    ]);
  });

  it('claims a late build for a re-sent slot like any other', () => {
    const late = build('b-2', 'main', '2026-06-16T10:02:07Z');
    const slot = unknown({ attempts: 2, lastAttemptAt: at('2026-06-16T10:02:05Z') });
    expect(decide(slot, '2026-06-16T10:05:00Z', [late])).toEqual([
      { kind: 'claim', id: 7, build: late },
    ]);
  });

  it('does not claim a build that another slot owns, and decides in input order', () => {
    const owned = build('b-3', 'main', '2026-06-16T10:00:04Z');
    const decisions = decidePending(
      [unknown({ id: 8 }), accepted({ id: 3 })],
      [owned],
      new Set(['b-3']),
      at('2026-06-16T10:02:00Z'),
      policy,
    );
    expect(decisions).toEqual([
      { kind: 'resend', id: 8 },
      { kind: 'wait', id: 3 },
    ]);
  });
});

describe('decideFollowUps', () => {
  const finishedAt = at('2026-06-16T10:10:00Z');
  const builds = [
    build('done', 'main', '2026-06-16T10:00:00Z', { status: 'success', finishedAt }),
    build('busy', 'main', '2026-06-16T10:00:00Z', { status: 'testing' }),
    build('odd', 'main', '2026-06-16T10:00:00Z', { status: 'archived', finishedAt }),
  ];

  it.each<[string, { id: number; buildUuid: string; buildStatus: string }, object[]]>([
    [
      'reports a build that finished',
      { id: 1, buildUuid: 'done', buildStatus: 'testing' },
      [{ id: 1, status: 'success', finishedAt, final: true }],
    ],
    [
      'reports a status change that is not final',
      { id: 2, buildUuid: 'busy', buildStatus: 'waiting' },
      [{ id: 2, status: 'testing', finishedAt: null, final: false }],
    ],
    [
      'reports nothing for an unchanged build',
      { id: 3, buildUuid: 'busy', buildStatus: 'testing' },
      [],
    ],
    [
      'treats an unknown status with a finish time as final',
      { id: 4, buildUuid: 'odd', buildStatus: 'testing' },
      [{ id: 4, status: 'archived', finishedAt, final: true }],
    ],
    [
      'reports nothing for a build the walk did not reach',
      { id: 5, buildUuid: 'gone', buildStatus: 'testing' },
      [],
    ],
  ])('%s', (_title, followed, changes) => {
    expect(decideFollowUps([followed], builds)).toEqual(changes);
  });
});

describe('nextReconcileDelayMs', () => {
  const now = at('2026-06-16T10:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it.each<[string, Parameters<typeof nextReconcileDelayMs>[0], number | null]>([
    [
      'is idle when nothing is pending',
      { now, youngestIntentAt: null, oldestPendingAt: null, pendingCount: 0 },
      null,
    ],
    [
      'looks again 5 s after a trigger',
      { now, youngestIntentAt: ago(2 * SECOND), oldestPendingAt: ago(2 * SECOND), pendingCount: 1 },
      5 * SECOND,
    ],
    [
      'waits a sixth of the youngest age',
      { now, youngestIntentAt: ago(3 * MINUTE), oldestPendingAt: null, pendingCount: 1 },
      30 * SECOND,
    ],
    [
      'waits at least 15 s once the trigger is 5 s old',
      { now, youngestIntentAt: ago(5 * SECOND), oldestPendingAt: null, pendingCount: 1 },
      15 * SECOND,
    ],
    [
      'waits at most 5 min for old builds',
      { now, youngestIntentAt: ago(60 * MINUTE), oldestPendingAt: null, pendingCount: 1 },
      5 * MINUTE,
    ],
    [
      'looks every minute while a slot has no build yet',
      {
        now,
        youngestIntentAt: ago(60 * MINUTE),
        oldestPendingAt: ago(60 * MINUTE),
        pendingCount: 1,
      },
      MINUTE,
    ],
    [
      'spends at most a page per 5 s when many builds are followed',
      { now, youngestIntentAt: ago(SECOND), oldestPendingAt: ago(SECOND), pendingCount: 600 },
      60 * SECOND,
    ],
    [
      'waits 5 min when it has pending work but no times',
      { now, youngestIntentAt: null, oldestPendingAt: null, pendingCount: 3 },
      5 * MINUTE,
    ],
  ])('%s', (_title, input, delayMs) => {
    expect(nextReconcileDelayMs(input)).toBe(delayMs);
  });

  it('looks at a lone 10-minute build 19 times, so a batch of 13 or more stays under 1.5 calls per build', () => {
    const triggeredMs = now.getTime();
    const finishedMs = triggeredMs + 10 * MINUTE;
    let passes = 0;
    let clockMs = triggeredMs;
    for (;;) {
      const delayMs = nextReconcileDelayMs({
        now: new Date(clockMs),
        youngestIntentAt: new Date(triggeredMs),
        oldestPendingAt: passes === 0 ? new Date(triggeredMs) : null,
        pendingCount: 1,
      });
      clockMs += delayMs!;
      passes += 1;
      if (clockMs >= finishedMs) break;
    }
    console.log(
      `a 10-minute build is seen finished ${(clockMs - finishedMs) / SECOND} s late after ${passes} passes`,
    );
    expect(passes).toBe(19);
    expect(passes / 13).toBeLessThan(1.5);
  });
});
