import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignBuilds,
  CLAIM_MARGIN_MS,
  type Claimant,
  claimLabel,
  decideFollowUps,
  decidePending,
  type MatchPolicy,
  nextReconcileDelayMs,
  type PendingSlot,
  type SendWindow,
  walkHorizon,
} from '../../src/core/discovery.ts';
import type { RemoteBuild } from '../../src/core/model.ts';
import { type ClockEstimate, ServerClock } from '../../src/core/server-clock.ts';
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

/** A create sent at `sentAt`, answered `latencyMs` later, with the server's offset known exactly. */
function send(
  sentAt: string,
  { latencyMs = 20, estimate = { loMs: 0, hiMs: 0 } as ClockEstimate | null } = {},
): SendWindow {
  const sent = at(sentAt);
  return { sentAt: sent, answeredAt: new Date(sent.getTime() + latencyMs), estimate };
}

const claimant = (id: number, ref: string, sentAt: string, confirmed = true): Claimant => ({
  id,
  ref,
  sends: [send(sentAt)],
  confirmed,
});

const policy: MatchPolicy = { requestTimeoutMs: 30 * SECOND, ownUsernames: [] };

/** `claimant id -> build uuid (claim)`, for readable expectations. */
function assigned(
  claimants: Claimant[],
  builds: RemoteBuild[],
  claimed: string[] = [],
  match: MatchPolicy = policy,
): Record<number, string> {
  const result = assignBuilds(claimants, builds, new Set(claimed), match);
  return Object.fromEntries(
    [...result].map(([id, a]) => [id, `${a.build.uuid} (${claimLabel(a.candidates)})`]),
  );
}

/**
 * The server clock estimate a daemon would hold after `answers` calls of `latencyMs` each at
 * spread sub-second phases, with the server `offsetMs` ahead (core/server-clock.ts).
 */
function learnedEstimate(offsetMs: number, latencyMs: number, answers = 40): ClockEstimate {
  const clock = new ServerClock();
  const startMs = at('2026-06-16T09:00:00Z').getTime();
  for (let i = 0; i < answers; i += 1) {
    const sentMs = startMs + i * 10_037;
    const servedMs = sentMs + latencyMs / 2 + offsetMs;
    clock.observe(sentMs, sentMs + latencyMs, Math.floor(servedMs / 1000) * 1000);
  }
  return clock.estimate(startMs + answers * 10_037) as ClockEstimate;
}

