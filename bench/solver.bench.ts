/**
 * The optimizer bench: generated fleets of 2,000 × 20, 20,000 × 200 and 100,000 × 500 (plus a
 * drain under a tight byte budget), each solved in a fresh child process (peak RSS from the
 * kernel's max RSS, so worker threads count), against the Watcher-style greedy baseline on the
 * same instance. Quality is the share of the achievable improvement left: (plan − bound) /
 * (current − bound), on the objective (with and without the unmet-rules term the current
 * placement pays for its over-full pools) and per term, with the bound from the aggregated LP
 * relaxation (javascript-lp-solver where it fits, HiGHS otherwise), computed after the timed solve.
 *
 * `runSolverBench()` writes `bench/results/solver.{json,md}`; so does
 * `node dist/bench/solver.bench.js --solver-bench`; one instance alone (JSON on stdout):
 * `node dist/bench/solver.bench.js --solver-bench-child '<json spec>'`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Inventory, Placement } from '../src/model/index.js';
import type { CompiledPolicy } from '../src/policy/index.js';
import { computeBound, evaluatePlacement, fleetPolicy, generateFleet, greedyPlacement, solvePlacement, verifyPlacement } from '../src/solver/index.js';

const execFileP = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..', '..');

/** One bench instance. */
export interface SolverBenchSpec {
  readonly name: string;
  readonly volumes: number;
  readonly pools: number;
  readonly seed: number;
  /** `cost+balance` (fleetPolicy defaults) or `balance` (cost weight 0). */
  readonly policy: 'cost+balance' | 'balance';
  /** Drain pool 1 with a byte budget of this share of its movable GiB. */
  readonly drainBudgetShare?: number;
  readonly timeLimitMs: number;
  readonly boundEngine: 'jslp' | 'highs';
  /** The solve's LP engine; default javascript-lp-solver. */
  readonly engine?: 'jslp' | 'highs';
  /** Targets from the issue. */
  readonly targetMs: number;
  readonly targetRssMiB: number;
  readonly targetLeft: number | null;
}

export const SOLVER_BENCH_SPECS: readonly SolverBenchSpec[] = [
  { name: '2k×20', volumes: 2_000, pools: 20, seed: 1, policy: 'cost+balance', timeLimitMs: 10_000, boundEngine: 'jslp', targetMs: 2_000, targetRssMiB: 1024, targetLeft: 0.01 },
  { name: '2k×20 balance', volumes: 2_000, pools: 20, seed: 1, policy: 'balance', timeLimitMs: 10_000, boundEngine: 'jslp', targetMs: 2_000, targetRssMiB: 1024, targetLeft: 0.01 },
  { name: '20k×200', volumes: 20_000, pools: 200, seed: 1, policy: 'cost+balance', timeLimitMs: 10_000, boundEngine: 'highs', targetMs: 10_000, targetRssMiB: 1024, targetLeft: 0.03 },
  { name: '20k×200 balance', volumes: 20_000, pools: 200, seed: 1, policy: 'balance', timeLimitMs: 10_000, boundEngine: 'highs', targetMs: 10_000, targetRssMiB: 1024, targetLeft: 0.03 },
  { name: '20k×200 tight drain', volumes: 20_000, pools: 200, seed: 2, policy: 'cost+balance', drainBudgetShare: 0.3, timeLimitMs: 10_000, boundEngine: 'highs', targetMs: 10_000, targetRssMiB: 1024, targetLeft: null },
  { name: '100k×500', volumes: 100_000, pools: 500, seed: 1, policy: 'cost+balance', timeLimitMs: 60_000, boundEngine: 'highs', targetMs: 60_000, targetRssMiB: 4096, targetLeft: null },
  { name: '100k×500 (HiGHS engine)', volumes: 100_000, pools: 500, seed: 1, policy: 'cost+balance', engine: 'highs', timeLimitMs: 60_000, boundEngine: 'highs', targetMs: 60_000, targetRssMiB: 4096, targetLeft: null },
];

function instance(spec: SolverBenchSpec): { inv: Inventory; pol: CompiledPolicy; budgetGiB: number | null } {
  const inv = generateFleet({ volumes: spec.volumes, pools: spec.pools, seed: spec.seed });
  let budgetGiB: number | null = null;
  let drainPool: string | undefined;
  if (spec.drainBudgetShare !== undefined) {
    drainPool = inv.pools[1]!.name;
    const movable = inv.volumes.filter((v) => v.pool === drainPool && v.snapshotCount === 0).reduce((s, v) => s + v.sizeGiB, 0);
    budgetGiB = Math.floor(movable * spec.drainBudgetShare);
  }
  const pol = fleetPolicy(inv, {
    ...(spec.policy === 'balance' ? { costWeight: 0, balanceWeight: 1 } : {}),
    ...(drainPool ? { drainPool, maxBytes: `${budgetGiB}GiB` } : {}),
  });
  return { inv, pol, budgetGiB };
}

