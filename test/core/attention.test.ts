import { describe, expect, it } from 'vitest';
import {
  attentionKey,
  attentionOf,
  compareAttention,
  matchesFilter,
  type SlotSummary,
} from '../../src/core/attention.ts';
import { formatInZone, formatUtc } from '../../src/core/wall-time.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const at = (iso: string) => new Date(iso);
const summary = (
  newest: [string, string] | null,
  outcome: [string, string | null] | null,
): SlotSummary => ({
  newest: newest ? { state: newest[0] as 'pending', fireAt: at(newest[1]) } : null,
  outcome: outcome ? { state: outcome[0] as 'finished', buildStatus: outcome[1] } : null,
});

describe('attentionOf', () => {
  it.each([
    ['no slot yet', summary(null, null), 'ok'],
    [
      'newest outcome a failed build',
      summary(['finished', '2026-03-01T11:00:00Z'], ['finished', 'error']),
      'failing',
    ],
    [
      'newest outcome a failed trigger',
      summary(['skipped', '2026-03-01T11:00:00Z'], ['failed', null]),
      'failing',
    ],
    [
      'newest outcome a success',
      summary(['finished', '2026-03-01T11:00:00Z'], ['finished', 'success']),
      'ok',
    ],
    [
      'pending 61 s after its fire time',
      summary(['pending', '2026-03-01T11:58:59Z'], null),
      'late',
    ],
    ['pending 60 s after its fire time', summary(['pending', '2026-03-01T11:59:00Z'], null), 'ok'],
    [
      'late and failing: failing',
      summary(['pending', '2026-03-01T10:00:00Z'], ['failed', null]),
      'failing',
    ],
  ] as const)('%s', (_label, value, expected) => {
    expect(attentionOf(value, NOW)).toBe(expected);
  });
});

it('orders failing, late, ok; then next fire (never last); then name', () => {
  const keys = [
    attentionKey('ok', null, 'a'),
    attentionKey('ok', at('2026-03-01T12:15:00Z'), 'b'),
    attentionKey('late', at('2026-03-02T00:00:00Z'), 'c'),
    attentionKey('failing', at('2026-03-03T00:00:00Z'), 'd'),
    attentionKey('ok', at('2026-03-01T12:15:00Z'), 'A'),
  ];
  expect([...keys].sort(compareAttention).map((k) => k.name)).toEqual(['d', 'c', 'A', 'b', 'a']);
});

it('filters: chains match nothing, disabled by the schedule, running covers triggered', () => {
  const triggered = summary(['triggered', '2026-03-01T11:00:00Z'], null);
  expect(matchesFilter('running', { enabled: true }, triggered, 'ok')).toBe(true);
  expect(matchesFilter('triggered', { enabled: true }, triggered, 'ok')).toBe(true);
  expect(matchesFilter('chains', { enabled: true }, triggered, 'ok')).toBe(false);
  expect(matchesFilter('disabled', { enabled: false }, triggered, 'ok')).toBe(true);
  expect(matchesFilter('none', { enabled: true }, summary(null, null), 'ok')).toBe(true);
});

it('writes times as YYYY-MM-DD HH:mm:ss ZONE, UTC on the cards', () => {
  const instant = at('2026-03-02T01:00:00.250Z');
  expect(formatUtc(instant)).toBe('2026-03-02 01:00:00 UTC');
  expect(formatInZone(instant, 'UTC')).toBe(formatUtc(instant));
  expect(formatInZone(instant, 'Europe/Berlin')).toBe('2026-03-02 02:00:00 GMT+1');
  expect(formatInZone(instant, 'America/New_York')).toBe('2026-03-01 20:00:00 EST');
});
