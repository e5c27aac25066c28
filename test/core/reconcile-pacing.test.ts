import { describe, expect, it } from 'vitest';
import {
  type CheckSlot,
  DEFAULT_EXPECTED_MS,
  expectedDurationMs,
  nextCheckAt,
} from '../../src/core/reconcile-pacing.ts';
import { MINUTE, SECOND } from '../../src/core/time.ts';

const at = (iso: string) => new Date(iso);
const POLICY = { discoveryWindowMs: 2 * MINUTE, acceptedGiveUpMs: 10 * MINUTE };
const SENT = '2026-06-01T10:00:00.000Z';

function slot(fields: Partial<CheckSlot>): CheckSlot {
  return {
    state: 'triggered',
    outcomeUnknown: false,
    lastAttemptAt: at(SENT),
    ...fields,
  };
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

describe('nextCheckAt', () => {
  it('looks at a build when it is expected to have finished, not before', () => {
    expect(iso(nextCheckAt(slot({}), null, 10 * MINUTE, POLICY))).toBe('2026-06-01T10:10:00.000Z');
    // Counted from the send, in our clock: the build's queued_at is in Codeship's.
    const running = slot({ state: 'running', lastAttemptAt: at('2026-06-01T10:00:02Z') });
    expect(iso(nextCheckAt(running, null, 10 * MINUTE, POLICY))).toBe('2026-06-01T10:10:02.000Z');
  });

  it('backs off with the build age once past the expected end (doubling it, 15 s to 5 min)', () => {
    const running = slot({ state: 'running' });
    expect(iso(nextCheckAt(running, at('2026-06-01T10:02:00Z'), MINUTE, POLICY))).toBe(
      '2026-06-01T10:04:00.000Z',
    );
    expect(iso(nextCheckAt(running, at('2026-06-01T10:00:10Z'), 10 * SECOND, POLICY))).toBe(
      '2026-06-01T10:00:25.000Z',
    );
    expect(iso(nextCheckAt(running, at('2026-06-01T12:00:00Z'), 10 * MINUTE, POLICY))).toBe(
      '2026-06-01T12:05:00.000Z',
    );
  });

  it('caps the first look at 15 minutes however long builds usually take', () => {
    expect(iso(nextCheckAt(slot({ state: 'running' }), null, 3 * 3600_000, POLICY))).toBe(
      '2026-06-01T10:15:00.000Z',
    );
  });

  it('looks for an unknown-outcome create soon, then when its discovery window ends', () => {
    const unknown = slot({ state: 'pending', outcomeUnknown: true });
    expect(iso(nextCheckAt(unknown, null, 10 * MINUTE, POLICY))).toBe('2026-06-01T10:00:10.000Z');
    expect(iso(nextCheckAt(unknown, at('2026-06-01T10:00:10Z'), 10 * MINUTE, POLICY))).toBe(
      '2026-06-01T10:02:00.000Z',
    );
    // Past the window (the decision was to wait): never due in the past again, so no busy loop.
    expect(iso(nextCheckAt(unknown, at('2026-06-01T10:02:00Z'), 10 * MINUTE, POLICY))).toBe(
      '2026-06-01T10:02:15.000Z',
    );
  });

  it('gives a 202 without a build its give-up look at the latest', () => {
    const accepted = slot({});
    expect(iso(nextCheckAt(accepted, at('2026-06-01T10:09:00Z'), 10 * MINUTE, POLICY))).toBe(
      '2026-06-01T10:10:00.000Z',
    );
    expect(iso(nextCheckAt(accepted, null, 30 * MINUTE, POLICY))).toBe('2026-06-01T10:10:00.000Z');
  });

  it('needs no look for a slot not sent yet or a create still in flight', () => {
    expect(
      nextCheckAt(slot({ state: 'pending', lastAttemptAt: null }), null, MINUTE, POLICY),
    ).toBeNull();
    expect(
      nextCheckAt(slot({ state: 'pending', outcomeUnknown: false }), null, MINUTE, POLICY),
    ).toBeNull();
  });
});

describe('expectedDurationMs', () => {
  it('is the median of recent durations, or 20 s when nothing is known', () => {
    expect(expectedDurationMs([])).toBe(DEFAULT_EXPECTED_MS);
    expect(expectedDurationMs([3, 1, 2])).toBe(2);
    expect(expectedDurationMs([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('nextCheckAt for a manual trigger', () => {
  it('looks for its build 5 s after the create, however long builds take, then paces as usual', () => {
    const manual = slot({ manual: true, buildUuid: null });
    expect(iso(nextCheckAt(manual, null, 10 * MINUTE, POLICY))).toBe('2026-06-01T10:00:05.000Z');
    expect(iso(nextCheckAt(manual, at('2026-06-01T10:00:05Z'), 10 * MINUTE, POLICY))).toBe(
      '2026-06-01T10:10:00.000Z',
    );
    expect(iso(nextCheckAt(slot({}), null, 10 * MINUTE, POLICY))).toBe('2026-06-01T10:10:00.000Z');
  });
});
