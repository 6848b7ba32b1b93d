/**
 * Seeded generator of realistic fleets (an {@link Inventory}) and a matching policy, for tests,
 * the simulator and the benches: skewed fills (a quarter of the pools start hot), three classes of
 * pool (fast NVMe/SSD, standard SSD/HDD, capacity HDD) with prices and rated IOPS, three zones,
 * log-normal volume sizes, attached volumes, volumes Cinder cannot move (snapshots), anti-affinity
 * labels, and an optional drained pool. Pure: a mulberry32 PRNG, no clock.
 *
 * @module
 */
import { INVENTORY_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume } from '../model/index.js';
import { compilePolicyFiles, type CompiledPolicy } from '../policy/index.js';
import { AppError, mulberry32 } from '../shared/index.js';

export interface FleetOptions {
  readonly volumes: number;
  readonly pools: number;
  readonly seed: number;
  /** Drain the second pool (index 1). */
  readonly drain?: boolean;
  /** Share of used capacity over usable capacity, fleet-wide; default 0.62. */
  readonly fill?: number;
  /** Share of volumes in anti-affinity pairs or triples; default 0.01. */
  readonly antiAffinityShare?: number;
}


const CLASSES = [
  { backend: 'fast', tiers: ['nvme', 'ssd'], price: [0.14, 0.2], iopsPerGiB: 30 },
  { backend: 'std', tiers: ['ssd', 'hdd'], price: [0.07, 0.11], iopsPerGiB: 6 },
  { backend: 'cap', tiers: ['hdd'], price: [0.025, 0.045], iopsPerGiB: 0.6 },
] as const;
const TYPES = ['nvme', 'ssd', 'hdd'] as const;
export const FLEET_EPOCH_MS = 1_790_000_000_000;

/** Pool name of index p in a generated fleet. */
export function fleetPoolName(p: number): string {
  const cls = CLASSES[p % 3]!;
  return `node${Math.floor(p / 3) % 3}@${cls.backend}#p${String(p).padStart(4, '0')}`;
}

