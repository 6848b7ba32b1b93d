/**
 * The solve pipeline. Greedy plans first (the floor); then, by size: the exact MIP (tiny
 * instances), the aggregated flow LP (all destinations when the dense tableau is small enough,
 * else pruned candidates), rounded, repaired and polished; HiGHS when asked. Every candidate is
 * verified; the best valid one wins, never worse than greedy; the minimum-gain rule may keep the
 * current placement. No clock is read: time comes from `opts.now`.
 *
 * Deterministic: every stage's work is bounded by counts (branch-and-bound nodes, LP pivots run to
 * the optimum, local-search destination evaluations), never by elapsed time, so the same inputs
 * give the same plan on a fast or a slow machine. The only clock-driven cut is the hard limit
 * `timeLimitMs`, a safety net: when it skips or stops a stage, `quality.timeLimited` is true and a
 * note names the stage.
 *
 * @module
 */
import type { Inventory, Placement, PlanQuality } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { aggregatesOf, buildContext, fixedList, type SolveContext } from './context.js';
import { objectiveGreedy, watcherGreedy } from './engine/greedy.js';
import { polishPlacement } from './engine/polish.js';
import { roundAndRepair } from './engine/round.js';
import { Pricing, State } from './engine/state.js';
import { evaluateIndices } from './evaluate.js';
import { explainInfeasibility } from './infeasibility.js';
import { assembleLp, lpTermValues, type LpSolution } from './lp/assemble.js';
import { JSLP_MAX_CELLS, prunedModels } from './lp/decompose.js';
import type { FlowModel } from './lp/flow-model.js';
import { solveWithHighs } from './lp/highs.js';
import { MIP_NODE_LIMIT, readJsLp, runJsLp, toJsLp } from './lp/jslp.js';
import { moveReasons } from './reasons.js';
import type { SolveOptions, SolveResult, Violation } from './types.js';
import { verifyIndices } from './verify.js';

/** Largest exact model (sum over movable items of their choices) given to the MIP. */
export const EXACT_MAX_PAIRS = 400;
export { JSLP_MAX_CELLS, prunedModels } from './lp/decompose.js';

interface Candidate {
  readonly method: string;
  readonly engine: string;
  readonly placement: Int32Array;
  readonly total: number;
  readonly movedGiB: number;
  readonly violations: readonly Violation[];
}

function candidate(ctx: SolveContext, method: string, engine: string, s: State | Int32Array): Candidate {
  const placement = s instanceof State ? s.placement() : s;
  const ev = evaluateIndices(ctx, placement);
  return { method, engine, placement, total: ev.total, movedGiB: aggregatesOf(ctx, placement).movedGiB, violations: verifyIndices(ctx, placement) };
}

const ORDER = ['current', 'mip', 'lp-round', 'greedy', 'greedy-watcher'];

function better(a: Candidate, b: Candidate): boolean {
  if (a.total < b.total - 1e-9) return true;
  if (a.total > b.total + 1e-9) return false;
  if (a.movedGiB !== b.movedGiB) return a.movedGiB < b.movedGiB;
  return ORDER.indexOf(a.method) < ORDER.indexOf(b.method);
}