function maxUtil(inv: Inventory, p: Placement): number {
  const used = new Map(inv.pools.map((x) => [x.name, x.allocatedGiB]));
  for (const v of inv.volumes) {
    const to = p[v.id] ?? v.pool;
    if (to === v.pool) continue;
    used.set(v.pool, (used.get(v.pool) ?? 0) - v.sizeGiB);
    used.set(to, (used.get(to) ?? 0) + v.sizeGiB);
  }
  let max = 0;
  for (const x of inv.pools) {
    const t = Number(x.capacity.totalCapacityGb);
    const usable = t - Math.floor((t * x.capacity.reservedPercentage) / 100);
    max = Math.max(max, (used.get(x.name) ?? 0) / usable);
  }
  return max;
}

function movedGiB(inv: Inventory, p: Placement): { gib: number; moves: number } {
  let gib = 0;
  let moves = 0;
  for (const v of inv.volumes) {
    if ((p[v.id] ?? v.pool) !== v.pool) {
      gib += v.sizeGiB;
      moves++;
    }
  }
  return { gib, moves };
}

const r4 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1e4) / 1e4);
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Solves one instance in this process (the child side); returns plain data. */
export async function runSolverInstance(spec: SolverBenchSpec): Promise<Record<string, unknown>> {
  const { inv, pol, budgetGiB } = instance(spec);
  const t0 = performance.now();
  const r = await solvePlacement(inv, pol, { now: () => performance.now(), timeLimitMs: spec.timeLimitMs, engine: spec.engine ?? 'jslp' });
  const solveMs = performance.now() - t0;
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const violations = verifyPlacement(inv, pol, r.placement).length;
  const g0 = performance.now();
  const greedy = greedyPlacement(inv, pol, 'watcher');
  const greedyMs = performance.now() - g0;
  const ev = evaluatePlacement(inv, pol, r.placement);
  const gev = evaluatePlacement(inv, pol, greedy);
  const b0 = performance.now();
  const bound = r.lp && !r.lp.pruned && r.quality.bound !== null ? { bound: r.quality.bound, terms: r.lp.terms ?? {}, engine: 'jslp (in the solve)' } : null;
  const extra = bound ?? (await computeBound(inv, pol, { engine: spec.boundEngine, timeLimitMs: 120_000 }).then((b) => (b ? { bound: b.bound, terms: b.terms, engine: spec.boundEngine } : null)));
  const boundMs = performance.now() - b0;
  const unmetW = ev.terms.find((t) => t.name === 'unmet')!;
  const before = ev.totalBefore;
  const beforeNoUnmet = before - unmetW.weight * unmetW.before;
  const left = (after: number, b: number, bef: number): number | null => (bef - b > 1e-12 ? (after - b) / (bef - b) : null);
  const terms = ev.terms.map((t) => {
    const lp = extra?.terms[t.name];
    return { name: t.name, weight: t.weight, before: r6(t.before), after: r6(t.after), greedy: r6(gev.terms.find((x) => x.name === t.name)!.after), lp: lp === undefined ? null : r6(lp), left: lp === undefined ? null : r4(left(t.after, lp, t.before)) };
  });
  const m = movedGiB(inv, r.placement);
  const gm = movedGiB(inv, greedy);
  return {
    name: spec.name,
    engine: spec.engine ?? 'jslp',
    volumes: spec.volumes,
    pools: spec.pools,
    policy: spec.policy,
    budgetGiB,
    solveMs: Math.round(solveMs),
    peakRssMiB,
    method: r.quality.method,
    lp: r.lp ?? null,
    timeLimited: r.quality.timeLimited,
    violations,
    infeasible: r.infeasibility !== null,
    objectiveBefore: r6(before),
    objectiveBeforeWithoutUnmet: r6(beforeNoUnmet),
    objective: r6(ev.total),
    bound: extra ? r6(extra.bound) : null,
    boundEngine: extra?.engine ?? null,
    boundMs: Math.round(boundMs),
    improvementLeft: extra ? r4(left(ev.total, extra.bound, before)) : null,
    improvementLeftWithoutUnmet: extra ? r4(left(ev.total, extra.bound, beforeNoUnmet)) : null,
    terms,
    maxUtilBefore: r4(maxUtil(inv, {})),
    maxUtil: r4(maxUtil(inv, r.placement)),
    movedGiB: m.gib,
    moves: m.moves,
    greedy: { ms: Math.round(greedyMs), objective: r6(gev.total), maxUtil: r4(maxUtil(inv, greedy)), movedGiB: gm.gib, moves: gm.moves, left: extra ? r4(left(gev.total, extra.bound, beforeNoUnmet)) : null },
    candidates: r.candidates ?? {},
    notes: r.notes,
    targets: { ms: spec.targetMs, rssMiB: spec.targetRssMiB, left: spec.targetLeft },
  };
}

