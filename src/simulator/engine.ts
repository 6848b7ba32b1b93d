/**
 * The engine of a simulation: the production solver, planner and executor, behind one small
 * interface so the runner states exactly what it needs of them (and tests can count calls).
 *
 * @module
 */
import type { Inventory, Plan } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { Executor, RunJournal, settingsFromPolicy } from '../executor/index.js';
import { makePlan } from '../planner/index.js';
import { solvePlacement, type SolveResult } from '../solver/index.js';
import type { SimClock } from './clock.js';
import type { SimulatedControlPlane } from './control-plane.js';

/** What one execution of a plan reports at its end. */
export interface ExecutionOutcome {
  readonly state: string;
  readonly skipped: number;
  readonly notes: readonly string[];
}

/** A plan being executed on the simulated clock. */
export interface RunningExecution {
  readonly done: Promise<ExecutionOutcome>;
  /** Stops dispatch and cancels running moves (at the end of the horizon). */
  cancel(note: string): void;
}

/** The three production steps a rebalancing run goes through. */
export interface Engine {
  solve(inventory: Inventory, policy: CompiledPolicy, opts: { readonly timeLimitMs: number }): Promise<SolveResult>;
  plan(inventory: Inventory, policy: CompiledPolicy, solve: SolveResult, opts: { readonly planId: string; readonly nowMs: number; readonly policyDigest: string }): Plan;
  execute(plan: Plan, policy: CompiledPolicy, controlPlane: SimulatedControlPlane, clock: SimClock, runId: string): RunningExecution;
}

/** Options of {@link productionEngine}. */
export interface ProductionEngineOptions {
  /** How often the executor polls running moves, in simulated ms (default 5 s: a finer poll only costs events). */
  readonly pollIntervalMs?: number;
}

/**
 * The production pipeline: `solvePlacement` (time limit on the wall clock, the only thing the
 * simulated clock cannot stand in for), `makePlan`, and the shared `Executor` with an in-memory
 * journal, the simulated control plane and the simulated clock as its timers.
 */
export function productionEngine(opts: ProductionEngineOptions = {}): Engine {
  return {
    solve: (inventory, policy, o) => solvePlacement(inventory, policy, { timeLimitMs: o.timeLimitMs, now: () => performance.now() }),
    plan: (inventory, policy, solve, o) => makePlan(inventory, policy, solve, o),
    execute(plan, policy, controlPlane, clock, runId) {
      const journal = RunJournal.open(':memory:');
      const settings = settingsFromPolicy(policy, { pollIntervalMs: opts.pollIntervalMs ?? 5000, outsideWindow: 'wait' });
      const ex = Executor.create({ controlPlane, journal, clock, timers: clock, pid: process.pid }, plan, settings, runId);
      const done = ex.execute().then(
        (s) => {
          journal.close();
          return { state: s.state, skipped: s.skipped.length, notes: s.note ? [s.note] : [] };
        },
        (e: unknown) => {
          journal.close();
          throw e;
        },
      );
      return { done, cancel: (note) => ex.cancel(note) };
    },
  };
}
