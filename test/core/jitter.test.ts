import { describe, expect, it } from 'vitest';
import { fnv1a32, jitterOffsetMs, stableHash32 } from '../../src/core/jitter.ts';
import { MINUTE, SECOND } from '../../src/core/time.ts';

describe('fnv1a32', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('matches the published FNV-1a test vector for %j', (text, hash) => {
    expect(fnv1a32(text)).toBe(hash);
  });
});

describe('jitterOffsetMs', () => {
  it('is 0 when the schedule has no jitter', () => {
    expect(jitterOffsetMs('nightly-api', 0)).toBe(0);
  });

  // Pinned: a change here moves the fire time of every deployed schedule with jitter.
  it.each([
    ['nightly-api', 10 * MINUTE, 589_335],
    ['nightly-1', 10 * MINUTE, 216_840],
    ['nightly-2', 10 * MINUTE, 491_026],
    ['stale-releases', 10 * MINUTE, 574_961],
    ['nightly-api', SECOND, 982],
  ])('gives %s with jitter %i ms the stable offset %i ms', (name, jitterMs, offsetMs) => {
    expect(jitterOffsetMs(name, jitterMs)).toBe(offsetMs);
  });

  it('hashes the UTF-8 bytes of the name', () => {
    expect(stableHash32('é-ü')).toBe(3_058_835_489);
  });

  it('stays in [0, jitter) as whole milliseconds', () => {
    for (let i = 0; i < 5000; i += 1) {
      const offsetMs = jitterOffsetMs(`schedule-${i}`, 7 * SECOND);
      expect(Number.isInteger(offsetMs)).toBe(true);
      expect(offsetMs).toBeGreaterThanOrEqual(0);
      expect(offsetMs).toBeLessThan(7 * SECOND);
    }
  });

  it('spreads similar names over the whole window', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i += 1) {
      buckets[Math.floor(jitterOffsetMs(`nightly-${i}`, 10 * MINUTE) / MINUTE)]! += 1;
    }
    // Each minute of a 10-minute window gets about a tenth of 10,000 names.
    for (const count of buckets) expect(count).toBeGreaterThan(850);
    for (const count of buckets) expect(count).toBeLessThan(1150);
  });
});
