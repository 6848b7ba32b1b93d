/**
 * From a solver result to a plan: the placement diff becomes moves (kind, size, reason), the
 * minimum-gain rule is applied, the moves are ordered so no pool exceeds its headroom mid-plan,
 * and the plan is measured (per-pool before/after/peak, bytes, cost). Pure: ids and time come in.
 *
 * @module
 */
import { PLAN_SCHEMA, type Inventory, type InventoryPool, type InventoryVolume, type InventoryVolumeType, type Move, type MoveKind, type Plan, type PlanQuality } from '../model/index.js';
import { matchesGlob, resolveVolume, type CompiledPolicy } from '../policy/index.js';
import { AppError, GiB as GIB_BYTES } from '../shared/index.js';
import type { SolveResult } from '../solver/index.js';
import { classifyMove, poolServesType } from './classify.js';
import { monthlyCost } from './cost.js';
import { isThinRequest, poolRoom, type PoolRoom } from './headroom.js';
import { orderMoves, type DraftMove } from './order.js';
import { simulatePlan } from './simulate.js';

/** What a plan needs besides the inventory, the policy and the solve. */
export interface MakePlanOptions {
  readonly planId: string;
  /** When the plan is made (ms since the epoch); it expires `execution.planValidForMs` later. */
  readonly nowMs: number;
  /** sha256 of the compiled policy. */
  readonly policyDigest: string;
  /**
   * Volume id → new volume type name, for type changes. The solver changes only pools today; a
   * retype whose pool stays becomes a retype in place when the pool supports the new type.
   */
  readonly retypes?: Readonly<Record<string, string>>;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
const pct = (x: number) => `${r2(x)}%`;

/** Relative improvement of the objective, in percent (lower objective is better). */
export function gainPct(q: Pick<PlanQuality, 'objectiveBefore' | 'objectiveAfter'>): number {
  const { objectiveBefore: b, objectiveAfter: a } = q;
  if (a >= b) return 0;
  return b > 0 ? ((b - a) / b) * 100 : Infinity;
}

interface Index {
  readonly pools: ReadonlyMap<string, InventoryPool>;
  readonly types: ReadonlyMap<string, InventoryVolumeType>;
  readonly volumes: ReadonlyMap<string, InventoryVolume>;
}

function facts(v: InventoryVolume, pool: InventoryPool) {
  return { id: v.id, name: v.name, volumeType: v.volumeType, projectId: v.projectId, metadata: v.metadata, pool: { name: pool.name, availabilityZone: pool.availabilityZone } };
}

/** The moves the placement asks for, before ordering; moves that cannot be made become notes. */
function draftMoves(inventory: Inventory, policy: CompiledPolicy, solve: SolveResult, idx: Index, retypes: Readonly<Record<string, string>>, notes: string[]): DraftMove[] {
  const drafts: DraftMove[] = [];
  for (const v of inventory.volumes) {
    const target = solve.placement[v.id] ?? v.pool;
    const newTypeName = retypes[v.id] !== undefined && retypes[v.id] !== v.volumeType ? retypes[v.id]! : null;
    if (target === v.pool && newTypeName === null) continue;
    const from = idx.pools.get(v.pool);
    const to = idx.pools.get(target);
    if (!from || !to) throw new AppError('INVALID_INPUT', `solver placement puts volume ${v.id} on ${target}, a pool the inventory does not have (from ${v.pool})`);
    const newType = newTypeName === null ? null : idx.types.get(newTypeName);
    if (newType === undefined) {
      notes.push(`volume ${v.name || v.id}: type ${newTypeName} is not in the inventory; not retyped`);
      continue;
    }
    if (newType !== null && target !== v.pool && policy.execution.retypeMigrationPolicy === 'never') {
      notes.push(`volume ${v.name || v.id}: retype to ${newType.name} needs a migration but execution.retype.migrationPolicy is never; not moved`);
      continue;
    }
    const c = classifyMove(v, from, to, { forceHostCopy: policy.execution.forceHostCopy, oldType: idx.types.get(v.volumeType) ?? null, newType });
    if (!c.ok) {
      notes.push(`volume ${v.name || v.id}: ${c.why}; not moved`);
      continue;
    }
    const why = solve.reasons[v.id];
    const serves = [...(why?.serves ?? [])].sort();
    drafts.push({
      volumeId: v.id,
      volumeName: v.name,
      sizeGiB: v.sizeGiB,
      from: from.name,
      to: to.name,
      kind: c.kind,
      newVolumeType: newType?.name ?? null,
      attached: v.attached,
      reason: why?.reason ?? (newType ? `retype to ${newType.name}` : 'placed elsewhere by the solver'),
      serves,
      hard: serves.some((s) => !s.startsWith('objective:')),
    });
  }
  return drafts;
}

/** Applies the minimum-gain rule; returns the drafts to keep. */
function applyMinGain(drafts: DraftMove[], policy: CompiledPolicy, solve: SolveResult, notes: string[]): DraftMove[] {
  if (drafts.length === 0) return drafts;
  const gain = gainPct(solve.quality);
  const min = policy.objectives.minGainPct;
  if (gain >= min) return drafts;
  const rules = [...new Set(drafts.filter((d) => d.hard).flatMap((d) => d.serves.filter((s) => !s.startsWith('objective:'))))].sort();
  if (rules.length > 0) {
    notes.push(`min-gain: the objective improves by ${pct(gain)} (< minGain ${pct(min)}), but moves are required by ${rules.join(', ')}; the plan is kept`);
    return drafts;
  }
  notes.push(`min-gain: the objective would improve by ${pct(gain)}, less than minGain ${pct(min)}: no move proposed (${drafts.length} considered)`);
  return [];
}

/** Builds the plan (see the module comment). Throws `PLAN_REFUSED` when the verifier found violations. */
export function makePlan(inventory: Inventory, policy: CompiledPolicy, solve: SolveResult, opts: MakePlanOptions): Plan {
  if (solve.violations.length > 0) {
    const shown = solve.violations.slice(0, 5).map((v) => `[${v.constraint}] ${v.message}`);
    throw new AppError('PLAN_REFUSED', `the placement breaks ${solve.violations.length} hard constraint(s); no plan made:\n${shown.join('\n')}`, {
      details: { violations: solve.violations.length },
    });
  }
  const idx: Index = {
    pools: new Map(inventory.pools.map((p) => [p.name, p])),
    types: new Map(inventory.volumeTypes.map((t) => [t.name, t])),
    volumes: new Map(inventory.volumes.map((v) => [v.id, v])),
  };
  const notes: string[] = [...solve.notes];
  if (solve.infeasibility) {
    notes.push(...solve.infeasibility.conflicts.map((c) => `infeasible: ${c}`), ...solve.infeasibility.relaxations.map((r) => `closest relaxation: ${r}`));
  }
  const fixedByReason = new Map<string, number>();
  for (const f of solve.fixed) fixedByReason.set(f.reason, (fixedByReason.get(f.reason) ?? 0) + 1);
  if (fixedByReason.size > 0) {
    notes.push(`${solve.fixed.length} volume(s) cannot move: ${[...fixedByReason.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, n]) => `${n} ${r}`).join(', ')}`);
  }

  const all = draftMoves(inventory, policy, solve, idx, opts.retypes ?? {}, notes);
  const drafts = applyMinGain(all, policy, solve, notes);
  const emptied = all.length > 0 && drafts.length === 0;

  const rooms = poolRooms(inventory, policy, drafts, idx);
  const typeOf = (d: DraftMove) => idx.types.get(d.newVolumeType ?? idx.volumes.get(d.volumeId)!.volumeType);
  const ordered = orderMoves({
    drafts,
    roomGiB: (p) => rooms.get(p)!.roomGiB,
    stagingPools: (d) => stagingPools(policy, idx, rooms, d, typeOf(d)),
    kindOf: (d, from, to) => kindOf(policy, idx, d, from, to),
    spareMoves: policy.budgets.maxMoves === null ? Infinity : policy.budgets.maxMoves - drafts.length,
    spareGiB: policy.budgets.maxBytesMoved === null ? Infinity : policy.budgets.maxBytesMoved / GIB_BYTES - drafts.filter((d) => d.kind !== 'retype-in-place').reduce((s, d) => s + d.sizeGiB, 0),
  });
  if (ordered.staged > 0) notes.push(`${ordered.staged} volume(s) routed through a staging pool to break a cycle of full pools`);
  for (const { move, why } of ordered.dropped) notes.push(`dropped: ${move.volumeName || move.volumeId} ${move.from} -> ${move.to} (${move.sizeGiB} GiB): ${why}`);
  if (ordered.dropped.length > 0) notes.push(`the objective figures are the solver's for its whole placement; ${ordered.dropped.length} move(s) were dropped`);

  const moves: Move[] = ordered.moves.map((m, i) => ({
    id: moveId(i),
    volumeId: m.volumeId,
    volumeName: m.volumeName,
    sizeGiB: m.sizeGiB,
    from: m.from,
    to: m.to,
    kind: m.kind,
    newVolumeType: m.newVolumeType,
    attached: m.attached,
    reason: m.reason,
    serves: m.serves,
    dependsOn: m.dependsOn.map(moveId),
  }));
  const ex = policy.execution;
  if (moves.length > 0 && Math.min(ex.maxConcurrentTotal, ex.maxConcurrentPerPool, ex.maxConcurrentPerBackend) === 0) {
    notes.push('execution.maxConcurrent allows no move at all (a limit is 0): the executor will start none of these moves');
  } else if (ex.maxConcurrentInUse === 0 && moves.some((m) => m.attached)) {
    notes.push('execution.maxConcurrent.inUse is 0: the executor will not start the moves of attached volumes');
  }
  const finalPool = new Map<string, string>();
  for (const m of moves) finalPool.set(m.volumeId, m.to);
  const delta = new Map<string, number>();
  for (const m of moves.filter((x) => x.from !== x.to)) {
    delta.set(m.to, (delta.get(m.to) ?? 0) + m.sizeGiB);
    delta.set(m.from, (delta.get(m.from) ?? 0) - m.sizeGiB);
  }
  const sim = simulatePlan(
    ordered.moves,
    inventory.pools.map((p) => ({ name: p.name, backend: p.backend, usedGiB: p.allocatedGiB, usableGiB: rooms.get(p.name)!.usableGiB })),
    policy.execution,
  );
  const pools = [...inventory.pools]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => ({
      pool: p.name,
      capacityGiB: r2(rooms.get(p.name)!.usableGiB),
      usedBeforeGiB: r2(p.allocatedGiB),
      usedAfterGiB: r2(Math.max(0, p.allocatedGiB + (delta.get(p.name) ?? 0))),
      peakShare: r4(sim.peakShare.get(p.name) ?? 0),
      limitShare: rooms.get(p.name)!.limitShare,
    }));
  const quality: PlanQuality = emptied ? unchangedQuality(solve.quality) : solve.quality;
  return {
    schema: PLAN_SCHEMA,
    id: opts.planId,
    inventoryId: inventory.id,
    inventoryTakenAtMs: inventory.takenAtMs,
    createdAtMs: opts.nowMs,
    expiresAtMs: opts.nowMs + policy.execution.planValidForMs,
    policies: policy.rules.map((r) => r.name).sort(),
    policyDigest: opts.policyDigest,
    moves,
    pools,
    quality,
    totals: {
      moves: moves.length,
      bytes: Math.round(moves.filter((m) => m.kind !== 'retype-in-place').reduce((s, m) => s + m.sizeGiB, 0) * GIB_BYTES),
      costPerMonthBefore: monthlyCost(policy, inventory, (_id, cur) => cur),
      costPerMonthAfter: monthlyCost(policy, inventory, (id, cur) => finalPool.get(id) ?? cur),
    },
    notes,
  };
}

