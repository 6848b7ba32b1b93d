import { describe, expect, test } from 'vitest';
import type { IoCounterSet } from '../../src/model/index.js';
import { countersWentBack, histogramQuantile, ioRates } from '../../src/telemetry/index.js';

const INF = Number.POSITIVE_INFINITY;
const buckets = (counts: readonly number[], les: readonly number[] = [1, 2, 5, INF]) => les.map((le, i) => ({ le, count: counts[i]! }));
const set = (ops: [number, number], bytes: [number, number], counts: readonly number[]): IoCounterSet => ({
  readOps: ops[0],
  writeOps: ops[1],
  readBytes: bytes[0],
  writeBytes: bytes[1],
  readLatencyTotalMs: 0,
  writeLatencyTotalMs: 0,
  latencyBucketsMs: buckets(counts),
});

describe('histogramQuantile (Prometheus histogram_quantile)', () => {
  test.each([
    { name: 'empty histogram', counts: [0, 0, 0, 0], q: 0.5, want: null },
    { name: 'all in the first bucket: interpolated from 0', counts: [10, 10, 10, 10], q: 0.5, want: 0.5 },
    { name: 'median in the second bucket', counts: [2, 8, 10, 10], q: 0.5, want: 1 + (1 * (5 - 2)) / 6 },
    { name: 'p95 in the third bucket', counts: [2, 8, 10, 10], q: 0.95, want: 2 + (3 * (9.5 - 8)) / 2 },
    { name: 'in the +Inf bucket: the highest finite bound', counts: [0, 0, 0, 4], q: 0.95, want: 5 },
  ])('$name', ({ counts, q, want }) => {
    const got = histogramQuantile(buckets(counts), q);
    if (want === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(want, 12);
  });
});

describe('ioRates', () => {
  test('rates and latency percentiles of the operations between two readings', () => {
    const before = set([10, 20], [1000, 2000], [5, 10, 20, 30]);
    const now = set([30, 60], [5000, 12000], [5, 10, 80, 90]);
    const r = ioRates(before, now, 4)!;
    expect(r).toMatchObject({ readIops: 5, writeIops: 10, readBytesPerSec: 1000, writeBytesPerSec: 2500 });
    // The 60 operations in between all fell in (2, 5] ms.
    expect(r.latencyP50Ms).toBeCloseTo(2 + 3 * 0.5, 12);
    expect(r.latencyP95Ms).toBeCloseTo(2 + 3 * 0.95, 12);
  });

  test.each([
    { name: 'ops went back', now: set([1, 60], [5000, 12000], [5, 10, 80, 90]) },
    { name: 'bytes went back', now: set([30, 60], [5000, 10], [5, 10, 80, 90]) },
    { name: 'a histogram bucket went back', now: set([30, 60], [5000, 12000], [0, 10, 80, 90]) },
  ])('a restart ($name) yields no rate', ({ now }) => {
    const before = set([10, 20], [1000, 2000], [5, 10, 20, 30]);
    expect(countersWentBack(before, now)).toBe(true);
    expect(ioRates(before, now, 4)).toBeNull();
  });

  test('no interval, no rate; no operation, no latency', () => {
    const s = set([1, 1], [1, 1], [1, 1, 1, 2]);
    expect(ioRates(s, s, 0)).toBeNull();
    expect(ioRates(s, s, 10)).toMatchObject({ readIops: 0, writeIops: 0, latencyP50Ms: null, latencyP95Ms: null });
  });
});
