/**
 * Builders for planner tests: inventories, compiled policies (from real YAML through the policy
 * compiler) and solver results written by hand as input data.
 */
import { checkPolicies, type CompiledPolicy } from '../../src/policy/index.js';
import { INVENTORY_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume, type InventoryVolumeType, type Plan, type PlanQuality } from '../../src/model/index.js';
import { makePlan } from '../../src/planner/index.js';
import type { SolveResult } from '../../src/solver/index.js';

/** A thick pool `ballast@<backend>#<name>` of `totalGiB`, holding `allocatedGiB`. */
export function pool(
  name: string,
  totalGiB: number,
  allocatedGiB: number,
  opts: { backend?: string; az?: string; location?: string | null; caps?: Record<string, string | number | boolean>; reservedPct?: number; thin?: boolean } = {},
): InventoryPool {
  const backend = opts.backend ?? 'fast';
  const location = opts.location === undefined ? `raw:ballast@${backend}:${name}:2049` : opts.location;
  return {
    name: `ballast@${backend}#${name}`,
    backend: `ballast@${backend}`,
    volumeBackendName: backend,
    availabilityZone: opts.az ?? 'nova',
    capacity: {
      totalCapacityGb: totalGiB,
      freeCapacityGb: totalGiB - allocatedGiB,
      provisionedCapacityGb: allocatedGiB,
      maxOverSubscriptionRatio: 1,
      reservedPercentage: opts.reservedPct ?? 0,
      thinProvisioningSupport: opts.thin ?? false,
      thickProvisioningSupport: !(opts.thin ?? false),
    },
    allocatedGiB,
    capabilities: { ...(location === null ? {} : { location_info: location }), ...(opts.caps ?? {}) },
    ratedIops: null,
    ratedThroughputBytesPerSec: null,
    perf: null,
    costPerGiBMonth: null,
    growthGiBPerDay: null,
    state: 'up',
    sampledAtMs: 1_000,
  };
}

/** A volume on `poolName` (a full `host@backend#pool`). */
export function volume(id: string, poolName: string, sizeGiB: number, opts: Partial<InventoryVolume> = {}): InventoryVolume {
  return {
    id,
    name: `vol-${id}`,
    sizeGiB,
    pool: poolName,
    volumeTypeId: `t-${opts.volumeType ?? 'any'}`,
    volumeType: 'any',
    projectId: 'p1',
    availabilityZone: 'nova',
    metadata: {},
    status: opts.attached ? 'in-use' : 'available',
    migrationStatus: null,
    attached: false,
    multiattach: false,
    snapshotCount: 0,
    groupId: null,
    replicated: false,
    perf: null,
    ...opts,
  };
}

export const TYPES: InventoryVolumeType[] = [
  { id: 't-any', name: 'any', extraSpecs: {} },
  { id: 't-gold', name: 'gold', extraSpecs: { 'capabilities:tier': 'gold' } },
];

/** An inventory whose pools' allocated capacity is the sum of their volumes (unless given). */
export function inventory(pools: InventoryPool[], volumes: InventoryVolume[], types: InventoryVolumeType[] = TYPES): Inventory {
  return {
    schema: INVENTORY_SCHEMA,
    id: 'inv-test',
    takenAtMs: 1_700_000_000_000,
    source: { kind: 'generated', name: 'planner tests' },
    pools: [...pools].sort((a, b) => (a.name < b.name ? -1 : 1)),
    volumes: [...volumes].sort((a, b) => (a.id < b.id ? -1 : 1)),
    volumeTypes: types,
    freshness: { windowMs: 0, oldestSampleAtMs: 1_000, store: 'none' },
  };
}

