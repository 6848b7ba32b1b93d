/**
 * `budgets`: at most `maxMoves` moves and `maxBytes` moved per run.
 *
 * @module
 */
import type { SolveContext } from '../context.js';
import type { ConstraintPlugin } from '../plugin.js';
import type { FlowModel } from '../lp/flow-model.js';
import type { Violation } from '../types.js';
import { budgetUse, num } from './common.js';

export const name = 'budgets';

function verify(ctx: SolveContext, placement: Int32Array): Violation[] {
  const use = budgetUse(ctx, placement);
  const out: Violation[] = [];
  if (use.moves > ctx.budgets.maxMoves) out.push({ constraint: name, subject: 'run', message: `plan: ${use.moves} moves, budget ${ctx.budgets.maxMoves}` });
  if (use.gib > ctx.budgets.maxGiB + 1e-6) out.push({ constraint: name, subject: 'run', message: `plan: ${num(use.gib)} GiB moved, budget ${num(ctx.budgets.maxGiB)} GiB` });
  return out;
}

/** Rows: GiB moved ≤ the byte budget; moves (at least GiB / largest GiB-per-move of the class) ≤ the move budget. */
function lp(ctx: SolveContext, m: FlowModel): void {
  if (Number.isFinite(ctx.budgets.maxGiB)) m.addRow('budget_gib', { max: ctx.budgets.maxGiB }, m.cols.map((c, j) => [j, c.kind === 'flow' ? 1 : 0]));
  if (Number.isFinite(ctx.budgets.maxMoves)) {
    m.addRow('budget_moves', { max: ctx.budgets.maxMoves }, m.cols.map((c, j) => [j, c.kind === 'flow' ? 1 / (m.classes[c.cls]?.maxGibPerMove ?? 1) : 0]));
  }
}

/** Budgets per run. */
export const budgets: ConstraintPlugin = { name, lp, verify };