/** Solves placement for an inventory under a composed policy. */
export async function solvePlacement(inventory: Inventory, policy: CompiledPolicy, opts: SolveOptions = {}): Promise<SolveResult> {
  const now = opts.now ?? (() => 0);
  const t0 = now();
  const limitMs = opts.timeLimitMs ?? 10_000;
  const left = (): number => limitMs - (now() - t0);
  const notes: string[] = [];
  let timeLimited = false;
  /** The hard limit cut a stage: say so (once per stage) and flag the result. */
  const cut = (what: string): void => {
    timeLimited = true;
    const note = `the time limit (${limitMs} ms) was hit: ${what}`;
    if (!notes.includes(note)) notes.push(note);
  };
  const ctx = buildContext(inventory, policy, opts.freeze ?? []);
  notes.push(...ctx.notes);
  const pr = new Pricing(ctx);
  const cands: Candidate[] = [candidate(ctx, 'current', 'none', ctx.current)];
  cands.push(candidate(ctx, 'greedy-watcher', 'greedy', watcherGreedy(ctx, pr)));
  const greedy = objectiveGreedy(ctx, pr, undefined, ctx.items.length <= 5_000 ? 10 : ctx.items.length <= 50_000 ? 5 : 3);
  cands.push(candidate(ctx, 'greedy', 'greedy', greedy));

  const base = aggregatesOf(ctx, ctx.current);
  let bound: number | null = null;
  let lpTerms: Record<string, number> | null = null;
  let lpInfo: NonNullable<SolveResult['lp']> | null = null;
  const engine = opts.engine ?? 'jslp';
  const pairs = ctx.items.reduce((s, it) => s + (it.eligible.length > 0 ? it.eligible.length + 1 : 0), 0);

  if (pairs > 0 && pairs <= EXACT_MAX_PAIRS && left() <= 0) cut('the exact MIP was skipped');
  else if (pairs > 0 && pairs <= EXACT_MAX_PAIRS) {
    // branch and bound is bounded by nodes, not time: the same search on any machine
    const m = assembleLp(ctx, base, { maxDests: Number.POSITIVE_INFINITY, sizeBuckets: false, pruneSources: false, singletons: true });
    const out = runJsLp(toJsLp(m, MIP_NODE_LIMIT), left());
    const sol = readJsLp(m, out);
    if (out.kind === 'timeout') cut('the exact MIP was stopped');
    const capped = out.kind === 'solved' && out.nodes >= MIP_NODE_LIMIT;
    if (capped) notes.push(`the exact MIP stopped at its node limit (${MIP_NODE_LIMIT} branch-and-bound nodes)${sol ? ': its best integral answer, not proven optimal, is a candidate' : ''}`);
    if (sol) {
      const s = new State(ctx, pr);
      m.cols.forEach((c, j) => {
        if (c.kind === 'flow' && (sol.x[j] as number) > 0.5 * (m.classes[c.cls]?.gib ?? 0)) s.apply(m.classes[c.cls]?.items[0] as number, c.pool, false);
      });
      s.refresh();
      cands.push(candidate(ctx, 'mip', 'jslp', s));
    } else if (out.kind !== 'timeout') notes.push(`exact MIP gave no integral answer (${capped ? 'node limit' : out.kind === 'error' ? out.error : 'not integral'}); heuristics used`);
  }

  if (pairs > 0 && left() <= 0) cut('the LP stage was skipped');
  else if (pairs > 0) {
    const full = assembleLp(ctx, base, { maxDests: Number.POSITIVE_INFINITY, sizeBuckets: false, pruneSources: false });
    let planModel: FlowModel = full;
    let sol: LpSolution | null = null;
    let used = engine;
    if (engine === 'highs') {
      const r = await solveWithHighs(full, left());
      sol = r.solution;
      if (r.timeLimited) cut('HiGHS was stopped');
      if (!sol) notes.push(`HiGHS: ${r.status}; javascript-lp-solver used instead`);
    }
    let parts: { m: FlowModel; sol: LpSolution }[] = [];
    if (!sol) {
      used = 'jslp';
      // a fleet too big for one tableau is split into its independent parts; when prices or
      // performance count, each part sees the others' pools as they are today ("held"), else each
      // part is scoped to its own pools and all are then held to the highest ceiling (measured:
      // held wins with a cost term, scoped when balance alone counts)
      const o = policy.objectives;
      const scoped = o.cost.weight === 0 && o.performance.weight === 0;
      const models = full.denseCells() <= JSLP_MAX_CELLS ? [full] : prunedModels(ctx, base, scoped);
      planModel = models.length === 1 ? (models[0] as FlowModel) : full;
      // each LP may use all the time left: only the hard limit cuts one (the simplex is deterministic)
      const solveAll = (): { m: FlowModel; sol: LpSolution }[] => {
        const out: { m: FlowModel; sol: LpSolution }[] = [];
        for (const m of models) {
          if (left() <= 0) {
            cut('LP parts were skipped; the parts solved in time are used');
            continue;
          }
          const res = runJsLp(toJsLp(m), left());
          if (res.kind === 'timeout') cut('an LP was stopped; the parts solved in time are used');
          else if (res.kind === 'error') notes.push(`LP error: ${res.error}`);
          const part = readJsLp(m, res);
          if (part) out.push({ m, sol: part });
        }
        return out;
      };
      parts = solveAll();
      // independent parts share one fleet-wide ceiling U: each part first finds its own, then all
      // are solved again held to the highest (so no part spends moves balancing below it)
      const uOf = (p: { m: FlowModel; sol: LpSolution }): number => {
        const j = p.m.cols.findIndex((c) => c.name === 'U');
        return j >= 0 ? (p.sol.x[j] as number) : Number.NaN;
      };
      const uStar = Math.max(...parts.map(uOf).filter((u) => !Number.isNaN(u)));
      const second = scoped && models.length > 1 && parts.length === models.length && Number.isFinite(uStar);
      if (second && left() <= 0) cut('the second LP pass (one fleet-wide ceiling) was skipped');
      else if (second) {
        for (const m of models) {
          const j = m.cols.findIndex((c) => c.name === 'U');
          if (j >= 0) m.addRow('u_fleet', { max: -uStar }, [[j, -1]]);
        }
        const again = solveAll();
        if (again.length === models.length) parts = again;
      }
      if (models.length > 1) {
        notes.push(`the LP was split into ${models.length} independent parts (zones) with pruned candidates (${scoped ? 'scoped' : 'held'}): ${parts.length} solved`);
        sol = null;
        planModel = models[0] as FlowModel;
        planModel.pruned = true;
      } else sol = parts[0]?.sol ?? null;
    } else parts = [{ m: full, sol }];
    if (sol && !planModel.pruned) {
      bound = sol.objective;
      lpTerms = lpTermValues(planModel, sol.x);
    }
    if (bound === null && opts.boundEngine === 'highs' && left() <= 0) cut('the bound was not computed');
    else if (bound === null && opts.boundEngine === 'highs') {
      const r = await solveWithHighs(full, left());
      if (r.timeLimited) cut('the bound was not computed');
      if (r.solution) {
        bound = r.solution.objective;
        lpTerms = lpTermValues(full, r.solution.x);
      }
    }
    const sum = (f: (m: FlowModel) => number): number => (parts.length > 0 ? parts.reduce((a, p) => a + f(p.m), 0) : f(planModel));
    lpInfo = { engine: used, columns: sum((m) => m.cols.length), rows: sum((m) => m.rows.length), classes: sum((m) => m.classes.length), pruned: planModel.pruned, terms: lpTerms };
    if (parts.length > 0) cands.push(candidate(ctx, 'lp-round', used, roundAndRepair(parts, pr)));
  }

  if (left() <= 0) cut('the polish was skipped');
  else if (polish(ctx, pr, cands, () => left() <= 0, notes)) cut('the polish was stopped');
  const valid = cands.filter((c) => c.violations.length === 0);
  const current = cands[0] as Candidate;
  const byMethod = Object.fromEntries(cands.map((c) => [c.method, { objective: c.total, movedGiB: c.movedGiB, violations: c.violations.length }]));
  let chosen: Candidate | null = null;
  for (const c of valid) if (!chosen || better(c, chosen)) chosen = c;
  let infeasibility: SolveResult['infeasibility'] = null;
  if (!chosen) {
    const attempt = [...cands].sort((a, b) => a.violations.length - b.violations.length || a.total - b.total)[0] as Candidate;
    infeasibility = explainInfeasibility(ctx, attempt.placement, attempt.violations);
    chosen = current;
    notes.push('no placement meets every rule; the current placement is returned with the conflicts');
  } else if (chosen !== current && current.violations.length === 0) {
    const gainPct = current.total !== 0 ? ((current.total - chosen.total) / Math.abs(current.total)) * 100 : 0;
    if (gainPct < policy.objectives.minGainPct) {
      notes.push(`best plan (${chosen.method}) improves the objective by ${gainPct.toFixed(3)}%, below the minimum gain of ${policy.objectives.minGainPct}%: no move proposed`);
      chosen = current;
    }
  }
  if (chosen.method === 'greedy' || chosen.method === 'greedy-watcher') notes.push(`the greedy plan (${chosen.method}) was kept: no solver plan beat it`);
  const ev = evaluateIndices(ctx, chosen.placement);
  if (bound !== null && bound > ev.total + 1e-6) {
    notes.push(`LP bound ${bound.toFixed(6)} exceeded the plan's objective (numerical tolerance); bound clamped`);
    bound = ev.total;
  }
  const agg = aggregatesOf(ctx, chosen.placement);
  if (agg.moves >= ctx.budgets.maxMoves || agg.movedGiB >= ctx.budgets.maxGiB - 1e-6) notes.push(`the budget binds: ${agg.moves} moves, ${agg.movedGiB.toFixed(1)} GiB`);
  const carried = chosen.violations.length > 0 ? [] : ctx.limits.filter((l) => ((agg[l.resource] as Float64Array)[l.pool] as number) > l.limit + 1e-6);
  if (carried.length > 0) {
    const shown = carried.slice(0, 3).map((l) => l.describe((agg[l.resource] as Float64Array)[l.pool] as number));
    notes.push(`${carried.length} pool limit(s) still exceeded, carried over to a later run (the budget left fits no move that would help): ${shown.join('; ')}${carried.length > 3 ? `; and ${carried.length - 3} more` : ''}`);
  }
  if (agg.mustLeaveGiB > 0) notes.push(`${agg.mustLeaveGiB.toFixed(1)} GiB must still leave drained pools; later runs continue the drain`);
  const denom = ev.totalBefore - (bound ?? 0);
  const quality: PlanQuality = {
    method: chosen.method,
    engine: chosen.engine,
    objectiveBefore: ev.totalBefore,
    objectiveAfter: ev.total,
    bound,
    improvementLeft: bound === null ? null : denom > 1e-12 ? Math.max(0, (ev.total - bound) / denom) : 0,
    terms: ev.terms,
    solveMs: Math.max(0, now() - t0),
    // only a stage the hard limit cut or skipped counts: a run that overran after finishing its
    // (deterministic) work returns the same plan as a fast one
    timeLimited,
  };
  const placement: Record<string, string> = {};
  for (const vi of ctx.vols) placement[vi.v.id] = vi.cur >= 0 ? ctx.pools[chosen.placement[vi.idx] as number]!.name : vi.v.pool;
  return {
    placement: placement as Placement,
    quality,
    violations: chosen.violations,
    fixed: fixedList(ctx),
    reasons: chosen === current ? {} : moveReasons(ctx, chosen.placement),
    infeasibility,
    notes,
    candidates: byMethod,
    lp: lpInfo,
  };
}