describe('assignBuilds: pushes by others around a create', () => {
  // Our create leaves at T; the server makes our build halfway through the request, in its own
  // clock (ours + offset); someone else's push lands `pushMs` from our build.
  const T = '2026-06-16T10:00:00Z';
  const offsets = [-2 * MINUTE, -47 * SECOND, -1500, 0, 800, 47 * SECOND, 2 * MINUTE];
  const latencies = [5, 80, 400, 2500];
  // Pushes before the request left or after its answer came back, by this much (server time).
  const pushes = [-60_000, -5000, -2000, -1000, +1000, +2000, +5000, +60_000];
  const cases = offsets.flatMap((offsetMs) =>
    latencies.flatMap((latencyMs) => pushes.map((pushMs) => ({ offsetMs, latencyMs, pushMs }))),
  );

  it.each(cases)(
    'offset $offsetMs ms, latency $latencyMs ms, push $pushMs ms outside the request: ours',
    ({ offsetMs, latencyMs, pushMs }) => {
      const estimate = learnedEstimate(offsetMs, latencyMs);
      const sentMs = at(T).getTime();
      const ownMs = sentMs + latencyMs / 2 + offsetMs;
      const pushAtMs =
        pushMs < 0 ? sentMs + offsetMs + pushMs : sentMs + latencyMs + offsetMs + pushMs;
      const builds = [
        build('push', 'main', new Date(pushAtMs).toISOString()),
        build('ours', 'main', new Date(ownMs).toISOString()),
      ];
      const slot: Claimant = {
        id: 1,
        ref: 'heads/main',
        sends: [send(T, { latencyMs, estimate })],
      };
      // A slow request is known less well: a push within its duration of it is a second
      // candidate, and the nearest (ours) is taken; otherwise the claim is exact.
      const label = Math.abs(pushMs) > latencyMs / 2 + CLAIM_MARGIN_MS ? 'exact' : 'nearest of 2';
      expect(assigned([slot], builds)).toEqual({ 1: `ours (${label})` });
    },
  );

  it('shows a push inside the request itself as ambiguous, and takes the nearest', () => {
    const slot = claimant(1, 'heads/main', T);
    const builds = [
      build('ours', 'main', '2026-06-16T10:00:00.010Z'),
      build('push', 'main', '2026-06-16T10:00:00.019Z'),
    ];
    expect(assigned([slot], builds)).toEqual({ 1: 'ours (nearest of 2)' });
  });

  it("takes the API user's build, never another user's, when the list shows the API user's name", () => {
    const slot = claimant(1, 'heads/main', T);
    const builds = [
      build('push', 'main', '2026-06-16T10:00:00.001Z', { username: 'someone-else' }),
      build('ours', 'main', '2026-06-16T10:00:00.015Z', { username: 'Demo' }),
    ];
    const match = { ...policy, ownUsernames: ['demo@example.com', 'demo'] };
    // Our build in the window shows our name: the push is no candidate.
    expect(assigned([slot], builds, [], match)).toEqual({ 1: 'ours (exact)' });
    // Once our builds showed our name, a lone push in the window of a create that built nothing
    // is not taken either; until then (a build by `demo` in the history proves nothing), names
    // say nothing and time decides.
    const lonePush = [
      builds[0]!,
      build('earlier', 'main', '2026-06-16T09:00:00Z', { username: 'demo' }),
    ];
    expect(assigned([slot], lonePush, [], { ...match, ownNameSeen: true })).toEqual({});
    expect(assigned([slot], lonePush, [], match)).toEqual({ 1: 'push (exact)' });
    expect(assigned([slot], [builds[0]!], [], match)).toEqual({ 1: 'push (exact)' });
  });

  it('never claims a build queued outside the window, even with nothing else there', () => {
    const slot = claimant(1, 'heads/main', T);
    // Window: [T - 50 ms, T + 20 ms + 50 ms] with the offset known exactly.
    expect(assigned([slot], [build('before', 'main', '2026-06-16T09:59:59.949Z')])).toEqual({});
    expect(assigned([slot], [build('after', 'main', '2026-06-16T10:00:00.071Z')])).toEqual({});
    expect(assigned([slot], [build('edge', 'main', '2026-06-16T09:59:59.950Z')])).toEqual({
      1: 'edge (exact)',
    });
  });

  it("widens the window by the estimate's uncertainty", () => {
    const wide = send(T, { estimate: { loMs: 46_000, hiMs: 48_000 } });
    const slot: Claimant = { id: 1, ref: 'heads/main', sends: [wide] };
    expect(assigned([slot], [build('b', 'main', '2026-06-16T10:00:48.050Z')])).toEqual({
      1: 'b (exact)',
    });
    expect(assigned([slot], [build('b', 'main', '2026-06-16T10:00:45.400Z')])).toEqual({});
  });

  it('widens an attempt whose end was never recorded (a crash) to its timeout', () => {
    const crashed: Claimant = {
      id: 1,
      ref: 'heads/main',
      sends: [{ ...send(T), answeredAt: null }],
      confirmed: false,
    };
    expect(assigned([crashed], [build('late', 'main', '2026-06-16T10:00:29Z')])).toEqual({
      1: 'late (exact)',
    });
    expect(assigned([crashed], [build('later', 'main', '2026-06-16T10:00:31Z')])).toEqual({});
  });

  it('falls back to the old fixed window for attempts recorded without an estimate', () => {
    const legacy: Claimant = {
      id: 1,
      ref: 'heads/main',
      sends: [send(T, { estimate: null })],
    };
    expect(assigned([legacy], [build('b', 'main', '2026-06-16T09:59:31Z')])).toEqual({
      1: 'b (exact)',
    });
  });
});

