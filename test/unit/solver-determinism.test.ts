// The solver's plans do not depend on the machine's speed: the same instance solved under a normal
// clock, under one running 5× faster and under one that jumps to 60% of the limit first (both still
// within the limit) gives the same result, whatever stage produced it; only the hard limit cuts the
// search, and then the result says so. (A clock that says the limit is all but spent cannot be used
// here: the LP worker's wait is real time, so the hard limit then rightly cuts it.)
import { describe, expect, test } from 'vitest';
import { fleetPolicy, generateFleet, solvePlacement, verifyPlacement, type SolveResult } from '../../src/solver/index.js';
import type { Inventory } from '../../src/model/index.js';
import type { CompiledPolicy } from '../../src/policy/index.js';

const normal = (): number => performance.now();
/** Time runs 5× faster. */
const fast = (): (() => number) => {
  const start = performance.now();
  return () => 5 * (performance.now() - start);
};

/** Time jumps to 60% of the limit after the first look, then runs 5× faster (earlier solvers skipped their polish here). */
const jump = (limitMs: number): (() => number) => {
  const start = performance.now();
  let first = true;
  return () => (first ? ((first = false), 0) : 0.6 * limitMs + 5 * (performance.now() - start));
};

/** Everything a caller sees except the measured time. */
function fingerprint(r: SolveResult): string {
  return JSON.stringify({ ...r, quality: { ...r.quality, solveMs: 0 } });
}

interface Case {
  readonly name: string;
  readonly inv: () => Inventory;
  readonly pol: (inv: Inventory) => CompiledPolicy;
  readonly limitMs: number;
  /** What shows the intended path was taken. */
  readonly path: (r: SolveResult) => void;
}

const cases: Case[] = [
  {
    name: 'tiny, exact MIP solved to the end',
    inv: () => generateFleet({ volumes: 20, pools: 3, seed: 1 }),
    pol: (inv) => fleetPolicy(inv),
    limitMs: 60_000,
    path: (r) => {
      expect(r.candidates?.['mip']).toBeDefined();
      expect(r.notes.join('\n')).not.toMatch(/node limit/);
    },
  },
  {
    name: 'tiny, exact MIP stopped by its node limit',
    inv: () => generateFleet({ volumes: 150, pools: 6, seed: 3 }),
    pol: (inv) => fleetPolicy(inv),
    limitMs: 60_000,
    path: (r) => {
      expect(r.notes.join('\n')).toMatch(/exact MIP stopped at its node limit/);
    },
  },
  {
    name: 'mid, LP + rounding + polish',
    inv: () => generateFleet({ volumes: 2_000, pools: 20, seed: 1 }),
    pol: (inv) => fleetPolicy(inv, { costWeight: 0, balanceWeight: 1 }),
    limitMs: 120_000,
    path: (r) => {
      expect(r.candidates?.['mip']).toBeUndefined();
      expect(r.candidates?.['lp-round']).toBeDefined();
      expect(r.quality.method).toBe('lp-round+polish');
      expect(r.notes.join('\n')).toMatch(/polished lp-round with \d+ round\(s\) of full local search \(\d+ destination evaluations/);
    },
  },
  {
    // a small fleet with many pools: the dense tableau is too big, so the LP is split by zone (this
    // generated fleet has pools no plan can fix, so the comparison rests on every candidate's
    // objective and GiB moved, the LP's sizes and the notes)
    name: 'many pools, LP split into zones',
    inv: () => generateFleet({ volumes: 600, pools: 150, seed: 3 }),
    pol: (inv) => fleetPolicy(inv, { costWeight: 0, balanceWeight: 1 }),
    limitMs: 300_000,
    path: (r) => {
      expect(r.notes.join('\n')).toMatch(/the LP was split into 3 independent parts \(zones\)/);
      expect(r.candidates?.['lp-round']).toBeDefined();
      expect(r.lp?.pruned).toBe(true);
    },
  },
];

describe('solver determinism: the plan does not depend on speed', () => {
  test.each(cases)('$name: a 5× faster clock (from the start, or from 60% of the limit) gives the same result', async (c) => {
    const inv = c.inv();
    const pol = c.pol(inv);
    const a = await solvePlacement(inv, pol, { now: normal, timeLimitMs: c.limitMs });
    c.path(a);
    expect(a.quality.timeLimited).toBe(false);
    for (const now of [fast(), jump(c.limitMs)]) {
      const b = await solvePlacement(inv, pol, { now, timeLimitMs: c.limitMs });
      expect(b.quality.timeLimited).toBe(false);
      expect(b.placement).toEqual(a.placement);
      expect(fingerprint(b)).toBe(fingerprint(a));
      expect(b.quality.solveMs).toBeGreaterThan(a.quality.solveMs);
    }
  }, 120_000);
});

describe('the hard time limit', () => {
  test.each([
    { name: 'a real clock, 1 ms', now: normal },
    // a clock that moves 10 ms at every look: every stage after the greedy plans is skipped
    { name: 'a stepping clock, 1 ms', now: ((t) => () => (t += 10))(0) },
  ])('$name: sets timeLimited, says which stage it cut, still a valid plan', async ({ now }) => {
    const inv = generateFleet({ volumes: 2_000, pools: 20, seed: 1 });
    const pol = fleetPolicy(inv);
    const r = await solvePlacement(inv, pol, { now, timeLimitMs: 1 });
    expect(r.quality.timeLimited).toBe(true);
    expect(r.notes.join('\n')).toMatch(/the time limit \(1 ms\) was hit: the LP stage was skipped/);
    expect(r.violations).toEqual([]);
    expect(verifyPlacement(inv, pol, r.placement)).toEqual([]);
    expect(r.quality.method).toMatch(/^greedy/);
  });
});
