/**
 * A dry run of one plan: the production executor runs it against a simulated copy of the
 * inventory's fleet on the discrete-event clock, to predict how long it takes and what it
 * touches (`ballast plan --dry-run` uses it on a live inventory).
 *
 * @module
 */
import { poolUsedShare, type Inventory, type Plan } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { SimClock } from './clock.js';
import { SimulatedControlPlane, type SimMoveRecord } from './control-plane.js';
import { productionEngine, type Engine } from './engine.js';
import { SimFleet } from './fleet.js';
import { DEFAULT_TIMING, type TimingModel } from './timing.js';

/** What a dry run predicts. */
export interface DryRunResult {
  readonly planId: string;
  /** From the first move's start to the last move's end, ms (0 without moves). */
  readonly makespanMs: number;
  /** From the run's start (the inventory's time) to its end, maintenance-window waits included, ms. */
  readonly elapsedMs: number;
  readonly moves: readonly SimMoveRecord[];
  /** Pools the plan touches (sources and destinations), sorted. */
  readonly poolsTouched: readonly string[];
  /** Highest used share of each touched pool while the plan ran (reservations included). */
  readonly peakShare: Readonly<Record<string, number>>;
  readonly state: string;
}

/** Options of {@link dryRunPlan}. */
export interface DryRunOptions {
  readonly timing?: TimingModel;
  readonly seed?: number;
  readonly engine?: Engine;
  /** Simulated time at which the run starts (default: the inventory's time). */
  readonly startMs?: number;
  /** The executor's poll of running moves, simulated ms (default 5 s; use the real executor's to compare with reality). */
  readonly pollIntervalMs?: number;
}

/** Runs `plan` on a simulated copy of `inventory`'s fleet and reports the prediction. */
export async function dryRunPlan(inventory: Inventory, plan: Plan, policy: CompiledPolicy, opts: DryRunOptions = {}): Promise<DryRunResult> {
  const start = opts.startMs ?? inventory.takenAtMs;
  const clock = new SimClock(start);
  const fleet = SimFleet.fromInventory(inventory);
  const touched = [...new Set(plan.moves.flatMap((m) => [m.from, m.to]))].filter((p) => fleet.pools.has(p)).sort();
  const peak: Record<string, number> = {};
  const observe = (): void => {
    for (const name of touched) {
      const p = fleet.pools.get(name)!;
      peak[name] = Math.max(peak[name] ?? 0, Math.round(poolUsedShare({ capacity: fleet.capacityOf(p), allocatedGiB: p.allocatedGiB }) * 10_000) / 10_000);
    }
  };
  observe();
  const cp = new SimulatedControlPlane(fleet, clock, opts.timing ?? DEFAULT_TIMING, { name: `dry run of ${plan.id}`, seed: opts.seed ?? 1, onChange: observe });
  const engine = opts.engine ?? productionEngine(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {});
  const exec = engine.execute(plan, policy, cp, clock, `dry-run-${plan.id}`);
  const outcome = await clock.runUntil(exec.done);
  const moves = cp.moveLog();
  const starts = moves.map((m) => m.acceptedAtMs);
  const ends = moves.map((m) => m.finishedAtMs ?? clock.nowMs());
  return {
    planId: plan.id,
    makespanMs: moves.length > 0 ? Math.max(...ends) - Math.min(...starts) : 0,
    elapsedMs: (moves.length > 0 ? Math.max(...ends) : clock.nowMs()) - start,
    moves,
    poolsTouched: touched,
    peakShare: peak,
    state: outcome?.state ?? 'unknown',
  };
}