/** Compiles policy YAML documents (each a whole file) with the real policy compiler. */
export function policyOf(...texts: string[]): CompiledPolicy {
  const r = checkPolicies(texts.map((text, i) => ({ file: `p${i}.yaml`, text })));
  if (!r.policy) throw new Error(`test policy invalid:\n${r.problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
  return r.policy;
}

/** A minimal policy: a utilization limit, min gain, budgets and concurrency as given. */
export function basicPolicy(o: { maxUtil?: string; minGain?: string; maxMoves?: number; perPool?: number; total?: number; inUse?: number; forceHostCopy?: boolean; extraConstraints?: string } = {}): CompiledPolicy {
  return policyOf(`apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata: { name: base }
constraints:
  capacity: { maxUtilization: ${o.maxUtil ?? '90%'} }
${o.maxMoves !== undefined ? `  budgets: { maxMoves: ${o.maxMoves} }\n` : ''}${o.extraConstraints ?? ''}
objectives:
  minGain: ${o.minGain ?? '1%'}
  cost:
    pricing:
      - { pools: "ballast@fast#*", perGiBMonth: 0.2 }
    defaultPerGiBMonth: 0.05
execution:
  maxConcurrent: { total: ${o.total ?? 4}, perPool: ${o.perPool ?? 2}, inUse: ${o.inUse ?? 1} }
  forceHostCopy: ${o.forceHostCopy ?? false}
  planValidFor: 15m
`);
}

export function quality(before: number, after: number, bound: number | null = null): PlanQuality {
  return {
    method: 'lp-round',
    engine: 'jslp',
    objectiveBefore: before,
    objectiveAfter: after,
    bound,
    improvementLeft: bound === null || before === bound ? null : (after - bound) / (before - bound),
    terms: [
      { name: 'balance', weight: 1, before, after },
      { name: 'moveCost', weight: 0.002, before: 0, after: 0.01 },
    ],
    solveMs: 12.5,
    timeLimited: false,
  };
}

/** A verified solver result placing volumes as `moves` says (volume id → pool), others unchanged. */
export function solved(inv: Inventory, moves: Record<string, string>, opts: { before?: number; after?: number; serves?: Record<string, string[]> } = {}): SolveResult {
  const placement: Record<string, string> = {};
  for (const v of inv.volumes) placement[v.id] = moves[v.id] ?? v.pool;
  const reasons: Record<string, { serves: string[]; reason: string }> = {};
  for (const [id, to] of Object.entries(moves)) {
    const serves = opts.serves?.[id] ?? ['objective:balance'];
    reasons[id] = { serves, reason: `${serves.join(', ')}: lowers the fullest pool (to ${to})` };
  }
  return {
    placement,
    quality: quality(opts.before ?? 1, opts.after ?? 0.5, 0.45),
    violations: [],
    fixed: [],
    reasons,
    infeasibility: null,
    notes: [],
  };
}

/** A small fixed fleet: drain hdd-b (a rule) while balancing the SSDs; one volume is attached. */
export function goldenPlan(): Plan {
  const ssdA = pool('ssd-a', 100, 85, { caps: { tier: 'gold' } });
  const ssdB = pool('ssd-b', 100, 40, { caps: { tier: 'gold' } });
  const hddA = pool('hdd-a', 200, 150, { backend: 'capacity', location: 'chunked:ballast@capacity:hdd-a:4' });
  const hddB = pool('hdd-b', 100, 60, { backend: 'capacity', location: 'chunked:ballast@capacity:hdd-b:4' });
  const vols = [
    volume('0001', ssdA.name, 45, { name: 'db|primary' }),
    volume('0002', ssdA.name, 40, { name: 'logs' }),
    volume('0003', ssdB.name, 40, { name: 'web', attached: true }),
    volume('0004', hddA.name, 150, { name: 'archive' }),
    volume('0005', hddB.name, 40, { name: 'backup_1' }),
    volume('0006', hddB.name, 20, { name: 'scratch', attached: true }),
  ];
  const inv = inventory([ssdA, ssdB, hddA, hddB], vols);
  const policy = policyOf(
    `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata: { name: default-balance }
constraints:
  capacity: { maxUtilization: 85% }
  allowInUse: true
objectives:
  minGain: 2%
  cost:
    pricing:
      - { pools: "ballast@fast#*", perGiBMonth: 0.20 }
      - { pools: "ballast@capacity#*", perGiBMonth: 0.03 }
execution:
  maxConcurrent: { total: 2, perPool: 1 }
  planValidFor: 30m
`,
    `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata: { name: drain-hdd-b }
priority: 10
scope: { pools: ["ballast@capacity#hdd-b"] }
constraints:
  drainPools: ["ballast@capacity#hdd-b"]
`,
  );
  // backup_1 (40 GiB) fits on ssd-a only once db|primary (45 GiB) has left it for ssd-b.
  const solve = {
    ...solved(
      inv,
      { '0001': ssdB.name, '0005': ssdA.name, '0006': hddA.name },
      { before: 1.25, after: 0.9, serves: { '0001': ['objective:balance'], '0005': ['drain-hdd-b'], '0006': ['drain-hdd-b'] } },
    ),
    fixed: [{ volumeId: '0004', reason: 'pinned' }],
    notes: ['budget: 3 of 20 moves used'],
  };
  return makePlan(inv, policy, solve, { planId: 'plan-golden', nowMs: Date.UTC(2026, 10, 22, 1, 0, 0), policyDigest: 'sha256:0123abcd' });
}
