/**
 * The polish: rounds of full local search (every destination, no shortlist) from a placement,
 * bounded by work, never by time: at most {@link POLISH_ROUNDS} rounds, stopping at the first
 * round without gain, within a budget of destination evaluations ({@link POLISH_EVALS_PER_PAIR}
 * per item × destination pair of the instance, at most {@link POLISH_MAX_EVALS}). The same work,
 * hence the same plan, on any machine; the hard time limit (`expired`) is only a safety net.
 *
 * @module
 */
import type { SolveContext } from '../context.js';
import { improve, type WorkBudget } from './greedy.js';
import { Pricing, State } from './state.js';

/** Most rounds of full local search in the polish. */
export const POLISH_ROUNDS = 8;
/** Polish budget: destination evaluations per item × destination pair of the instance … */
export const POLISH_EVALS_PER_PAIR = 6;
/** … and at most this many in all. */
export const POLISH_MAX_EVALS = 100_000_000;

/** What the polish did. */
export interface PolishOutcome {
  /** The polished state; null when it found no gain. */
  readonly state: State | null;
  readonly rounds: number;
  /** Destination evaluations used. */
  readonly evaluations: number;
  /** Why it stopped, in words. */
  readonly stop: 'no further gain' | 'round limit' | 'evaluation budget spent' | 'cut by the time limit';
  /** True when the hard time limit stopped it. */
  readonly timeCut: boolean;
}

/** Polishes `placement` (item pools by volume index, as candidates hold them). */
export function polishPlacement(ctx: SolveContext, pr: Pricing, placement: Int32Array, expired: () => boolean): PolishOutcome {
  const s = new State(ctx, pr);
  ctx.items.forEach((it, i) => {
    const to = placement[it.vols[0] as number] as number;
    if (to !== it.cur) s.apply(i, to, false);
  });
  s.refresh();
  const j0 = s.total();
  const pairs = ctx.items.reduce((n, it) => n + (it.eligible.length > 0 ? it.eligible.length + 1 : 0), 0);
  const budget: WorkBudget = { evals: Math.min(POLISH_MAX_EVALS, POLISH_EVALS_PER_PAIR * pairs), expired, timeCut: false };
  const granted = budget.evals;
  let rounds = 0;
  let stalled = false;
  while (rounds < POLISH_ROUNDS && budget.evals > 0 && !budget.timeCut && !stalled) {
    const j = s.total();
    improve(s, 1, false, budget);
    rounds++;
    stalled = s.total() > j - 1e-12;
  }
  const stop = budget.timeCut ? 'cut by the time limit' : budget.evals <= 0 ? 'evaluation budget spent' : stalled ? 'no further gain' : 'round limit';
  return { state: s.total() < j0 - 1e-12 ? s : null, rounds, evaluations: granted - Math.max(0, budget.evals), stop, timeCut: budget.timeCut };
}
