/**
 * `plan --explain VOLUME`: why a volume stays or moves: where it may go and why other pools are
 * closed to it, and what its best single move would gain against what moving costs and the
 * minimum gain a plan must reach.
 *
 * @module
 */
import type { Inventory } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError } from '../shared/index.js';
import { buildContext, type PoolInfo } from './context.js';
import { CONSTRAINTS } from './constraints/registry.js';
import { bestDest } from './engine/greedy.js';
import { Pricing, State } from './engine/state.js';
import { capShare } from './objectives/common.js';
import type { SolveResult } from './types.js';
import { toIndices } from './verify.js';

const pct = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const MAX_LISTED = 20;

/** Lines explaining one volume's fate in a solve result. Throws VOLUME_NOT_FOUND for an unknown id or name. */
export function explainVolume(inventory: Inventory, policy: CompiledPolicy, result: SolveResult, volumeId: string): string[] {
  const ctx = buildContext(inventory, policy);
  const vi = ctx.vols.find((x) => x.v.id === volumeId) ?? ctx.vols.find((x) => x.v.name === volumeId);
  if (!vi) throw new AppError('VOLUME_NOT_FOUND', `no volume ${volumeId} in inventory ${inventory.id}`);
  const out: string[] = [];
  const cur = ctx.pools[vi.cur];
  const { indices } = toIndices(ctx, result.placement);
  const dest = ctx.pools[indices[vi.idx] as number];
  out.push(`volume ${vi.v.name} (${vi.v.id}): ${vi.v.sizeGiB} GiB, type ${vi.v.volumeType}, ${vi.v.attached ? 'in-use' : 'available'}, on ${vi.v.pool}${cur ? ` (${pct(capShare(cur, cur.pool.allocatedGiB))} used)` : ''}`);
  if (vi.resolved.rules.length > 0) out.push(`rules covering it: ${vi.resolved.rules.join(', ')}`);
  const fixed = ctx.fixedReason.get(vi.idx);
  if (fixed) {
    out.push(`stays: ${fixed.reason} [${fixed.plugin}]`);
    return out;
  }
  if (dest && dest.idx !== vi.cur) out.push(`moves to ${dest.name}: ${result.reasons[vi.v.id]?.reason ?? 'chosen by the solver'}`);
  else out.push(`stays on ${vi.v.pool}`);
  const item = ctx.items[ctx.itemOfVol[vi.idx] as number];
  if (item && item.vols.length > 1) out.push(`moves together with ${item.vols.length - 1} other volume(s) of its affinity group`);
  const eligible = item?.eligible ?? [];
  out.push(`eligible destinations (${eligible.length}): ${eligible.slice(0, MAX_LISTED).map((p) => (ctx.pools[p] as PoolInfo).name).join(', ') || 'none'}${eligible.length > MAX_LISTED ? `, and ${eligible.length - MAX_LISTED} more` : ''}`);
  const closed: string[] = [];
  for (const p of ctx.pools) {
    if (p.idx === vi.cur || eligible.includes(p.idx)) continue;
    const why = CONSTRAINTS.map((c) => (c.allows ? c.allows(ctx, vi, p) : null)).find((x) => x !== null && x !== undefined);
    closed.push(`  ${p.name}: ${why ?? 'closed to its affinity group'}`);
  }
  if (closed.length > 0) out.push(`closed pools (${closed.length}):`, ...closed.slice(0, MAX_LISTED), ...(closed.length > MAX_LISTED ? [`  … and ${closed.length - MAX_LISTED} more`] : []));
  if (!item) return out;
  const pr = new Pricing(ctx);
  const s = new State(ctx, pr);
  for (let i = 0; i < ctx.items.length; i++) {
    const it = ctx.items[i];
    const to = indices[it?.vols[0] as number] as number;
    if (it && to !== it.cur && i !== item.idx) s.apply(i, to, false);
  }
  s.refresh();
  const best = bestDest(s, item.idx, (to) => to !== vi.cur);
  const moveCost = pr.perGiB * item.gib;
  if (!best) out.push('no destination is open to it under the plan (capacity, budgets or groups)');
  else {
    const gain = -(best.delta - moveCost);
    out.push(
      `best single move: → ${(ctx.pools[best.to] as PoolInfo).name}: objective change ${best.delta.toFixed(6)} (gain ${gain.toFixed(6)} against a move cost of ${moveCost.toFixed(6)}: ${best.delta < 0 ? 'it pays' : 'it does not pay'})`,
    );
  }
  const minGain = policy.objectives.minGainPct;
  out.push(`a plan must improve the objective by at least ${minGain}% (${((minGain / 100) * Math.abs(result.quality.objectiveBefore)).toFixed(6)} of ${result.quality.objectiveBefore.toFixed(6)})`);
  return out;
}