/** `m001`, `m002`, … (more digits past 999). */
export function moveId(index: number): string {
  return `m${String(index + 1).padStart(3, '0')}`;
}

function unchangedQuality(q: PlanQuality): PlanQuality {
  return {
    ...q,
    objectiveAfter: q.objectiveBefore,
    improvementLeft: q.bound === null ? null : 1,
    terms: q.terms.map((t) => ({ ...t, after: t.before })),
  };
}

function poolRooms(inventory: Inventory, policy: CompiledPolicy, drafts: readonly DraftMove[], idx: Index): Map<string, PoolRoom> {
  // A staging hop may bring any volume to any pool: every pool counts every request kind planned.
  const kinds = { thin: false, thick: false };
  for (const d of drafts) {
    if (isThinRequest(idx.types.get(d.newVolumeType ?? idx.volumes.get(d.volumeId)!.volumeType)?.extraSpecs)) kinds.thin = true;
    else kinds.thick = true;
  }
  if (!kinds.thin && !kinds.thick) kinds.thin = kinds.thick = true;
  return new Map(inventory.pools.map((p) => [p.name, poolRoom(policy, p, kinds)]));
}

function kindOf(policy: CompiledPolicy, idx: Index, d: DraftMove, from: string, to: string): MoveKind {
  const v = idx.volumes.get(d.volumeId)!;
  const newType = d.newVolumeType === null ? null : (idx.types.get(d.newVolumeType) ?? null);
  const c = classifyMove(v, idx.pools.get(from)!, idx.pools.get(to)!, { forceHostCopy: policy.execution.forceHostCopy, oldType: idx.types.get(v.volumeType) ?? null, newType });
  return c.ok ? c.kind : 'generic-copy';
}

/** Pools a volume may sit on for a while: up, serving its type, allowed by its rules and zone; most room first. */
function stagingPools(policy: CompiledPolicy, idx: Index, rooms: ReadonlyMap<string, PoolRoom>, d: DraftMove, type: InventoryVolumeType | undefined): string[] {
  const v = idx.volumes.get(d.volumeId)!;
  const resolved = resolveVolume(policy, facts(v, idx.pools.get(v.pool)!));
  const home = idx.pools.get(v.pool)!;
  return [...idx.pools.values()]
    .filter((p) => p.state === 'up' && p.name !== d.from && p.name !== d.to)
    .filter((p) => type === undefined || poolServesType(p, type))
    .filter((p) => !resolved.keepWithinAvailabilityZone || p.availabilityZone === home.availabilityZone)
    .filter((p) => !resolved.forbiddenDestinationPatterns.some((g) => matchesGlob(g, p.name)))
    .sort((a, b) => rooms.get(b.name)!.roomGiB - rooms.get(a.name)!.roomGiB || (a.name < b.name ? -1 : 1))
    .map((p) => p.name);
}
