/**
 * The greedy plans as a public function: the Watcher-style capacity balancer (the baseline
 * benches compare with) or the objective-aware sweep (the solver's floor).
 *
 * @module
 */
import type { Inventory, Placement } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { buildContext } from './context.js';
import { objectiveGreedy, watcherGreedy } from './engine/greedy.js';
import { Pricing } from './engine/state.js';

export type GreedyStyle = 'watcher' | 'objective';

/** A greedy placement (volume id → pool) that respects every hard rule; `watcher` by default. */
export function greedyPlacement(inventory: Inventory, policy: CompiledPolicy, style: GreedyStyle = 'watcher'): Placement {
  const ctx = buildContext(inventory, policy);
  const pr = new Pricing(ctx);
  const s = style === 'watcher' ? watcherGreedy(ctx, pr) : objectiveGreedy(ctx, pr);
  const p = s.placement();
  const out: Record<string, string> = {};
  for (const vi of ctx.vols) out[vi.v.id] = vi.cur >= 0 ? ctx.pools[p[vi.idx] as number]!.name : vi.v.pool;
  return out;
}