/** Runs every instance in a child process and writes `bench/results/solver.{json,md}` under `root`. */
export async function runSolverBench(opts: { root?: string; specs?: readonly SolverBenchSpec[]; log?: (line: string) => void } = {}): Promise<Record<string, unknown>> {
  const root = opts.root ?? ROOT;
  const rows: Record<string, unknown>[] = [];
  for (const spec of opts.specs ?? SOLVER_BENCH_SPECS) {
    const { stdout } = await execFileP(process.execPath, ['--max-old-space-size=6144', SELF, '--solver-bench-child', JSON.stringify(spec)], { maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 });
    const row = JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    rows.push(row);
    opts.log?.(`${spec.name}: ${String(row['solveMs'])} ms, ${String(row['peakRssMiB'])} MiB, left ${String(row['improvementLeftWithoutUnmet'])}`);
  }
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    rows,
  };
  const dir = path.join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'solver.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(dir, 'solver.md'), solverMarkdown(result));
  return result;
}

const pct = (x: unknown): string => (typeof x === 'number' ? `${(x * 100).toFixed(2)}%` : '—');

/** The Markdown tables for the README. */
export function solverMarkdown(result: { date: string; node: string; cpus: number; loadAverage1m: number; rows: Record<string, unknown>[] }): string {
  const lines = [
    `### Optimizer (${result.date.slice(0, 10)}, Node ${result.node}, ${result.cpus} CPUs, load average ${result.loadAverage1m} when written)`,
    '',
    'Generated fleets (`generateFleet`, seeded): skewed fills (a quarter of the pools start 90–99% full, above the 85% limit), three pool classes with prices, three zones, anti-affinity pairs/triples, 2% of volumes with snapshots (fixed). "left" = (plan − bound) / (current − bound), the share of the achievable improvement left; the current objective is taken without the penalty it pays for its over-full pools (with it, every plan leaves ≈ 0%). Bound = the aggregated LP relaxation (javascript-lp-solver when it fits, else HiGHS, solved after the timed run).',
    '',
    '| instance | time | target | peak RSS | method | objective: current → plan (bound) | left | target | max util: current → plan | GiB moved (moves) | violations |',
    '|---|---:|---:|---:|---|---|---:|---:|---|---:|---:|',
    ...result.rows.map(
      (r) =>
        `| ${String(r['name'])} | ${String(r['solveMs'])} ms | ${String((r['targets'] as Record<string, number>)['ms'])} ms | ${String(r['peakRssMiB'])} MiB | ${String(r['method'])} | ${String(r['objectiveBeforeWithoutUnmet'])} → ${String(r['objective'])} (${String(r['bound'] ?? '—')}) | ${pct(r['improvementLeftWithoutUnmet'])} | ${pct((r['targets'] as Record<string, unknown>)['left'])} | ${pct(r['maxUtilBefore'])} → ${pct(r['maxUtil'])} | ${String(r['movedGiB'])} (${String(r['moves'])}) | ${String(r['violations'])} |`,
    ),
    '',
    'Drain under a tight budget (the unmet term counts GiB still to leave and GiB over limits; "left" here includes it):',
    '',
    '| instance | byte budget | GiB moved | left (with unmet) | violations |',
    '|---|---:|---:|---:|---:|',
    ...result.rows.filter((r) => r['budgetGiB'] !== null).map((r) => `| ${String(r['name'])} | ${String(r['budgetGiB'])} GiB | ${String(r['movedGiB'])} GiB | ${pct(r['improvementLeft'])} | ${String(r['violations'])} |`),
    '',
    'Against the Watcher-style greedy baseline (drain, then move the largest volume that fits from the fullest pool to the emptiest eligible one until every pool is within a point of the average), same instance:',
    '',
    '| instance | Ballast objective | greedy objective | Ballast max util | greedy max util | Ballast GiB moved | greedy GiB moved | greedy left | greedy time |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => {
      const g = r['greedy'] as Record<string, unknown>;
      return `| ${String(r['name'])} | ${String(r['objective'])} | ${String(g['objective'])} | ${pct(r['maxUtil'])} | ${pct(g['maxUtil'])} | ${String(r['movedGiB'])} | ${String(g['movedGiB'])} | ${pct(g['left'])} | ${String(g['ms'])} ms |`;
    }),
    '',
    'Per term (before → plan; LP = the term at the LP optimum; left = (plan − LP)/(before − LP)):',
    '',
    '| instance | term | weight | before | plan | greedy | LP | left |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...result.rows.flatMap((r) =>
      (r['terms'] as Record<string, unknown>[])
        .filter((t) => t['weight'] !== 0 && t['name'] !== 'unmet')
        .map((t) => `| ${String(r['name'])} | ${String(t['name'])} | ${String(t['weight'])} | ${String(t['before'])} | ${String(t['after'])} | ${String(t['greedy'])} | ${String(t['lp'] ?? '—')} | ${pct(t['left'])} |`),
    ),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[2] === '--solver-bench') {
  await runSolverBench({ log: (line) => process.stdout.write(`${line}\n`) });
} else if (process.argv[2] === '--solver-bench-child') {
  const spec = JSON.parse(process.argv[3] as string) as SolverBenchSpec;
  const row = await runSolverInstance(spec);
  row['peakRssMiBWithBoundAndBaseline'] = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
