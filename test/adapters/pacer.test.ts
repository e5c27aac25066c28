import { describe, expect, it } from 'vitest';
import { createPacer, PACING_WINDOW_MS as WINDOW_MS } from '../../src/adapters/pacer.ts';
import type { CallPriority } from '../../src/ports.ts';
import { ManualClock, settle } from '../helpers/manual-clock.ts';

const START = '2025-03-01T12:00:00.000Z';

describe('pacer', () => {
  it('grants at most ratePerMinute starts in any sliding 60 s window', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 3, clock });
    const granted: number[] = [];
    const take = (i: number) => pacer.acquire('normal').then(() => granted.push(i));
    await take(0);
    await clock.advance(10_000);
    await take(1);
    await take(2);
    void take(3);
    void take(4);
    await settle();
    expect(granted).toEqual([0, 1, 2]);
    expect(pacer.stats()).toMatchObject({ started: 3, inWindow: 3, queued: { normal: 2 } });
    // The first start (at 0 s) leaves the window at 60 s; now is 10 s.
    await clock.advance(WINDOW_MS - 10_000 - 1);
    expect(granted).toEqual([0, 1, 2]);
    await clock.advance(1);
    expect(granted).toEqual([0, 1, 2, 3]);
    // The next two started at 10 s: they leave at 70 s.
    await clock.advance(10_000);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    expect(pacer.stats().started).toBe(5);
  });

  it('serves trigger before normal before reconcile, FIFO within each', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 1, clock });
    await pacer.acquire('normal');
    const order: string[] = [];
    const queue = (priority: CallPriority, name: string) =>
      void pacer.acquire(priority).then(() => order.push(name));
    queue('reconcile', 'r1');
    queue('normal', 'n1');
    queue('reconcile', 'r2');
    queue('trigger', 't1');
    queue('normal', 'n2');
    queue('trigger', 't2');
    await settle();
    expect(pacer.stats().queued).toEqual({ trigger: 2, normal: 2, reconcile: 2, poll: 0 });
    for (let i = 0; i < 6; i += 1) await clock.advance(WINDOW_MS);
    expect(order).toEqual(['t1', 't2', 'n1', 'n2', 'r1', 'r2']);
  });

  it('pauses every queue for 60 s after a rate-limit answer and treats the window as full', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 5, clock });
    await pacer.acquire('normal');
    expect(pacer.rateLimited()).toBe(WINDOW_MS);
    expect(pacer.stats().pausedUntil?.toISOString()).toBe('2025-03-01T12:01:01.000Z');
    let granted = 0;
    for (let i = 0; i < 6; i += 1) void pacer.acquire('trigger').then(() => (granted += 1));
    await clock.advance(WINDOW_MS - 1);
    expect(granted).toBe(0);
    await clock.advance(1);
    // A fresh window: five starts, the sixth waits for the next one.
    expect(granted).toBe(5);
    expect(pacer.stats().pausedUntil).toBeNull();
    await clock.advance(WINDOW_MS);
    expect(granted).toBe(6);
  });

  it('a second rate-limit answer during a pause extends it from its own instant', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 60, clock });
    pacer.rateLimited();
    await clock.advance(20_000);
    expect(pacer.rateLimited()).toBe(WINDOW_MS);
    let granted = false;
    void pacer.acquire('normal').then(() => (granted = true));
    await clock.advance(40_000);
    expect(granted).toBe(false);
    await clock.advance(21_000);
    expect(granted).toBe(true);
  });

  it('a clock stepped back an hour holds a full window and a pause at most one window, not an hour', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 2, clock });
    await pacer.acquire('normal');
    await pacer.acquire('normal');
    pacer.rateLimited();
    await clock.step(new Date(Date.parse(START) - 60 * 60_000));
    let granted = false;
    void pacer.acquire('normal').then(() => {
      granted = true;
    });
    await clock.advance(WINDOW_MS - 1);
    expect(granted).toBe(false);
    await clock.advance(1);
    expect(granted).toBe(true);
  });

  it('a caller aborted while queued is rejected with the reason and leaves no sleeper', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 1, clock });
    await pacer.acquire('normal');
    const controller = new AbortController();
    const waiting = pacer.acquire('reconcile', controller.signal);
    await settle();
    expect(pacer.stats().queued.reconcile).toBe(1);
    expect(clock.sleeping).toBe(1);
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    await settle();
    expect(pacer.stats().queued.reconcile).toBe(0);
    expect(clock.sleeping).toBe(0);
    // An already aborted signal is refused at once and never counted.
    await expect(pacer.acquire('normal', controller.signal)).rejects.toThrow('shutting down');
    expect(pacer.stats().started).toBe(1);
  });

  it('puts a caller sent back by the server at the head of its queue', async () => {
    const clock = new ManualClock(START);
    const pacer = createPacer({ ratePerMinute: 1, clock });
    await pacer.acquire('normal');
    const order: string[] = [];
    void pacer.acquire('normal').then(() => order.push('queued first'));
    void pacer.acquire('normal', undefined, true).then(() => order.push('retry'));
    await clock.advance(WINDOW_MS);
    await clock.advance(WINDOW_MS);
    expect(order).toEqual(['retry', 'queued first']);
  });
});
