/** The discrete-event clock: ordering, cancellation, sleeping, driving async work, deadlocks. */
import { describe, expect, test } from 'vitest';
import { SimClock } from '../../src/simulator/index.js';
import { AppError } from '../../src/shared/index.js';

const T0 = Date.parse('2027-01-01T00:00:00Z');

describe('SimClock', () => {
  test('fires events by time, then in the order they were set (simultaneous events are stable)', () => {
    const c = new SimClock(T0);
    const seen: string[] = [];
    c.setTimer(20, () => seen.push('b@20'));
    c.setTimer(10, () => seen.push('a@10'));
    c.setTimer(20, () => seen.push('c@20'));
    c.setTimer(0, () => seen.push('now-1'));
    c.setTimer(-5, () => seen.push('now-2'));
    c.setTimer(10, () => {
      seen.push('d@10');
      c.setTimer(0, () => seen.push('e@10-nested'));
    });
    while (c.fireNext()) {
      /* drain */
    }
    expect(seen).toEqual(['now-1', 'now-2', 'a@10', 'd@10', 'e@10-nested', 'b@20', 'c@20']);
    expect(c.nowMs()).toBe(T0 + 20);
    expect(c.eventsFired).toBe(7);
  });

  test('the same schedule gives the same order on every run', () => {
    const run = (): string[] => {
      const c = new SimClock(T0);
      const out: string[] = [];
      for (let i = 0; i < 200; i++) c.setTimer((i * 7919) % 13, () => out.push(`${c.nowMs() - T0}:${i}`));
      while (c.fireNext());
      return out;
    };
    expect(run()).toEqual(run());
  });

  test('a cleared timer never fires, and time never goes backwards', () => {
    const c = new SimClock(T0);
    const seen: number[] = [];
    const a = c.setTimer(5, () => seen.push(5));
    c.setTimer(3, () => seen.push(3));
    c.clearTimer(a);
    c.clearTimer(a);
    c.clearTimer(12345);
    expect(c.pending).toBe(1);
    while (c.fireNext());
    expect(seen).toEqual([3]);
    expect(c.nowMs()).toBe(T0 + 3);
    expect(c.nextEventAtMs()).toBeNull();
  });

  test('sleep resolves at its time; an abort wakes it early without error (the executor Timers contract)', async () => {
    const c = new SimClock(T0);
    const log: string[] = [];
    const ac = new AbortController();
    const long = c.sleep(60_000, ac.signal).then(() => log.push(`long woke at ${c.nowMs() - T0}`));
    const short = c.sleep(1_000).then(() => {
      log.push(`short at ${c.nowMs() - T0}`);
      ac.abort();
    });
    await c.runUntil(Promise.all([long, short]));
    expect(log).toEqual(['short at 1000', 'long woke at 1000']);
    expect(c.pending).toBe(0);
    await c.sleep(5, ac.signal); // already aborted: resolves at once
    expect(c.nowMs()).toBe(T0 + 1000);
  });

  test('runUntil drives async work that sleeps: a simulated week passes in milliseconds', async () => {
    const c = new SimClock(T0);
    const work = (async () => {
      let n = 0;
      for (let i = 0; i < 7 * 24; i++) {
        await c.sleep(3_600_000);
        await Promise.resolve();
        n++;
      }
      return n;
    })();
    const t = performance.now();
    expect(await c.runUntil(work)).toBe(168);
    expect(c.nowMs() - T0).toBe(7 * 86_400_000);
    expect(performance.now() - t).toBeLessThan(5_000);
  });

  test('advanceTo fires what is due, settles promises between events, and stops at the target', async () => {
    const c = new SimClock(T0);
    const seen: number[] = [];
    const chain = (async () => {
      await c.sleep(10);
      seen.push(c.nowMs() - T0);
      await c.sleep(10);
      seen.push(c.nowMs() - T0);
      await c.sleep(100);
      seen.push(c.nowMs() - T0);
    })();
    await c.advanceTo(T0 + 50);
    expect(seen).toEqual([10, 20]);
    expect(c.nowMs()).toBe(T0 + 50);
    await c.advanceTo(T0 + 40); // never backwards
    expect(c.nowMs()).toBe(T0 + 50);
    await c.runUntil(chain);
    expect(seen).toEqual([10, 20, 120]);
  });

  test.each([
    ['work that waits on nothing the clock will ever fire', () => new Promise<void>(() => undefined), 'deadlock'],
    ['work that fails', () => Promise.reject(new AppError('MIGRATION_FAILED', 'boom')), 'boom'],
  ])('runUntil reports %s', async (_name, make, message) => {
    const c = new SimClock(T0);
    await expect(c.runUntil(make())).rejects.toThrow(message);
  });

  test('runUntil stops at maxEvents (a loop that never ends) and at untilMs', async () => {
    const c = new SimClock(T0);
    const tick = (): void => void c.setTimer(1, tick);
    tick();
    await expect(c.runUntil(new Promise(() => undefined), { maxEvents: 100 })).rejects.toThrow('100 events');
    const c2 = new SimClock(T0);
    const forever = new Promise<void>(() => undefined);
    const tick2 = (): void => void c2.setTimer(1000, tick2);
    tick2();
    expect(await c2.runUntil(forever, { untilMs: T0 + 10_500 })).toBeNull();
    expect(c2.nowMs()).toBe(T0 + 10_500);
  });

  test('a start that is not a finite time is refused', () => {
    expect(() => new SimClock(Number.NaN)).toThrow(AppError);
  });
});
