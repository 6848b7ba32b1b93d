import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LATENCY_BUCKETS_MS,
  emptyIoCounters,
  IoAccounting,
  latencyPercentiles,
  latencyQuantileMs,
  type IoCounters,
} from '../../src/blockstore/index.js';

const buckets = (pairs: [number, number][]): IoCounters['latencyBucketsMs'] => pairs.map(([le, count]) => ({ le, count }));

describe('IoAccounting', () => {
  it('counts ops, bytes and time per pool and per volume', () => {
    const io = new IoAccounting();
    io.record('p1', 'a', 'read', 4096, 0.2);
    io.record('p1', 'a', 'write', 100, 3);
    io.record('p1', 'b', 'write', 50, 0.04);
    io.record('p2', 'c', 'flush', 0, 12);
    const s = io.snapshot();
    expect(s.volumes['a']).toMatchObject({ readOps: 1, readBytes: 4096, writeOps: 1, writeBytes: 100, flushOps: 0 });
    expect(s.volumes['a']?.readLatencyTotalMs).toBeCloseTo(0.2);
    expect(s.volumes['a']?.writeLatencyTotalMs).toBeCloseTo(3);
    expect(s.pools['p1']).toMatchObject({ readOps: 1, writeOps: 2, writeBytes: 150 });
    expect(s.pools['p2']).toMatchObject({ flushOps: 1, readOps: 0, writeOps: 0 });
    expect(Object.keys(s.volumes)).toEqual(['a', 'b', 'c']);
  });

  it('keeps a cumulative histogram over the default buckets, ending at +Inf', () => {
    const io = new IoAccounting();
    for (const ms of [0.01, 0.05, 0.07, 0.3, 4, 2000]) io.record('p', 'v', 'read', 1, ms);
    const h = io.snapshot().volumes['v']!.latencyBucketsMs;
    expect(h.map((b) => b.le)).toEqual(DEFAULT_LATENCY_BUCKETS_MS);
    const countAt = (le: number): number | undefined => h.find((b) => b.le === le)?.count;
    expect(countAt(0.05)).toBe(2); // bounds are inclusive (le)
    expect(countAt(0.1)).toBe(3);
    expect(countAt(0.5)).toBe(4);
    expect(countAt(5)).toBe(5);
    expect(countAt(1000)).toBe(5);
    expect(countAt(Number.POSITIVE_INFINITY)).toBe(6);
  });

  it('measures an operation with its result size and records nothing when it fails', async () => {
    const io = new IoAccounting();
    expect(await io.measure('p', 'v', 'read', async () => 42, (n) => n)).toBe(42);
    await expect(
      io.measure('p', 'v', 'write', async () => Promise.reject(new Error('boom')), () => 1),
    ).rejects.toThrow('boom');
    expect(io.snapshot().volumes['v']).toMatchObject({ readOps: 1, readBytes: 42, writeOps: 0 });
  });

  it('snapshots are copies; forgetting a volume keeps its pool totals', () => {
    const io = new IoAccounting();
    io.record('p', 'v', 'write', 10, 1);
    const before = io.snapshot();
    io.record('p', 'v', 'write', 10, 1);
    expect(before.volumes['v']?.writeOps).toBe(1);
    io.forgetVolume('v');
    const after = io.snapshot();
    expect(after.volumes['v']).toBeUndefined();
    expect(after.pools['p']?.writeOps).toBe(2);
  });

  it('accepts custom buckets and appends +Inf', () => {
    const io = new IoAccounting([10, 1]);
    io.record('p', 'v', 'read', 1, 50);
    expect(io.snapshot().pools['p']?.latencyBucketsMs).toEqual(
      buckets([
        [1, 0],
        [10, 0],
        [Number.POSITIVE_INFINITY, 1],
      ]),
    );
  });
});

describe('latency quantiles', () => {
  it.each([
    {
      what: 'interpolates inside the bucket holding the rank',
      h: buckets([
        [1, 0],
        [2, 10],
        [4, 20],
        [Number.POSITIVE_INFINITY, 20],
      ]),
      q: 0.5,
      expected: 2, // rank 10 is the top of (1, 2]
    },
    {
      what: 'interpolates linearly',
      h: buckets([
        [1, 0],
        [2, 10],
        [4, 20],
        [Number.POSITIVE_INFINITY, 20],
      ]),
      q: 0.75,
      expected: 3, // rank 15: halfway through (2, 4]
    },
    {
      what: 'starts the first bucket at 0',
      h: buckets([
        [1, 4],
        [Number.POSITIVE_INFINITY, 4],
      ]),
      q: 0.5,
      expected: 0.5,
    },
    {
      what: 'reports the highest finite bound for the +Inf bucket',
      h: buckets([
        [1, 1],
        [10, 1],
        [Number.POSITIVE_INFINITY, 100],
      ]),
      q: 0.95,
      expected: 10,
    },
  ])('$what', ({ h, q, expected }) => {
    expect(latencyQuantileMs(h, q)).toBeCloseTo(expected, 10);
  });

  it('is null without observations and rejects quantiles outside [0, 1]', () => {
    expect(latencyQuantileMs(emptyIoCounters().latencyBucketsMs, 0.5)).toBeNull();
    expect(latencyPercentiles(emptyIoCounters())).toEqual({ p50: null, p95: null });
    expect(() => latencyQuantileMs(emptyIoCounters().latencyBucketsMs, 1.5)).toThrow(RangeError);
    expect(() => latencyQuantileMs(emptyIoCounters().latencyBucketsMs, Number.NaN)).toThrow(RangeError);
  });

  it('gives p50 and p95 of recorded operations', () => {
    const io = new IoAccounting();
    // 100 operations: 90 of 0.3 ms (bucket (0.25, 0.5]), 10 of 7 ms (bucket (5, 10])
    for (let i = 0; i < 90; i++) io.record('p', 'v', 'read', 1, 0.3);
    for (let i = 0; i < 10; i++) io.record('p', 'v', 'read', 1, 7);
    const { p50, p95 } = latencyPercentiles(io.snapshot().volumes['v']!);
    expect(p50).toBeCloseTo(0.25 + (0.25 * 50) / 90, 10);
    expect(p95).toBeCloseTo(5 + (5 * 5) / 10, 10);
  });
});