describe('assignBuilds: several slots', () => {
  it("gives an unknown-outcome claimant the build nearest its own attempt, not a younger create's", () => {
    // #1 failed (503, nothing built); #2 was killed before its 202 was recorded; #3 was accepted.
    const failed: Claimant = {
      id: 1,
      ref: 'heads/main',
      sends: [{ ...send('2026-06-01T10:06:04Z'), answeredAt: null }],
      confirmed: false,
    };
    const killed: Claimant = {
      id: 2,
      ref: 'heads/main',
      sends: [{ ...send('2026-06-01T10:06:06.2Z'), answeredAt: null }],
      confirmed: false,
    };
    const accepted = claimant(3, 'heads/main', '2026-06-01T10:06:10.19Z');
    const builds = [
      build('b-accepted', 'main', '2026-06-01T10:06:10.2Z'),
      build('b-killed', 'main', '2026-06-01T10:06:06.21Z'),
    ];
    expect(assigned([failed, killed, accepted], builds)).toEqual({
      2: 'b-killed (nearest of 2)',
      3: 'b-accepted (exact)',
    });
  });

  it('gives every accepted create a build when greedy best-first pairs would strand one', () => {
    // Found by test/crash-chains.test.ts: three creates of one branch within 200 ms after a
    // restart, the server 47 s ahead, known to 85 ms. Best pair first gave #26 the build nearest
    // its anchor, then #25 the oldest build (the one only #20's window holds), and #20 nothing.
    const estimate = { loMs: 46_937, hiMs: 47_022 };
    const accepted = (id: number, sentAt: string, latencyMs: number): Claimant => ({
      id,
      ref: 'heads/develop',
      sends: [send(sentAt, { latencyMs, estimate })],
      confirmed: true,
    });
    const claimants = [
      accepted(20, '2026-11-30T14:55:02.985Z', 118),
      accepted(25, '2026-11-30T14:55:03.125Z', 54),
      accepted(26, '2026-11-30T14:55:03.165Z', 25),
    ];
    const builds = [
      build('b20', 'develop', '2026-11-30T14:55:50.084Z'),
      build('b25', 'develop', '2026-11-30T14:55:50.158Z'),
      build('b26', 'develop', '2026-11-30T14:55:50.189Z'),
    ];
    expect(assigned(claimants, builds)).toEqual({
      20: 'b20 (nearest of 2)',
      25: 'b25 (nearest of 3)',
      26: 'b26 (nearest of 3)',
    });
  });

  it('follows each attempt of a re-sent slot', () => {
    const resent: Claimant = {
      id: 1,
      ref: 'heads/main',
      sends: [send('2026-06-01T10:01:00Z'), send('2026-06-01T10:03:00Z')],
      confirmed: false,
    };
    expect(assigned([resent], [build('second', 'main', '2026-06-01T10:03:00.010Z')])).toEqual({
      1: 'second (exact)',
    });
  });

  it('maps two concurrent triggers of one branch to their two builds', () => {
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:00:00Z'),
      claimant(2, 'heads/main', '2026-06-16T10:00:00.005Z'),
    ];
    const builds = [
      build('y', 'main', '2026-06-16T10:00:00.015Z'),
      build('x', 'main', '2026-06-16T10:00:00.010Z'),
    ];
    const result = assigned(claimants, builds);
    expect(new Set(Object.values(result).map((v) => v.split(' ')[0]))).toEqual(new Set(['x', 'y']));
  });

  it('ignores builds on other refs, and matches a bare branch name', () => {
    const builds = [
      build('d', 'dev', '2026-06-16T10:00:00.010Z'),
      build('m', 'main', '2026-06-16T10:00:00.010Z'),
    ];
    expect(assigned([claimant(1, 'main', '2026-06-16T10:00:00Z')], builds)).toEqual({
      1: 'm (exact)',
    });
    expect(assigned([claimant(1, 'heads/release', '2026-06-16T10:00:00Z')], builds)).toEqual({});
  });

  it('never hands out a build already in the ledger, or one build twice', () => {
    const one = [build('x', 'main', '2026-06-16T10:00:00.010Z')];
    expect(assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], one, ['x'])).toEqual({});
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:00:00Z'),
      claimant(2, 'heads/main', '2026-06-16T10:00:00.001Z'),
    ];
    expect(Object.keys(assigned(claimants, one))).toHaveLength(1);
  });

  it('ignores a build without a queued time', () => {
    expect(
      assigned([claimant(1, 'heads/main', '2026-06-16T10:00:00Z')], [build('n', 'main', null)]),
    ).toEqual({});
  });
});

