/**
 * From an LP answer to a valid placement: disaggregate each class's flows onto its items (largest
 * first, to the destination with the most flow left, when at least half the item fits), then
 * repair (budgets first: undo the moves whose undoing costs least per GiB; then the rules; then
 * shed above the LP's utilization ceiling so one rounded pool does not raise the maximum) and
 * polish with single improving moves.
 *
 * @module
 */
import type { Item } from '../context.js';
import type { LpSolution } from '../lp/assemble.js';
import type { FlowModel } from '../lp/flow-model.js';
import { improve, improveRounds, meetRules, shed } from './greedy.js';
import { type Pricing, State } from './state.js';

/** Rounds a flow solution onto items (no checks: repair follows). */
export function disaggregate(m: FlowModel, sol: LpSolution, pr: Pricing, into?: State): State {
  const s = into ?? new State(m.ctx, pr);
  const byClass = new Map<number, { to: number; rem: number }[]>();
  m.cols.forEach((c, j) => {
    const v = sol.x[j] as number;
    if (c.kind !== 'flow' || v <= 1e-6) return;
    const l = byClass.get(c.cls) ?? [];
    l.push({ to: c.pool, rem: v });
    byClass.set(c.cls, l);
  });
  for (const c of m.classes) {
    const targets = byClass.get(c.idx);
    if (!targets) continue;
    const items = [...c.items].sort((a, b) => (m.ctx.items[b] as Item).gib - (m.ctx.items[a] as Item).gib || a - b);
    for (const i of items) {
      const it = m.ctx.items[i] as Item;
      let best: { to: number; rem: number } | null = null;
      for (const t of targets) if (!best || t.rem > best.rem + 1e-9) best = t;
      if (!best || best.rem < it.gib / 2) continue;
      s.apply(i, best.to, false);
      best.rem -= it.gib;
    }
  }
  s.refresh();
  return s;
}

/** Brings a state within budgets by undoing the moves that cost least per GiB to undo. */
export function enforceBudgets(s: State): void {
  const b = s.ctx.budgets;
  if (s.moves <= b.maxMoves && s.movedGiB <= b.maxGiB + 1e-9) return;
  const moved: { i: number; key: number }[] = [];
  s.ctx.items.forEach((it, i) => {
    if (s.assign[i] !== it.cur) moved.push({ i, key: s.delta(i, it.cur) / Math.max(it.gib, 1e-9) });
  });
  moved.sort((x, y) => x.key - y.key || x.i - y.i);
  for (const m of moved) {
    if (s.moves <= b.maxMoves && s.movedGiB <= b.maxGiB + 1e-9) break;
    s.apply(m.i, (s.ctx.items[m.i] as Item).cur, false);
  }
  s.refresh();
}

/** Repair and polish after rounding; `uCeiling` is the LP's fullest-pool share, if any. */
export function repair(s: State, uCeiling: number | null): void {
  enforceBudgets(s);
  meetRules(s);
  if (uCeiling !== null && s.ctx.policy.objectives.balance.weight > 0) {
    const kinds = s.ctx.policy.objectives.balance.by === 'load' ? (['load'] as const) : (['cap'] as const);
    for (const k of kinds) {
      const top = s.fullest(k)[0];
      if (top !== undefined && s.share(k, top) > uCeiling + 0.0025) {
        const trial = s.clone();
        shed(trial, k, uCeiling + 0.0025);
        if (trial.total() < s.total()) copyInto(trial, s);
      }
    }
  }
  improve(s, improveRounds(s.ctx));
}

/** LP answers (one per independent part of the fleet) rounded together, repaired and polished. */
export function roundAndRepair(parts: readonly { m: FlowModel; sol: LpSolution }[], pr: Pricing): State {
  const first = parts[0] as { m: FlowModel; sol: LpSolution };
  const s = new State(first.m.ctx, pr);
  let u: number | null = null;
  for (const { m, sol } of parts) {
    disaggregate(m, sol, pr, s);
    const uCol = m.cols.findIndex((c) => c.name === 'U');
    if (uCol >= 0) u = Math.max(u ?? 0, sol.x[uCol] as number);
  }
  repair(s, u);
  return s;
}

function copyInto(from: State, to: State): void {
  from.ctx.items.forEach((_, i) => {
    if (to.assign[i] !== from.assign[i]) to.apply(i, from.assign[i] as number, false);
  });
  to.refresh();
}