/** A generated fleet. Same options → the same inventory, byte for byte. */
export function generateFleet(o: FleetOptions): Inventory {
  if (!(o.volumes >= 1 && o.pools >= 3)) throw new AppError('INVALID_INPUT', `a fleet needs at least 1 volume and 3 pools (got ${o.volumes} × ${o.pools})`);
  const rnd = mulberry32(o.seed * 7919 + o.volumes * 31 + o.pools);
  const U = (a: number, b: number): number => a + (b - a) * rnd();
  const gauss = (): number => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const V = o.volumes;
  const P = o.pools;
  const sizes = Array.from({ length: V }, () => Math.min(16384, Math.max(1, Math.round(Math.exp(Math.log(80) + 1.2 * gauss())))));
  const S = sizes.reduce((s, x) => s + x, 0);
  const w = Array.from({ length: P }, () => U(0.5, 1.5));
  const wsum = w.reduce((s, x) => s + x, 0);
  const totalUsable = S / (o.fill ?? 0.62);
  const cap = w.map((x) => Math.max(100, Math.round((totalUsable * x) / wsum / 0.95)));
  const target = cap.map((c) => c * 0.95 * (rnd() < 0.25 ? U(0.9, 0.99) : U(0.4, 0.7)));
  const tsum = target.reduce((s, x) => s + x, 0);
  for (let p = 0; p < P; p++) target[p] = (target[p] as number) * (S / tsum);
  const order = sizes.map((_, i) => i).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || a - b);
  const cur = new Int32Array(V);
  const load = new Float64Array(P);
  for (const v of order) {
    let tot = 0;
    for (let p = 0; p < P; p++) tot += Math.max(1e-9, (target[p] as number) - (load[p] as number));
    let r = rnd() * tot;
    let pick = P - 1;
    for (let p = 0; p < P; p++) {
      r -= Math.max(1e-9, (target[p] as number) - (load[p] as number));
      if (r <= 0) {
        pick = p;
        break;
      }
    }
    cur[v] = pick;
    load[pick] = (load[pick] as number) + (sizes[v] as number);
  }
  const volumes: InventoryVolume[] = [];
  const iopsOn = new Float64Array(P);
  const groupsWanted = Math.floor((V * (o.antiAffinityShare ?? 0.01)) / 2.4);
  for (let v = 0; v < V; v++) {
    const p = cur[v] as number;
    const cls = CLASSES[p % 3]!;
    const type = cls.tiers.length === 1 ? cls.tiers[0] : rnd() < 0.45 ? cls.tiers[0] : cls.tiers[1];
    const size = sizes[v] as number;
    const dens = type === 'nvme' ? U(10, 30) : type === 'ssd' ? U(2, 8) : U(0.1, 0.5);
    const iops = Math.round(Math.min(type === 'nvme' ? 100000 : type === 'ssd' ? 16000 : 500, Math.max(10, size * dens)));
    iopsOn[p] = (iopsOn[p] as number) + iops;
    const attached = rnd() < 0.6;
    const snap = rnd() < 0.02 ? 1 : 0;
    const id = `vol-${String(v).padStart(7, '0')}`;
    volumes.push({
      id,
      name: `v${v}`,
      sizeGiB: size,
      pool: fleetPoolName(p),
      volumeTypeId: `type-${type}`,
      volumeType: type,
      projectId: `project-${Math.floor(rnd() * 8)}`,
      availabilityZone: `az${Math.floor(p / 3) % 3}`,
      metadata: { tier: rnd() < 0.3 ? 'cold' : 'warm' },
      status: attached ? 'in-use' : 'available',
      migrationStatus: null,
      attached,
      multiattach: false,
      snapshotCount: snap,
      groupId: null,
      replicated: false,
      perf: { iopsP95: iops, throughputP95BytesPerSec: iops * 16384 },
    });
  }
  // anti-affinity: pairs and triples of same-type, unattached volumes in one zone, on distinct pools (met today)
  const byTypeZone = new Map<string, number[]>();
  volumes.forEach((v, i) => {
    const k = `${v.volumeType}/${v.availabilityZone}`;
    byTypeZone.set(k, [...(byTypeZone.get(k) ?? []), i]);
  });
  const keys = [...byTypeZone.keys()].sort();
  const inGroup = new Set<number>();
  for (let g = 0, guard = 0; g < groupsWanted && guard < groupsWanted * 20; guard++) {
    const list = byTypeZone.get(keys[Math.floor(rnd() * keys.length)] as string) as number[];
    const k = rnd() < 0.6 ? 2 : 3;
    const members: number[] = [];
    const used = new Set<string>();
    for (let t = 0; t < 20 && members.length < k; t++) {
      const i = list[Math.floor(rnd() * list.length)] as number;
      const at = (volumes[i] as InventoryVolume).pool;
      if (!inGroup.has(i) && !members.includes(i) && !used.has(at)) {
        members.push(i);
        used.add(at);
      }
    }
    if (members.length < 2) continue;
    for (const i of members) {
      inGroup.add(i);
      const v = volumes[i] as InventoryVolume;
      volumes[i] = { ...v, attached: false, status: 'available', metadata: { ...v.metadata, 'replica-set': `rs${g}` } };
    }
    g++;
  }
  const classIops = [0, 0, 0];
  const classGib = [0, 0, 0];
  for (let p = 0; p < P; p++) {
    classIops[p % 3] = (classIops[p % 3] as number) + (iopsOn[p] as number);
    classGib[p % 3] = (classGib[p % 3] as number) + (load[p] as number);
  }
  const pools: InventoryPool[] = [];
  for (let p = 0; p < P; p++) {
    const c = p % 3;
    const cls = CLASSES[c]!;
    const total = cap[p] as number;
    const used = load[p] as number;
    const rated = Math.round(total * ((classIops[c] as number) / Math.max(1, classGib[c] as number)) * 1.15);
    const util = rated > 0 ? (iopsOn[p] as number) / rated : 0;
    const name = fleetPoolName(p);
    pools.push({
      name,
      backend: name.slice(0, name.indexOf('#')),
      volumeBackendName: cls.backend,
      availabilityZone: `az${Math.floor(p / 3) % 3}`,
      capacity: {
        totalCapacityGb: total,
        freeCapacityGb: Math.max(0, Math.round(total - used)),
        provisionedCapacityGb: used,
        maxOverSubscriptionRatio: 1,
        reservedPercentage: 5,
        thinProvisioningSupport: true,
        thickProvisioningSupport: true,
      },
      allocatedGiB: used,
      capabilities: { volume_backend_name: cls.backend, tier_nvme: cls.tiers.includes('nvme' as never), tier_ssd: cls.tiers.includes('ssd' as never), tier_hdd: cls.tiers.includes('hdd' as never) },
      ratedIops: rated,
      ratedThroughputBytesPerSec: rated * 65536,
      perf: { iopsMean: iopsOn[p] as number, iopsP95: iopsOn[p] as number, throughputMeanBytesPerSec: 0, throughputP95BytesPerSec: 0, latencyP50Ms: 1 + util * 4, latencyP95Ms: 2 + util * 20 },
      costPerGiBMonth: Math.round(U(cls.price[0], cls.price[1]) * 1000) / 1000,
      growthGiBPerDay: null,
      state: 'up',
      sampledAtMs: FLEET_EPOCH_MS,
    });
  }
  return {
    schema: INVENTORY_SCHEMA,
    id: `fleet-${V}x${P}-s${o.seed}${o.drain ? '-drain' : ''}`,
    takenAtMs: FLEET_EPOCH_MS,
    source: { kind: 'generated', name: `generateFleet(${V}, ${P}, seed ${o.seed})` },
    pools,
    volumes: [...volumes].sort((a, b) => (a.id < b.id ? -1 : 1)),
    volumeTypes: TYPES.map((t) => ({ id: `type-${t}`, name: t, extraSpecs: { [`capabilities:tier_${t}`]: '<is> True' } })),
    freshness: { windowMs: 86_400_000, oldestSampleAtMs: FLEET_EPOCH_MS, store: 'none' },
  };
}