/** Polishes the best valid candidate (see {@link polishPlacement}); true when the time limit cut it. */
function polish(ctx: SolveContext, pr: Pricing, cands: Candidate[], expired: () => boolean, notes: string[]): boolean {
  let best: Candidate | null = null;
  for (const c of cands) if (c.violations.length === 0 && c.method !== 'current' && (!best || better(c, best))) best = c;
  if (!best) return false;
  const out = polishPlacement(ctx, pr, best.placement, expired);
  if (out.state) {
    cands.push(candidate(ctx, `${best.method}+polish`, best.engine, out.state));
    notes.push(`polished ${best.method} with ${out.rounds} round(s) of full local search (${out.evaluations} destination evaluations; ${out.stop})`);
  } else if (out.timeCut) notes.push(`the polish of ${best.method} was cut by the time limit before it found a gain`);
  return out.timeCut;
}

/**
 * The LP bound alone (the aggregated relaxation with every destination), for benches and reports:
 * HiGHS or javascript-lp-solver (in a worker, up to `timeLimitMs`). Null when the engine gives no
 * optimal answer.
 */
export async function computeBound(
  inventory: Inventory,
  policy: CompiledPolicy,
  opts: { readonly engine: 'jslp' | 'highs'; readonly timeLimitMs: number },
): Promise<{ bound: number; terms: Record<string, number>; columns: number; rows: number } | null> {
  const ctx = buildContext(inventory, policy);
  const m = assembleLp(ctx, aggregatesOf(ctx, ctx.current), { maxDests: Number.POSITIVE_INFINITY, sizeBuckets: false, pruneSources: false });
  const sol = opts.engine === 'highs' ? (await solveWithHighs(m, opts.timeLimitMs)).solution : readJsLp(m, runJsLp(toJsLp(m), opts.timeLimitMs));
  return sol ? { bound: sol.objective, terms: lpTermValues(m, sol.x), columns: m.cols.length, rows: m.rows.length } : null;
}
