/**
 * The ledger port's contract (ports.ts `LedgerStore`), every method, with identical expectations
 * on both stores: SQLite in a temp file and PostgreSQL on a real throwaway server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildSeen, NewSlot } from '../../src/core/model.ts';
import type { LedgerStore } from '../../src/ports.ts';
import {
  freshLocation,
  openStore,
  STORES,
  type StoreKind,
  type StoreLocation,
  usePostgres,
} from '../helpers/stores.ts';

usePostgres();

const at = (text: string) => new Date(text);
const now = at('2026-06-01T10:00:00.000Z');

function slot(fields: Partial<Omit<NewSlot, 'slotAt'>> & { slotAt: string }): NewSlot {
  const slotAt = at(fields.slotAt);
  return {
    schedule: 'nightly',
    branch: 'main',
    project: 'acme/api',
    state: 'pending',
    ...fields,
    slotAt,
    fireAt: fields.fireAt ?? slotAt,
  };
}

const build = (uuid: string, fields: Partial<BuildSeen> = {}): BuildSeen => ({
  uuid,
  status: 'testing',
  queuedAt: at('2026-06-01T10:00:01.000Z'),
  finishedAt: null,
  final: false,
  commitSha: 'abc123',
  ...fields,
});

describe.each(STORES)('the %s ledger store', (kind: StoreKind) => {
  let location: StoreLocation;
  let ledger: LedgerStore;
  const others: LedgerStore[] = [];

  beforeEach(async () => {
    location = await freshLocation(kind);
    ledger = await openStore(location);
  });
  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
    await ledger.close();
    location.cleanup();
  });

  it('records slots and marks in one go, returning only the rows it inserted', async () => {
    expect(await ledger.marks()).toEqual(new Map());
    const first = await ledger.recordSlots(
      [slot({ slotAt: '2026-06-01T09:00:00.000Z' }), slot({ slotAt: '2026-06-01T10:00:00.000Z' })],
      new Map([['nightly', at('2026-06-01T10:00:00.000Z')]]),
      now,
    );
    expect(first.map((s) => s.slotAt.toISOString())).toEqual([
      '2026-06-01T09:00:00.000Z',
      '2026-06-01T10:00:00.000Z',
    ]);
    // Each returned record is the row as the store reads it back.
    for (const record of first) expect(await ledger.get(record.id)).toEqual(record);
    expect(await ledger.marks()).toEqual(new Map([['nightly', at('2026-06-01T10:00:00.000Z')]]));
    // The mark does not move: nothing of that schedule is recorded.
    expect(
      await ledger.recordSlots(
        [slot({ slotAt: '2026-06-01T08:00:00.000Z' })],
        new Map([['nightly', at('2026-06-01T10:00:00.000Z')]]),
        now,
      ),
    ).toEqual([]);
    // Without marks (manual slots), a slot already there is left alone, a new one inserted.
    const again = await ledger.recordSlots(
      [
        slot({ slotAt: '2026-06-01T09:00:00.000Z' }),
        slot({ slotAt: '2026-06-01T09:30:00.000Z', manual: true, state: 'skipped', reason: 'x' }),
      ],
      new Map(),
      now,
    );
    expect(again.map((s) => [s.slotAt.toISOString(), s.manual, s.state, s.nextAttemptAt])).toEqual([
      ['2026-06-01T09:30:00.000Z', true, 'skipped', null],
    ]);
    expect(await ledger.get(999_999)).toBeNull();
    expect(await ledger.scheduleNames()).toEqual(['nightly']);
  });

  it('records a 10,000-slot burst and reads it back', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      slot({ schedule: `s${String(i).padStart(5, '0')}`, slotAt: '2026-06-01T10:00:00.000Z' }),
    );
    const marks = new Map(rows.map((r) => [r.schedule, r.slotAt]));
    const recorded = await ledger.recordSlots(rows, marks, now);
    expect(recorded).toHaveLength(10_000);
    expect(new Set(recorded.map((r) => r.id)).size).toBe(10_000);
    expect(await ledger.get(recorded[9_999]!.id)).toEqual(recorded[9_999]);
    expect(await ledger.sendBacklog()).toBe(10_000);
    expect(await ledger.recordSlots(rows, marks, now)).toEqual([]);
  });

  it('claims each attempt once, records it, and moves the slot by its result', async () => {
    const [a, b, c, d] = await ledger.recordSlots(
      ['09:00', '09:01', '09:02', '09:03'].map((t) => slot({ slotAt: `2026-06-01T${t}:00.000Z` })),
      new Map(),
      now,
    );
    const estimate = { loMs: -5, hiMs: 7 };
    const attempt = await ledger.beginAttempt(a!.id, 'p-uuid', 0, now, estimate);
    expect(attempt).toEqual(expect.any(Number));
    // The same attempt number again: someone else got there first.
    expect(await ledger.beginAttempt(a!.id, 'p-uuid', 0, now)).toBeNull();
    expect(await ledger.beginAttempt(a!.id, 'p-uuid', 5, now)).toBeNull();
    const sending = await ledger.get(a!.id);
    expect(sending).toMatchObject({
      attempts: 1,
      outcomeUnknown: true,
      projectUuid: 'p-uuid',
      intentAt: now,
      lastAttemptAt: now,
    });
    // In flight, the slot is open (for discovery) and not due for a send.
    expect((await ledger.openSlots()).map((s) => s.id)).toEqual([a!.id]);
    expect((await ledger.dueSends(now)).map((s) => s.id)).toEqual([b!.id, c!.id, d!.id]);
    const later = at('2026-06-01T10:00:05.000Z');
    await ledger.touchAttempt(a!.id, attempt!, later);
    expect(await ledger.get(a!.id)).toMatchObject({ intentAt: later, lastAttemptAt: later });
    await ledger.finishAttempt(attempt!, a!.id, 'accepted', { now: later, estimate: null });
    expect(await ledger.get(a!.id)).toMatchObject({
      state: 'triggered',
      triggeredAt: later,
      outcomeUnknown: false,
    });
    expect(await ledger.attemptsOf(a!.id)).toEqual([
      { sentAt: later, answeredAt: later, result: 'accepted', error: null, estimate },
    ]);

    const ab = await ledger.beginAttempt(b!.id, 'p-uuid', 0, now);
    await ledger.finishAttempt(ab!, b!.id, 'unknown', { now, error: 'socket hang up' });
    expect(await ledger.get(b!.id)).toMatchObject({
      state: 'pending',
      outcomeUnknown: true,
      error: 'socket hang up',
    });
    // Outcome unknown after the discovery window: one re-send, as attempt 2.
    expect(await ledger.markResend(c!.id, now)).toBe(false);
    expect(await ledger.markResend(b!.id, later)).toBe(true);
    expect(await ledger.markResend(b!.id, later)).toBe(false);
    expect(await ledger.get(b!.id)).toMatchObject({ outcomeUnknown: false, nextAttemptAt: later });
    expect(await ledger.beginAttempt(b!.id, 'p-uuid', 1, later)).toEqual(expect.any(Number));

    const ac = await ledger.beginAttempt(c!.id, 'p-uuid', 0, now);
    await ledger.finishAttempt(ac!, c!.id, 'rejected', { now, error: 'project not found' });
    expect(await ledger.get(c!.id)).toMatchObject({
      state: 'failed',
      reason: 'project not found',
      outcomeUnknown: false,
    });

    const ad = await ledger.beginAttempt(d!.id, 'p-uuid', 0, now);
    await ledger.finishAttempt(ad!, d!.id, 'not_sent', { now, error: '503', retryAt: later });
    expect(await ledger.get(d!.id)).toMatchObject({
      state: 'pending',
      attempts: 0,
      intentAt: null,
      outcomeUnknown: false,
      nextAttemptAt: later,
      error: '503',
    });
    expect((await ledger.attemptsOf(d!.id)).map((x) => x.result)).toEqual(['not_sent']);
    await ledger.postpone(d!.id, at('2026-06-01T11:00:00.000Z'), 'later');
    expect(await ledger.dueSends(later)).toEqual([]);
    expect((await ledger.dueSends(at('2026-06-01T11:00:00.000Z'), 1)).map((s) => s.id)).toEqual([
      d!.id,
    ]);
  });

  it('lets exactly one of two connections claim an attempt', async () => {
    const other = await openStore(location);
    others.push(other);
    const [a] = await ledger.recordSlots(
      [slot({ slotAt: '2026-06-01T09:00:00.000Z' })],
      new Map(),
      now,
    );
    const results = await Promise.all([
      ledger.beginAttempt(a!.id, 'p', 0, now),
      other.beginAttempt(a!.id, 'p', 0, now),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await other.get(a!.id))?.attempts).toBe(1);
  });

  it('supersedes the backlog: never-attempted older scheduled slots, not in flight, not manual', async () => {
    const rows = await ledger.recordSlots(
      [
        slot({ slotAt: '2026-06-01T09:00:00.000Z' }),
        slot({ slotAt: '2026-06-01T09:01:00.000Z' }),
        slot({ slotAt: '2026-06-01T09:02:00.000Z' }),
        slot({ slotAt: '2026-06-01T09:00:30.000Z', manual: true }),
        slot({ slotAt: '2026-06-01T09:00:00.000Z', branch: 'dev' }),
      ],
      new Map(),
      now,
    );
    const [s0, s1, s2, manual, dev] = rows;
    const superseded = await ledger.supersedeBacklog(now, [s1!.id]);
    expect(superseded.map((s) => [s.id, s.state, s.reason])).toEqual([
      [s0!.id, 'skipped', 'superseded (backlog)'],
    ]);
    expect((await ledger.get(manual!.id))?.state).toBe('pending');
    expect((await ledger.get(dev!.id))?.state).toBe('pending');
    expect((await ledger.supersedeBacklog(now)).map((s) => s.id)).toEqual([s1!.id]);
    expect((await ledger.get(s2!.id))?.state).toBe('pending');
    expect(await ledger.sendBacklog()).toBe(3);
  });

  it('claims a build once, follows it to its end, and answers the reading queries', async () => {
    const rows = await ledger.recordSlots(
      ['09:00', '10:00', '11:00'].map((t) => slot({ slotAt: `2026-06-01T${t}:00.000Z` })),
      new Map(),
      now,
    );
    const [a, b, c] = rows;
    expect(await ledger.claimBuild(a!.id, build('u-1'), now, 'intent')).toBe(true);
    // The build is taken, and the slot already has one.
    expect(await ledger.claimBuild(b!.id, build('u-1'), now)).toBe(false);
    expect(await ledger.claimBuild(a!.id, build('u-2'), now)).toBe(false);
    expect(await ledger.knownBuildUuids(['u-1', 'u-2'])).toEqual(new Set(['u-1']));
    expect(await ledger.get(a!.id)).toMatchObject({
      state: 'running',
      buildUuid: 'u-1',
      buildStatus: 'testing',
      commitSha: 'abc123',
      claim: 'intent',
      triggeredAt: now,
      buildQueuedAt: at('2026-06-01T10:00:01.000Z'),
    });
    const done = at('2026-06-01T10:10:00.000Z');
    await ledger.updateBuild(a!.id, { status: 'success', finishedAt: done, final: true }, done);
    expect(await ledger.get(a!.id)).toMatchObject({ state: 'finished', finishedAt: done });
    expect(await ledger.claimBuild(b!.id, build('u-2'), now)).toBe(true);
    expect(await ledger.loseBuild(b!.id, 'build gone', now)).toBe(true);
    expect(await ledger.get(b!.id)).toMatchObject({ state: 'failed', reason: 'build gone' });
    // Recorded once: a second 404 for the same build changes nothing.
    expect(await ledger.loseBuild(b!.id, 'build gone again', now)).toBe(false);
    expect(await ledger.get(b!.id)).toMatchObject({ reason: 'build gone' });
    await ledger.closeSlot(c!.id, 'skipped', 'overlap (previous)', now);
    expect(await ledger.get(c!.id)).toMatchObject({ state: 'skipped', error: null });
    expect(await ledger.openSlots()).toEqual([]);

    expect((await ledger.previousBuildSlot('nightly', 'main', c!.id))?.id).toBe(a!.id);
    expect(await ledger.previousBuildSlot('nightly', 'dev', c!.id)).toBeNull();
    expect((await ledger.recentFinished(5)).map((s) => s.id)).toEqual([a!.id]);
    expect((await ledger.listSlots({ limit: 2 })).map((s) => s.id)).toEqual([c!.id, b!.id]);
    expect((await ledger.listSlots({ schedule: 'other', limit: 2 })).length).toBe(0);
    const recent = await ledger.recentSlotsOf(['nightly', 'none'], 2);
    expect([...recent.keys()]).toEqual(['nightly']);
    expect(recent.get('nightly')?.map((s) => s.id)).toEqual([c!.id, b!.id]);
    expect(
      (await ledger.recentSlotsOf(['nightly'], 5, 'outcomes')).get('nightly')?.map((s) => s.id),
    ).toEqual([b!.id, a!.id]);
    expect(
      (await ledger.recentSlotsOf(['nightly'], 5, 'builds')).get('nightly')?.map((s) => s.id),
    ).toEqual([a!.id]);
    const counts = (await ledger.slotCounts()).sort((x, y) => x.state.localeCompare(y.state));
    expect(counts).toEqual([
      {
        schedule: 'nightly',
        state: 'failed',
        n: 1,
        lastSuccess: null,
        lastFailure: now.toISOString(),
      },
      {
        schedule: 'nightly',
        state: 'finished',
        n: 1,
        lastSuccess: done.toISOString(),
        lastFailure: null,
      },
      { schedule: 'nightly', state: 'skipped', n: 1, lastSuccess: null, lastFailure: null },
    ]);
    const summaries = await ledger.slotSummaries(['nightly', 'none']);
    expect(summaries).toEqual(
      new Map([
        [
          'nightly',
          {
            newest: { state: 'skipped', fireAt: at('2026-06-01T11:00:00.000Z') },
            outcome: { state: 'failed', buildStatus: 'testing' },
          },
        ],
      ]),
    );
  });

  it("records a chain's slot once per upstream build and branch, arms chains, never supersedes them", async () => {
    const cause = (build: string, finishedAt: string) => ({
      project: 'acme/api',
      branch: 'main',
      build,
      status: 'success',
      finishedAt,
      schedule: 'nightly',
    });
    const chained = (build: string, finishedAt: string, branch = 'main') =>
      slot({ schedule: 'docs', slotAt: finishedAt, branch, cause: cause(build, finishedAt) });
    const first = await ledger.recordSlots(
      [
        chained('u1', '2026-06-01T09:00:00.000Z'),
        chained('u1', '2026-06-01T09:00:00.000Z', 'develop'),
        // Another upstream build that finished in the same millisecond: moved on by 1 ms.
        chained('u2', '2026-06-01T09:00:00.000Z'),
      ],
      new Map(),
      now,
    );
    expect(first.map((s) => [s.branch, s.slotAt.toISOString(), s.cause?.build])).toEqual([
      ['main', '2026-06-01T09:00:00.000Z', 'u1'],
      ['develop', '2026-06-01T09:00:00.000Z', 'u1'],
      ['main', '2026-06-01T09:00:00.001Z', 'u2'],
    ]);
    for (const record of first) expect(await ledger.get(record.id)).toEqual(record);
    // The same upstream build again (a webhook replayed, a poll): nothing new.
    expect(
      await ledger.recordSlots([chained('u1', '2026-06-01T09:00:00.000Z')], new Map(), now),
    ).toEqual([]);
    expect(await ledger.chainState('docs', ['u1', 'u2', 'u3'])).toEqual({
      handled: new Set(['u1', 'u2']),
      lastFireAt: at('2026-06-01T09:00:00.001Z'),
    });
    expect(await ledger.chainState('other', ['u1'])).toEqual({
      handled: new Set(),
      lastFireAt: null,
    });
    // A newer chain slot due does not supersede an older one: each is its own upstream build's.
    await ledger.recordSlots([chained('u3', '2026-06-01T09:30:00.000Z')], new Map(), now);
    expect(await ledger.supersedeBacklog(now)).toEqual([]);
    // Armed once; armed again only when its upstreams change.
    const armedAt = await ledger.armChains([{ name: 'docs', upstreams: 'a' }], now);
    expect(armedAt).toEqual(new Map([['docs', now]]));
    const later = at('2026-06-01T11:00:00.000Z');
    expect(await ledger.armChains([{ name: 'docs', upstreams: 'a' }], later)).toEqual(armedAt);
    expect(await ledger.armChains([{ name: 'docs', upstreams: 'b' }], later)).toEqual(
      new Map([['docs', later]]),
    );
  });

  it('keeps a heartbeat and proves a write commits', async () => {
    expect(await ledger.lastHeartbeat()).toBeNull();
    await ledger.heartbeat(now);
    await ledger.heartbeat(at('2026-06-01T10:00:10.000Z'));
    expect(await ledger.lastHeartbeat()).toEqual(at('2026-06-01T10:00:10.000Z'));
    await ledger.probeWrite(now);
    await ledger.probeWrite(now);
  });

  it('answers the metrics reads with nothing once closed', async () => {
    await ledger.close();
    expect(await ledger.sendBacklog()).toBe(0);
    expect(await ledger.slotCounts()).toEqual([]);
  });
});