export interface FleetPolicyOptions {
  /** Drain this pool (by name). */
  readonly drainPool?: string;
  /** Per-run budgets; default: none. */
  readonly maxMoves?: number;
  readonly maxBytes?: string;
  readonly maxUtilization?: string;
  readonly balanceWeight?: number;
  readonly costWeight?: number;
  /** Move cost per GiB; default 0.1 / (GiB in the fleet), so moving everything costs 0.1. */
  readonly moveCostPerGiB?: number;
  readonly minGain?: string;
}

/** A policy for a generated fleet, compiled through the policy language (YAML). */
export function fleetPolicy(inv: Inventory, o: FleetPolicyOptions = {}): CompiledPolicy {
  const S = inv.volumes.reduce((s, v) => s + v.sizeGiB, 0);
  const budgets = [o.maxMoves !== undefined ? `    maxMoves: ${o.maxMoves}` : '', o.maxBytes !== undefined ? `    maxBytes: ${o.maxBytes}` : ''].filter((x) => x);
  const base = [
    'apiVersion: ballast.io/v1',
    'kind: PlacementPolicy',
    'metadata:',
    '  name: fleet-base',
    'constraints:',
    '  capacity:',
    `    maxUtilization: ${o.maxUtilization ?? '85%'}`,
    '  keepWithinAvailabilityZone: true',
    '  allowInUse: true',
    '  antiAffinity:',
    '    - labelKey: replica-set',
    '      across: pool',
    ...(budgets.length ? ['  budgets:', ...budgets] : []),
    'objectives:',
    '  balance:',
    `    weight: ${o.balanceWeight ?? 0.2}`,
    '  cost:',
    `    weight: ${o.costWeight ?? 1}`,
    '  moveCost:',
    `    perGiB: ${(o.moveCostPerGiB ?? 0.1 / Math.max(1, S)).toPrecision(6)}`,
    `  minGain: ${o.minGain ?? '0%'}`,
  ].join('\n');
  const files = [{ file: 'fleet-base.yaml', text: `${base}\n` }];
  if (o.drainPool) {
    files.push({
      file: 'fleet-drain.yaml',
      text: ['apiVersion: ballast.io/v1', 'kind: PlacementPolicy', 'metadata:', '  name: fleet-drain', 'priority: 10', 'scope:', '  pools:', `    - "${o.drainPool}"`, 'constraints:', '  drainPools:', `    - "${o.drainPool}"`, ''].join('\n'),
    });
  }
  const r = compilePolicyFiles(files);
  if (!r.policy) throw new AppError('INTERNAL', `generated fleet policy does not compile: ${r.problems.map((p) => p.message).join('; ')}`);
  return r.policy;
}
