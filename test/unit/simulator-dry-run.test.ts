/**
 * Dry run of a plan: the production executor runs a plan against a simulated copy of the fleet on
 * the discrete-event clock; the predicted makespan follows the timing model and the policy's
 * concurrency limits, and the real fleet (the inventory) is never touched.
 */
import { describe, expect, test } from 'vitest';
import { PLAN_SCHEMA, type Move, type Plan } from '../../src/model/index.js';
import { compilePolicyFiles, type CompiledPolicy } from '../../src/policy/index.js';
import { dryRunPlan, soloMoveMs, type TimingModel } from '../../src/simulator/index.js';
import { GiB, inventory, MiB, pool, T0, volume } from './simulator-fixtures.js';

const TIMING: TimingModel = {
  defaultPool: { readBytesPerSec: 200 * MiB, writeBytesPerSec: 200 * MiB },
  pools: {},
  linkBytesPerSec: null,
  moveOverheadMs: 20_000,
  liveWriteBytesPerSec: 0,
  failureProbability: 0,
  failureProbabilityByBackend: {},
};
const POLL_MS = 5_000;

function policy(total: number): CompiledPolicy {
  const text = `apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: p\nconstraints:\n  allowInUse: true\nexecution:\n  maxConcurrent:\n    total: ${total}\n    perPool: ${total}\n    perBackend: ${total}\n  planValidFor: 1h\n`;
  const r = compilePolicyFiles([{ file: 'p.yaml', text }]);
  if (!r.policy) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}

const INV = inventory(
  [pool('cap', 'a', 1000), pool('cap', 'b', 1000), pool('cap', 'c', 1000), pool('cap', 'd', 1000)],
  [volume(1, 'ballast@cap#a', 100), volume(2, 'ballast@cap#a', 50), volume(3, 'ballast@cap#c', 80)],
);

function plan(moves: [string, string, string, number][]): Plan {
  const ms: Move[] = moves.map(([volumeId, from, to, sizeGiB], i) => ({
    id: `m${String(i + 1).padStart(3, '0')}`,
    volumeId,
    volumeName: volumeId,
    sizeGiB,
    from,
    to,
    kind: 'driver-assisted',
    newVolumeType: null,
    attached: false,
    reason: 'test',
    serves: ['objective:balance'],
    dependsOn: [],
  }));
  return {
    schema: PLAN_SCHEMA,
    id: 'plan-test',
    inventoryId: INV.id,
    inventoryTakenAtMs: T0,
    createdAtMs: T0,
    expiresAtMs: T0 + 3_600_000,
    policies: ['p'],
    policyDigest: 'x',
    moves: ms,
    pools: [],
    quality: { method: 'greedy', engine: 'none', objectiveBefore: 1, objectiveAfter: 0.9, bound: null, improvementLeft: null, terms: [], solveMs: 0, timeLimited: false },
    totals: { moves: ms.length, bytes: ms.reduce((s, m) => s + m.sizeGiB * GiB, 0), costPerMonthBefore: 0, costPerMonthAfter: 0 },
    notes: [],
  };
}

const solo = (gib: number, from: string, to: string): number => soloMoveMs(gib * GiB, [`read:${from}`, `write:${to}`], false, TIMING);

describe('dryRunPlan', () => {
  test('one move at a time: the makespan is the sum of the moves, plus at most one poll between them', async () => {
    const p = plan([
      ['vol-001', 'ballast@cap#a', 'ballast@cap#b', 100],
      ['vol-002', 'ballast@cap#a', 'ballast@cap#d', 50],
    ]);
    const before = JSON.stringify(INV);
    const r = await dryRunPlan(INV, p, policy(1), { timing: TIMING });
    const sum = solo(100, 'ballast@cap#a', 'ballast@cap#b') + solo(50, 'ballast@cap#a', 'ballast@cap#d');
    expect(r.state).toBe('finished');
    expect(r.moves.map((m) => m.phase)).toEqual(['success', 'success']);
    expect(r.makespanMs).toBeGreaterThanOrEqual(sum);
    expect(r.makespanMs).toBeLessThanOrEqual(sum + POLL_MS);
    expect(r.moves[1]!.acceptedAtMs).toBeGreaterThanOrEqual(r.moves[0]!.finishedAtMs!);
    expect(r.poolsTouched).toEqual(['ballast@cap#a', 'ballast@cap#b', 'ballast@cap#d']);
    // b holds the 100 GiB move's reservation at its peak; a never goes above where it started.
    expect(r.peakShare).toEqual({ 'ballast@cap#a': 0.15, 'ballast@cap#b': 0.1, 'ballast@cap#d': 0.05 });
    expect(JSON.stringify(INV)).toBe(before);
  });

  test('two moves at once on disjoint pools: the makespan is the longer one', async () => {
    const p = plan([
      ['vol-001', 'ballast@cap#a', 'ballast@cap#b', 100],
      ['vol-003', 'ballast@cap#c', 'ballast@cap#d', 80],
    ]);
    const r = await dryRunPlan(INV, p, policy(2), { timing: TIMING });
    expect(r.moves.map((m) => m.acceptedAtMs)).toEqual([T0, T0]);
    expect(Math.abs(r.makespanMs - solo(100, 'ballast@cap#a', 'ballast@cap#b'))).toBeLessThanOrEqual(2);
  });

  test('two moves at once from one pool share its bandwidth', async () => {
    const p = plan([
      ['vol-001', 'ballast@cap#a', 'ballast@cap#b', 100],
      ['vol-002', 'ballast@cap#a', 'ballast@cap#d', 50],
    ]);
    const r = await dryRunPlan(INV, p, policy(2), { timing: TIMING });
    // 150 GiB through a's 200 MiB/s read, plus the overhead.
    expect(Math.abs(r.makespanMs - (20_000 + ((150 * GiB) / (200 * MiB)) * 1000))).toBeLessThanOrEqual(2);
  });
});
