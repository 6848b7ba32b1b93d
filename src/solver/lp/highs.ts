/**
 * The optional HiGHS engine (npm `highs`, WASM) for flow LPs: far faster than the dense tableau
 * of javascript-lp-solver on big models. HiGHS's presolve has been seen to declare feasible models
 * infeasible: any answer other than optimal is retried with presolve off, and an answer that is
 * still not optimal is not used.
 *
 * @module
 */
import type { FlowModel } from './flow-model.js';
import type { LpSolution } from './assemble.js';

interface HighsModel {
  options: { set(values: Record<string, string | number | boolean>): unknown };
  run(): unknown;
  getModelStatus(): number;
  getSolution(): { colValue: Float64Array };
  clearSolver(): unknown;
  dispose(): unknown;
}
interface HighsRuntime {
  createModel(data: unknown): HighsModel;
  constants: { modelStatus: Record<string, number> };
}

let runtime: Promise<HighsRuntime> | null = null;

async function load(): Promise<HighsRuntime> {
  runtime ??= import('highs').then((mod) => {
    const loader = ((mod as { default?: unknown }).default ?? mod) as () => Promise<HighsRuntime>;
    return loader();
  });
  return runtime;
}

/**
 * Solves the LP of a flow model with HiGHS; null when it has no optimal answer in time.
 * `timeLimitMs` is the hard limit only (HiGHS is otherwise deterministic: one thread, no other
 * time-driven choice); `timeLimited` says it was hit.
 */
export async function solveWithHighs(m: FlowModel, timeLimitMs: number): Promise<{ solution: LpSolution | null; status: string; timeLimited: boolean }> {
  const h = await load();
  const nCols = m.cols.length;
  const starts = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  for (const r of m.rows) {
    const seen = new Map<number, number>();
    for (const [j, v] of r.entries) seen.set(j, (seen.get(j) ?? 0) + v);
    for (const [j, v] of [...seen.entries()].sort((a, b) => a[0] - b[0])) {
      indices.push(j);
      values.push(v);
    }
    starts.push(indices.length);
    rowLower.push(r.min ?? Number.NEGATIVE_INFINITY);
    rowUpper.push(r.max ?? Number.POSITIVE_INFINITY);
  }
  const scale = m.objScale();
  const data = {
    numCols: nCols,
    numRows: m.rows.length,
    colCost: Float64Array.from(m.cols, (c) => c.obj * scale),
    colLower: new Float64Array(nCols),
    colUpper: new Float64Array(nCols).fill(Number.POSITIVE_INFINITY),
    rowLower: Float64Array.from(rowLower),
    rowUpper: Float64Array.from(rowUpper),
    matrix: { format: 'csr', numRows: m.rows.length, numCols: nCols, starts: Int32Array.from(starts), indices: Int32Array.from(indices), values: Float64Array.from(values) },
  };
  const model = h.createModel(data);
  try {
    const optimal = h.constants.modelStatus['optimal'];
    const timeLimit = h.constants.modelStatus['timeLimit'];
    model.options.set({ output_flag: false, time_limit: Math.max(0.1, timeLimitMs / 1000) });
    model.run();
    let status = model.getModelStatus();
    let note = 'optimal';
    if (status === timeLimit) return { solution: null, status: 'time limit', timeLimited: true };
    if (status !== optimal) {
      model.clearSolver();
      model.options.set({ presolve: 'off' });
      model.run();
      status = model.getModelStatus();
      note = status === optimal ? 'optimal (presolve off after a non-optimal answer)' : `status ${status}`;
    }
    if (status !== optimal) return { solution: null, status: status === timeLimit ? 'time limit' : note, timeLimited: status === timeLimit };
    const x = Float64Array.from(model.getSolution().colValue);
    let obj = m.objConst;
    m.cols.forEach((c, j) => (obj += c.obj * (x[j] as number)));
    return { solution: { x, objective: obj }, status: note, timeLimited: false };
  } finally {
    model.dispose();
  }
}
