/**
 * One rebalancing run of a simulation: inventory of the simulated fleet, solve, plan, and the
 * plan's execution on the simulated control plane, recorded when it ends. One run at a time: a run
 * due while another executes is skipped and noted.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError } from '../shared/index.js';
import type { SimClock } from './clock.js';
import type { SimulatedControlPlane } from './control-plane.js';
import type { Engine, RunningExecution } from './engine.js';
import type { SimFleet } from './fleet.js';
import { fmtOffset } from './format.js';
import { buildSimInventory, fleetMonthlyCost } from './inventory-build.js';
import type { RebalanceRun } from './result.js';
import type { FleetTimeline } from './timeline.js';

interface ActiveRun {
  readonly index: number;
  readonly atMs: number;
  readonly planId: string;
  readonly plannedMoves: number;
  readonly plannedGiB: number;
  readonly costBefore: number;
  readonly logStart: number;
  readonly notes: string[];
  readonly exec: RunningExecution;
  finished: boolean;
}

/** sha256 of a compiled policy, so a plan names the policy it was made under. */
export function digest(policy: CompiledPolicy): string {
  return createHash('sha256').update(JSON.stringify(policy)).digest('hex');
}

/** What the rebalancer works with. */
export interface RebalanceWorld {
  readonly scenarioName: string;
  readonly sourceName: string;
  readonly startMs: number;
  readonly solveTimeLimitMs: number;
  readonly fleet: SimFleet;
  readonly cp: SimulatedControlPlane;
  readonly clock: SimClock;
  readonly engine: Engine;
  readonly timeline: FleetTimeline;
  policyNow(): CompiledPolicy;
}

/** Starts runs, and records each one when its execution ends. */
export class Rebalancer {
  readonly runs: RebalanceRun[] = [];
  /** Run index of each control-plane move (by its ref). */
  readonly runOfRef = new Map<string, number>();
  private active: ActiveRun | null = null;

  constructor(private readonly w: RebalanceWorld) {}

  /** Solves, plans and starts executing at offset `t` (or notes the skip when a run is executing). */
  async start(t: number): Promise<void> {
    const w = this.w;
    if (this.active) {
      this.active.notes.push(`the run due at ${fmtOffset(t)} was skipped: this run was still executing`);
      return;
    }
    const index = this.runs.length;
    const policy = w.policyNow();
    const nowMs = w.clock.nowMs();
    const inventory = buildSimInventory(w.fleet, policy, nowMs, `sim-${w.scenarioName}-${t}`, w.sourceName, (pool) => w.timeline.growthRate(pool, nowMs - w.startMs));
    const costBefore = fleetMonthlyCost(w.fleet, policy);
    const planId = `${w.scenarioName}-run${String(index + 1).padStart(3, '0')}`;
    const empty = (notes: string[]): void => {
      this.runs.push({ index, atMs: t, planId: null, plannedMoves: 0, plannedGiB: 0, done: 0, failed: 0, cancelled: 0, skipped: 0, movedGiB: 0, makespanMs: 0, costPerMonthBefore: costBefore, costPerMonthAfter: costBefore, notes });
    };
    const solved = await w.engine.solve(inventory, policy, { timeLimitMs: w.solveTimeLimitMs });
    if (solved.infeasibility) {
      const msg = solved.infeasibility.conflicts.join('; ');
      const closest = solved.infeasibility.relaxations.length > 0 ? ` (closest: ${solved.infeasibility.relaxations.join('; ')})` : '';
      w.timeline.oneOff('solver', 'infeasible', t, `no valid placement: ${msg}${closest}`);
      return empty([`infeasible: ${msg}`]);
    }
    if (solved.violations.length > 0) {
      for (const v of solved.violations) w.timeline.oneOff('solver', v.subject, t, `${v.constraint}: ${v.message}`);
      return empty([`the verifier found ${solved.violations.length} violations; no plan`]);
    }
    let plan;
    try {
      plan = w.engine.plan(inventory, policy, solved, { planId, nowMs, policyDigest: digest(policy) });
    } catch (e) {
      if (e instanceof AppError) return empty([`no plan: [${e.code}] ${e.message}`]);
      throw e;
    }
    if (plan.moves.length === 0) return empty(plan.notes.length > 0 ? [...plan.notes] : ['no move proposed']);
    const exec = w.engine.execute(plan, policy, w.cp, w.clock, planId);
    const run: ActiveRun = {
      index,
      atMs: t,
      planId,
      plannedMoves: plan.moves.length,
      plannedGiB: plan.moves.reduce((s, m) => s + (m.from === m.to ? 0 : m.sizeGiB), 0),
      costBefore,
      logStart: w.cp.moveLog().length,
      notes: [...plan.notes],
      exec,
      finished: false,
    };
    this.active = run;
    exec.done.then(
      (o) => this.finish(run, o),
      (e: unknown) => this.finish(run, { skipped: 0, notes: [`the executor failed: ${e instanceof Error ? e.message : String(e)}`] }),
    );
  }

  /** At the horizon: a run still executing is cancelled, and the clock runs until it has stopped. */
  async stopAtHorizon(): Promise<void> {
    const last = this.active;
    if (!last || last.finished) return;
    last.notes.push('cancelled at the end of the horizon');
    last.exec.cancel('the scenario horizon was reached');
    await this.w.clock.runUntil(last.exec.done.then(() => undefined, () => undefined));
    await this.w.clock.advanceTo(this.w.clock.nowMs());
  }

  private finish(r: ActiveRun, outcome: { readonly skipped: number; readonly notes: readonly string[] }): void {
    const w = this.w;
    r.finished = true;
    const log = w.cp.moveLog().slice(r.logStart);
    for (const m of log) this.runOfRef.set(m.ref, r.index);
    const starts = log.map((m) => m.acceptedAtMs);
    const ends = log.map((m) => m.finishedAtMs ?? w.clock.nowMs());
    this.runs.push({
      index: r.index,
      atMs: r.atMs,
      planId: r.planId,
      plannedMoves: r.plannedMoves,
      plannedGiB: r.plannedGiB,
      done: log.filter((m) => m.phase === 'success').length,
      failed: log.filter((m) => m.phase === 'error').length,
      cancelled: log.filter((m) => m.phase === 'cancelled').length,
      skipped: outcome.skipped,
      movedGiB: log.filter((m) => m.phase === 'success' && m.from !== m.to).reduce((s, m) => s + m.sizeGiB, 0),
      makespanMs: log.length > 0 ? Math.max(...ends) - Math.min(...starts) : 0,
      costPerMonthBefore: r.costBefore,
      costPerMonthAfter: fleetMonthlyCost(w.fleet, w.policyNow()),
      notes: [...r.notes, ...outcome.notes],
    });
    this.active = null;
  }
}
