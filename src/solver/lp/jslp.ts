/**
 * javascript-lp-solver, run in a worker thread so a hard time limit really bounds it (its own
 * `timeout` only applies between branch-and-bound nodes, never inside an LP). The calling thread
 * waits on a shared flag with a timeout and terminates the worker when time is up; no timer and
 * no clock are read. A MIP answer counts only with `isIntegral === true`.
 *
 * Branch and bound is bounded by a node count, not by time: the library reads its clock once per
 * node (`while (… && now < terminalTime)`) and nowhere else, so the worker replaces that clock
 * with a node counter and passes the node limit as the library's `timeout`. The search then stops
 * after the same nodes on any machine; the worker reports how many it used.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { FlowModel } from './flow-model.js';
import type { LpSolution } from './assemble.js';

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
let nodes = 0;
// the library's branch and bound reads this once per node: a node counter makes its timeout a node limit
Date.now = () => nodes++;
let msg;
try {
  const lib = require(workerData.libPath);
  const solver = lib.default || lib;
  const result = solver.Solve(workerData.model);
  msg = { ok: true, result, nodes: Math.max(0, nodes - 1) };
} catch (e) {
  msg = { ok: false, error: String((e && e.message) || e) };
}
workerData.port.postMessage(msg);
const flag = new Int32Array(workerData.flag);
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
`;

/** A javascript-lp-solver model (its JSON format). */
export interface JsLpModel {
  readonly optimize: string;
  readonly opType: 'min' | 'max';
  readonly constraints: Record<string, { max?: number; min?: number; equal?: number }>;
  readonly variables: Record<string, Record<string, number>>;
  readonly ints?: Record<string, 1>;
  readonly options?: Record<string, unknown>;
}

export type JsLpOutcome =
  /** `nodes`: branch-and-bound nodes explored (0 for a plain LP). */
  | { readonly kind: 'solved'; readonly result: Record<string, number | boolean>; readonly nodes: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly error: string };

/** Default branch-and-bound node limit of an exact model. */
export const MIP_NODE_LIMIT = 3_000;

let libPath: string | null = null;

/**
 * Solves a model in a worker; gives up after `timeoutMs` (the hard limit: the only clock-driven
 * cut). Blocks the calling thread meanwhile.
 */
export function runJsLp(model: JsLpModel, timeoutMs: number): JsLpOutcome {
  libPath ??= createRequire(import.meta.url).resolve('javascript-lp-solver');
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { model, libPath, port: port2, flag }, transferList: [port2] });
  const waited = Atomics.wait(new Int32Array(flag), 0, 0, Math.max(1, Math.floor(timeoutMs)));
  const msg = waited === 'timed-out' ? undefined : receiveMessageOnPort(port1);
  void worker.terminate();
  port1.close();
  if (!msg) return { kind: 'timeout' };
  const m = msg.message as { ok: boolean; result?: Record<string, number | boolean>; nodes?: number; error?: string };
  return m.ok ? { kind: 'solved', result: m.result ?? {}, nodes: m.nodes ?? 0 } : { kind: 'error', error: m.error ?? 'unknown error' };
}

/** Column scale: flows of an exact model are integral in units of their item's size. */
function scaleOf(m: FlowModel, j: number): number {
  const c = m.cols[j];
  return m.exact && c?.kind === 'flow' ? (m.classes[c.cls]?.gib ?? 1) : 1;
}

/**
 * The flow model in javascript-lp-solver's format. For an exact model (one class per item) the
 * flow columns are rescaled to 0/1 and declared `ints` (the bound 1 is implied by the supply row,
 * so no `binaries` rows are added), with a node limit for branch and bound (see the module note).
 */
export function toJsLp(m: FlowModel, mipNodeLimit = MIP_NODE_LIMIT): JsLpModel {
  const constraints: JsLpModel['constraints'] = {};
  const variables: Record<string, Record<string, number>> = {};
  m.cols.forEach((c, j) => {
    variables[`c${j}`] = { obj: c.obj * scaleOf(m, j) };
  });
  m.rows.forEach((r, i) => {
    const name = `r${i}`;
    const b: { max?: number; min?: number } = {};
    if (r.max !== undefined) b.max = r.max;
    if (r.min !== undefined) b.min = r.min;
    constraints[name] = b;
    for (const [j, v] of r.entries) {
      const col = variables[`c${j}`] as Record<string, number>;
      col[name] = (col[name] ?? 0) + v * scaleOf(m, j);
    }
  });
  if (!m.exact) return { optimize: 'obj', opType: 'min', constraints, variables };
  const ints: Record<string, 1> = {};
  m.cols.forEach((c, j) => {
    if (c.kind === 'flow') ints[`c${j}`] = 1;
  });
  return { optimize: 'obj', opType: 'min', constraints, variables, ints, options: { timeout: Math.max(1, Math.floor(mipNodeLimit)) } };
}

/** Reads a solved flow model; null when the answer is not usable. */
export function readJsLp(m: FlowModel, outcome: JsLpOutcome): LpSolution | null {
  if (outcome.kind !== 'solved') return null;
  const r = outcome.result;
  if (r['feasible'] !== true || r['bounded'] === false) return null;
  if (m.exact && r['isIntegral'] !== true) return null;
  const x = new Float64Array(m.cols.length);
  for (let j = 0; j < x.length; j++) {
    const v = r[`c${j}`];
    x[j] = (typeof v === 'number' ? v : 0) * scaleOf(m, j);
  }
  let obj = m.objConst;
  m.cols.forEach((c, j) => (obj += c.obj * (x[j] as number)));
  return { x, objective: obj };
}
