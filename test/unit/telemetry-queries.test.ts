import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SqliteTelemetryStore, growthGiBPerDay, poolGrowth, theilSenSlope, timeToFull, windowed, type Point } from '../../src/telemetry/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1);
const dir = mkdtempSync(join(tmpdir(), 'ballast-tq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ordinary least squares slope, to show what an outlier does to it. */
function olsSlope(pts: readonly { x: number; y: number }[]): number {
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / n;
  const my = pts.reduce((a, p) => a + p.y, 0) / n;
  return pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
}

describe('growth (Theil–Sen)', () => {
  test('one wild outlier does not move the growth; least squares would', () => {
    // 2 GiB/day for 14 days, one sample a day, plus one spike of +5000 GiB on day 13.
    const pts = Array.from({ length: 14 }, (_, i) => ({ x: T0 + i * DAY, y: 100 + 2 * i + (i === 12 ? 5000 : 0) }));
    const ts = theilSenSlope(pts)! * DAY;
    expect(ts).toBeCloseTo(2, 9);
    expect(Math.abs(olsSlope(pts) * DAY - 2)).toBeGreaterThan(50);
  });

  test('evenly thinned above the cap, still exact on a straight line; null without two times', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ x: i * 1000, y: 3 * i }));
    expect(theilSenSlope(pts, 50)).toBeCloseTo(3 / 1000, 12);
    expect(theilSenSlope([{ x: 1, y: 1 }])).toBeNull();
    expect(theilSenSlope([{ x: 1, y: 1 }, { x: 1, y: 5 }])).toBeNull();
    expect(growthGiBPerDay([])).toBeNull();
  });

  test('per pool, from the store: allocated GiB over the growth window', async () => {
    const store = SqliteTelemetryStore.open({ path: join(dir, 'g.db'), retention: { retentionMs: 365 * DAY, downsampleAfterMs: 30 * DAY, downsampleBucketMs: 3_600_000 } });
    const pts: Point[] = [];
    for (let h = 0; h < 7 * 24; h++) {
      pts.push({ entity: 'pool', key: 'h@b#grows', metric: 'capacity.allocated_gib', atMs: T0 + h * 3_600_000, value: 500 + (h / 24) * 10 + (h === 100 ? -400 : 0) });
      pts.push({ entity: 'pool', key: 'h@b#flat', metric: 'capacity.allocated_gib', atMs: T0 + h * 3_600_000, value: 42 });
    }
    pts.push({ entity: 'pool', key: 'h@b#one', metric: 'capacity.allocated_gib', atMs: T0, value: 1 });
    await store.write(pts);
    const g = await poolGrowth(store, { endMs: T0 + 7 * DAY, windowMs: 7 * DAY });
    expect([...g.keys()]).toEqual(['h@b#flat', 'h@b#grows']);
    expect(g.get('h@b#grows')).toBeCloseTo(10, 6);
    expect(g.get('h@b#flat')).toBe(0);
    const w = await windowed(store, 'pool', 'capacity.allocated_gib', { endMs: T0 + DAY, windowMs: DAY }, ['h@b#flat']);
    expect(w.get('h@b#flat')).toEqual({ key: 'h@b#flat', count: 25, mean: 42, max: 42, p95: 42 });
    await store.close();
  });
});

describe('time to full', () => {
  test.each([
    { name: 'grows 10 GiB/day from 500 of 1000 to 85%', used: 500, growth: 10, want: { kind: 'at', daysToFull: 35 } },
    { name: 'already over the threshold', used: 900, growth: 10, want: { kind: 'already' } },
    { name: 'shrinking never fills', used: 500, growth: -3, want: { kind: 'never' } },
    { name: 'no history never fills', used: 500, growth: null, want: { kind: 'never' } },
  ])('$name', ({ used, growth, want }) => {
    const f = timeToFull({ usedGiB: used, usableGiB: 1000, thresholdShare: 0.85, growthGiBPerDay: growth, nowMs: T0 });
    expect(f).toMatchObject(want);
    if (f.kind === 'at') expect(f.fullAtMs).toBe(T0 + 35 * DAY);
    expect(f.usedShare).toBe(used / 1000);
  });
});