describe('assignBuilds: random interleavings (property)', () => {
  it('claims every own build for its own create and never a push outside a request', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -120_000, max: 120_000 }),
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 3000, max: 60_000 }),
            latencyMs: fc.integer({ min: 1, max: 1500 }),
            servedAt: fc.double({ min: 0, max: 1, noNaN: true }),
            pushMs: fc.option(fc.integer({ min: -5000, max: 5000 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (offsetMs, creates) => {
          const clock = new ServerClock();
          let localMs = at('2026-06-16T10:00:00Z').getTime();
          const claimants: Claimant[] = [];
          const builds: RemoteBuild[] = [];
          creates.forEach((c, i) => {
            localMs += c.gapMs;
            const sentMs = localMs;
            const answeredMs = sentMs + c.latencyMs;
            const servedMs = sentMs + c.latencyMs * c.servedAt + offsetMs;
            clock.observe(sentMs, answeredMs, Math.floor(servedMs / 1000) * 1000);
            const estimate = clock.estimate(answeredMs);
            claimants.push({
              id: i,
              ref: 'heads/main',
              sends: [{ sentAt: new Date(sentMs), answeredAt: new Date(answeredMs), estimate }],
            });
            builds.push(build(`own-${i}`, 'main', new Date(servedMs).toISOString()));
            if (c.pushMs !== undefined) {
              builds.push(
                build(`push-${i}`, 'main', new Date(servedMs + c.pushMs).toISOString(), {
                  username: 'someone-else',
                }),
              );
            }
          });
          const result = assignBuilds(claimants, builds, new Set(), {
            requestTimeoutMs: 30_000,
            ownUsernames: ['bot'],
          });
          for (const [id, { build: claimed }] of result) {
            expect(claimed.uuid).toBe(`own-${id}`);
          }
          expect(result.size).toBe(creates.length);
          // Without the username hint, a push is claimed only from inside its claimant's window.
          const blind = assignBuilds(claimants, builds, new Set(), { requestTimeoutMs: 30_000 });
          for (const [id, { build: claimed }] of blind) {
            const queuedMs = claimed.queuedAt!.getTime();
            const { sentAt, answeredAt, estimate } = claimants[id]!.sends[0]!;
            expect(queuedMs).toBeGreaterThanOrEqual(
              sentAt.getTime() + estimate!.loMs - CLAIM_MARGIN_MS,
            );
            expect(queuedMs).toBeLessThanOrEqual(
              answeredAt!.getTime() + estimate!.hiMs + CLAIM_MARGIN_MS,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('walkHorizon', () => {
  it("stops at the earliest window's start or the earliest followed build", () => {
    const claimants = [
      claimant(1, 'heads/main', '2026-06-16T10:05:00Z'),
      claimant(2, 'heads/dev', '2026-06-16T10:01:00Z'),
    ];
    expect(walkHorizon(claimants, [], 30_000)).toEqual(at('2026-06-16T10:00:59.950Z'));
    expect(walkHorizon(claimants, [at('2026-06-16T09:40:00Z')], 30_000)).toEqual(
      at('2026-06-16T09:40:00Z'),
    );
    expect(
      walkHorizon([], [at('2026-06-16T09:40:00Z'), at('2026-06-16T09:30:00Z')], 30_000),
    ).toEqual(at('2026-06-16T09:30:00Z'));
  });

  it('is null when there is nothing to look for', () => {
    expect(walkHorizon([], [], 30_000)).toBeNull();
  });
});

describe('decidePending', () => {
  const pendingPolicy = { ...policy, discoveryWindowMs: 2 * MINUTE, acceptedGiveUpMs: 10 * MINUTE };
  const intentAt = '2026-06-16T10:00:00Z';
  const unknown = (fields: Partial<PendingSlot> = {}): PendingSlot => ({
    ...claimant(7, 'heads/main', intentAt),
    intentAt: at(intentAt),
    state: 'pending',
    attempts: 1,
    outcomeUnknown: true,
    ...fields,
  });
  const accepted = (fields: Partial<PendingSlot> = {}): PendingSlot =>
    unknown({ state: 'triggered', outcomeUnknown: false, ...fields });
  const decide = (slot: PendingSlot, now: string, builds: RemoteBuild[] = []) =>
    decidePending([slot], builds, new Set(), at(now), pendingPolicy);

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
    const found = build('b-1', 'main', '2026-06-16T10:00:00.012Z');
    expect(decide(accepted(), '2026-06-16T10:00:10Z', [found])).toEqual([
      { kind: 'claim', id: 7, build: found, claim: 'exact' },
    ]);
  });

  it('claims a late build for a re-sent slot like any other', () => {
    const late = build('b-2', 'main', '2026-06-16T10:02:05.010Z');
    const slot = unknown({
      attempts: 2,
      lastAttemptAt: at('2026-06-16T10:02:05Z'),
      sends: [send(intentAt), send('2026-06-16T10:02:05Z')],
    });
    expect(decide(slot, '2026-06-16T10:05:00Z', [late])).toEqual([
      { kind: 'claim', id: 7, build: late, claim: 'exact' },
    ]);
  });

  it('does not claim a build that another slot owns, and decides in input order', () => {
    const owned = build('b-3', 'main', '2026-06-16T10:00:00.010Z');
    const decisions = decidePending(
      [unknown({ id: 8 }), accepted({ id: 3 })],
      [owned],
      new Set(['b-3']),
      at('2026-06-16T10:02:00Z'),
      pendingPolicy,
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

describe('ServerClock: a jump of our own clock', () => {
  /**
   * Answers of a 10 ms request every ~1 s with the server `offsetMs` ahead; `epochMs` is our wall
   * clock minus a monotonic one, which moves by exactly the size of a jump of our clock.
   */
  function answer(clock: ServerClock, sentMs: number, offsetMs: number, epochMs?: number) {
    const servedMs = sentMs + 5 + offsetMs;
    const epochs = epochMs === undefined ? {} : { sentEpochMs: epochMs, answeredEpochMs: epochMs };
    clock.observe(sentMs, sentMs + 10, Math.floor(servedMs / 1000) * 1000, epochs);
  }
  const contains = (e: ClockEstimate | null, offsetMs: number) =>
    e !== null && e.loMs <= offsetMs && offsetMs <= e.hiMs;

  it('starts over when our clock steps by less than a bound is wide, so the estimate keeps the true offset', () => {
    const startMs = at('2026-06-16T09:00:00Z').getTime();
    const run = (withEpochs: boolean) => {
      const clock = new ServerClock();
      for (let i = 0; i < 40; i += 1)
        answer(clock, startMs + i * 1037, 47_010, withEpochs ? 0 : undefined);
      // Our clock steps 500 ms forward (an NTP step): the server is now 46 510 ms ahead of it.
      const afterMs = startMs + 40 * 1037 + 1500;
      const seen: boolean[] = [];
      for (let i = 0; i < 6; i += 1) {
        const sentMs = afterMs + i * 1013;
        answer(clock, sentMs, 46_510, withEpochs ? 500 : undefined);
        seen.push(contains(clock.estimate(sentMs + 10), 46_510));
      }
      return seen;
    };
    // Without the monotonic reference the first answers after the step overlap the old
    // intersection and narrow it to offsets that hold neither the old nor the new one.
    expect(run(false).slice(0, 3)).toEqual([false, false, false]);
    expect(run(true)).toEqual([true, true, true, true, true, true]);
  });

  it('counts the send of a request that straddled the jump in the clock that read its answer', () => {
    const clock = new ServerClock();
    const sentMs = at('2026-06-16T09:00:00.200Z').getTime();
    // Sent before a 700 ms backward step, answered 50 ms later by a clock 700 ms behind.
    const answeredMs = sentMs + 50 - 700;
    const servedMs = sentMs + 20 + 47_000;
    clock.observe(sentMs, answeredMs, Math.floor(servedMs / 1000) * 1000, {
      sentEpochMs: 0,
      answeredEpochMs: -700,
    });
    expect(contains(clock.estimate(answeredMs), 47_700)).toBe(true);
  });

  it('ignores the slow slew of a disciplined clock', () => {
    const clock = new ServerClock();
    const startMs = at('2026-06-16T09:00:00Z').getTime();
    for (let i = 0; i < 40; i += 1) answer(clock, startMs + i * 1037, 47_010, i * 0.3);
    const estimate = clock.estimate(startMs + 40 * 1037);
    expect(estimate !== null && estimate.hiMs - estimate.loMs).toBeLessThan(50);
  });
});
