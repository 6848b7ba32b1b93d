/**
 * Scheduled rebalancing: a cycle builds the inventory (control plane + telemetry), solves under
 * the policies, makes a plan and records it: waiting for approval (`approve` mode) or approved at
 * once (`auto`). Approved plans start as runs of the shared executor when a maintenance window is
 * open. Never two runs at once, never a cycle while a run is active; interrupted runs found in
 * the journal are resumed first. Stopping drains: no new move starts, running moves finish (or
 * are left to the journal), and the run resumes at the next start.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Actor, PlanRecord } from '../api/index.js';
import { Executor, guardPlan, newRunId, pidAlive, realTimers, settingsFromPolicy, windowOpen, type ExecutorDeps, type ExecutorEvent, type RunJournal } from '../executor/index.js';
import type { ControlPlane, Inventory } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError, toAppError, type Clock, type Logger } from '../shared/index.js';
import type { PriceCatalogue, TelemetryStore } from '../telemetry/index.js';
import { GatedControlPlane, type StartGate } from './gated-control-plane.js';
import { inventoryNow, planFrom, type PlanningDeps } from './planning.js';
import { RunEvents } from './run-events.js';
import type { CycleRecord, DaemonStore } from './state.js';

/** Rebalancing mode: plans run without a human (`auto`) or wait for approval (`approve`). */
export type DaemonMode = 'auto' | 'approve';

/** What the rebalancer works with. */
export interface RebalancerDeps {
  readonly controlPlane: ControlPlane;
  readonly journal: RunJournal;
  readonly store: DaemonStore;
  readonly telemetry: TelemetryStore;
  readonly telemetryConfig: PlanningDeps['telemetryConfig'];
  readonly catalogue: PriceCatalogue | null;
  /** Reads and compiles the policies (called at every cycle and run start: edits apply without a restart). */
  readonly loadPolicy: () => CompiledPolicy;
  readonly mode: DaemonMode;
  readonly clock: Clock;
  readonly log: Logger;
  readonly pid: number;
  /** Hard limit of a scheduled solve. */
  readonly solveTimeLimitMs: number;
  /** Executor test hook (crash points). */
  readonly afterTransition?: ExecutorDeps['afterTransition'];
}

interface ActiveRun {
  readonly executor: Executor;
  readonly runId: string;
  readonly planId: string;
}

/** See the module comment. */
export class Rebalancer {
  private active: ActiveRun | null = null;
  /** A run is being started or resumed (between the checks and the executor's launch). */
  private starting = false;
  private dispatching: Promise<void> | null = null;
  private cycling: Promise<CycleRecord> | null = null;
  private stopping = false;
  private lastWindowNote = '';
  private readonly unresumable = new Set<string>();
  private readonly events = new RunEvents();
  private readonly gate: StartGate = { draining: false, prechecking: new Set() };
  private readonly gated: GatedControlPlane;
  private readonly ownPlanMoves = new Map<string, string>();

  constructor(private readonly deps: RebalancerDeps) {
    this.gated = new GatedControlPlane(deps.controlPlane, this.gate);
  }

  /** The run this process executes now, if any. */
  get activeRun(): { readonly runId: string; readonly planId: string; readonly executor: Executor } | null {
    return this.active;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Subscribes to the executor events of a run; returns the unsubscribe function. */
  subscribe(runId: string, listener: (e: ExecutorEvent) => void): () => void {
    return this.events.subscribe(runId, listener);
  }

  /** The inventory now (TELEMETRY_STALE when a pool's newest capacity sample is too old). */
  inventoryNow(): Promise<Inventory> {
    return inventoryNow(this.deps);
  }

  /** A plan made now on request (a dry run from the API or CLI): recorded as recommended, even without moves. */
  async planNow(origin: PlanRecord['origin'], timeLimitMs: number, by: Actor): Promise<PlanRecord> {
    if (this.stopping) throw new AppError('DAEMON_STOPPING', 'the daemon is stopping');
    const startedAtMs = this.deps.clock.nowMs();
    const policy = this.deps.loadPolicy();
    const inv = await this.inventoryNow();
    const plan = await planFrom(inv, policy, timeLimitMs, this.deps.clock.nowMs());
    const r = this.deps.store.addPlan(plan, origin, null);
    this.deps.store.recordCycle({
      startedAtMs,
      finishedAtMs: this.deps.clock.nowMs(),
      trigger: 'api',
      outcome: r.kind === 'unchanged' ? 'unchanged' : 'planned',
      detail: `asked by ${by.user} (${by.via})`,
      inventoryId: inv.id,
      planId: r.record.id,
      solveMs: plan.quality.solveMs,
      improvementLeft: plan.quality.improvementLeft,
      moves: plan.moves.length,
    });
    this.deps.log.info('plan made on request', { plan: r.record.id, by: by.user, via: by.via, moves: plan.moves.length, outcome: r.kind });
    return r.record;
  }

  /** One scheduled cycle (see the module comment); recorded in the daemon state, never throws. */
  cycle(trigger: CycleRecord['trigger']): Promise<CycleRecord> {
    if (this.cycling) {
      const now = this.deps.clock.nowMs();
      return Promise.resolve({ startedAtMs: now, finishedAtMs: now, trigger, outcome: 'skipped', detail: 'a cycle is already running', inventoryId: null, planId: null, solveMs: null, improvementLeft: null, moves: null });
    }
    const p = this.cycleOnce(trigger).finally(() => {
      this.cycling = null;
    });
    this.cycling = p;
    return p;
  }

  private async cycleOnce(trigger: CycleRecord['trigger']): Promise<CycleRecord> {
    const startedAtMs = this.deps.clock.nowMs();
    const base = { startedAtMs, trigger, inventoryId: null, planId: null, solveMs: null, improvementLeft: null, moves: null };
    const finish = (c: Omit<CycleRecord, 'finishedAtMs'>): CycleRecord => {
      const rec: CycleRecord = { ...c, finishedAtMs: this.deps.clock.nowMs() };
      try {
        this.deps.store.recordCycle(rec);
      } catch (e) {
        this.deps.log.error('cannot record the cycle', { error: toAppError(e).message });
      }
      this.deps.log[c.outcome === 'failed' ? 'warn' : 'info']('rebalancing cycle', { trigger, outcome: c.outcome, detail: c.detail, plan: c.planId, moves: c.moves });
      return rec;
    };
    if (this.stopping) return finish({ ...base, outcome: 'skipped', detail: 'the daemon is stopping' });
    try {
      const policy = this.deps.loadPolicy();
      if (policy.when.paused) return finish({ ...base, outcome: 'skipped', detail: 'when.paused is true in the policies' });
      if (this.active || this.starting) return finish({ ...base, outcome: 'skipped', detail: `run ${this.active?.runId ?? '(starting)'} is in progress` });
      this.deps.store.expire(this.deps.clock.nowMs());
      const approved = this.deps.store.nextApproved();
      if (approved) return finish({ ...base, outcome: 'skipped', detail: `approved plan ${approved.record.id} waits for a maintenance window` });
      const inv = await this.inventoryNow();
      const plan = await planFrom(inv, policy, this.deps.solveTimeLimitMs, this.deps.clock.nowMs());
      const q = { inventoryId: inv.id, solveMs: plan.quality.solveMs, improvementLeft: plan.quality.improvementLeft, moves: plan.moves.length };
      if (plan.moves.length === 0) {
        const superseded = this.deps.store.supersedeWaiting(`superseded: inventory ${inv.id} needs no move`);
        return finish({ ...base, ...q, outcome: 'nothing-to-do', detail: superseded.length > 0 ? `superseded ${superseded.join(', ')}` : null });
      }
      const auto = this.deps.mode === 'auto' ? { by: 'auto', atMs: this.deps.clock.nowMs() } : null;
      const r = this.deps.store.addPlan(plan, 'schedule', auto);
      const detail = r.kind === 'unchanged' ? `plan ${r.record.id} still waits for approval (same moves)` : r.superseded.length > 0 ? `superseded ${r.superseded.join(', ')}` : null;
      const out = finish({ ...base, ...q, planId: r.record.id, outcome: r.kind === 'unchanged' ? 'unchanged' : 'planned', detail });
      if (r.kind === 'added') this.deps.log.info(auto ? 'plan approved automatically' : 'plan waits for approval', { plan: r.record.id, moves: r.record.moves, bytes: r.record.bytes });
      await this.dispatch();
      return out;
    } catch (e) {
      const err = toAppError(e);
      const outcome = err.code === 'PLAN_REFUSED' ? 'infeasible' : err.code === 'TELEMETRY_STALE' ? 'skipped' : 'failed';
      return finish({ ...base, outcome, detail: `${err.code}: ${err.message}` });
    }
  }

  /**
   * Starts what should run now, if nothing runs: an interrupted run from the journal first, then
   * the oldest approved plan when a maintenance window is open. Never throws (logs instead).
   */
  dispatch(): Promise<void> {
    if (this.stopping || this.active || this.starting) return Promise.resolve();
    this.dispatching ??= this.dispatchOnce().finally(() => {
      this.dispatching = null;
    });
    return this.dispatching;
  }

  private async dispatchOnce(): Promise<void> {
    try {
      const now = this.deps.clock.nowMs();
      const interrupted = this.deps.journal.interruptedRuns(pidAlive).filter((id) => !this.unresumable.has(id));
      if (interrupted.length > 0) {
        await this.resume(interrupted[0]!);
        return;
      }
      for (const id of this.deps.store.expire(now)) this.deps.log.info('plan expired before it could run', { plan: id });
      const next = this.deps.store.nextApproved();
      if (!next) return;
      const policy = this.deps.loadPolicy();
      const closed = policy.when.paused ? 'when.paused is true' : !windowOpen(now, policy.when.maintenanceWindows) ? 'outside the maintenance windows' : null;
      if (closed) {
        const note = `${next.record.id}: ${closed}`;
        if (note !== this.lastWindowNote) this.deps.log.info('approved plan waits', { plan: next.record.id, reason: closed });
        this.lastWindowNote = note;
        return;
      }
      try {
        await this.startRun(next.record.id, { user: next.record.decidedBy ?? 'auto', via: 'api' }, { ignoreWindows: false });
      } catch (e) {
        const err = toAppError(e);
        // A plan that can never start is failed once, instead of being retried every tick.
        if (!err.retryable && !['RUN_BUSY', 'DAEMON_STOPPING', 'PLAN_EXPIRED'].includes(err.code)) {
          this.deps.store.markFailed(next.record.id, `${err.code}: ${err.message}`);
          this.deps.log.error('approved plan cannot start', { plan: next.record.id, code: err.code, error: err.message });
          return;
        }
        throw e;
      }
    } catch (e) {
      const err = toAppError(e);
      this.deps.log.error('dispatch failed', { code: err.code, error: err.message });
    }
  }

  /** Starts a run from a recommended or approved plan now; RUN_BUSY while a run is active. */
  async startRun(planId: string, by: Actor, opts: { readonly ignoreWindows: boolean }): Promise<{ readonly runId: string }> {
    if (this.stopping) throw new AppError('DAEMON_STOPPING', 'the daemon is stopping: no run starts');
    if (this.active) throw new AppError('RUN_BUSY', `run ${this.active.runId} is in progress: one run at a time`);
    if (this.starting) throw new AppError('RUN_BUSY', 'a run is being started or resumed: one run at a time');
    this.starting = true;
    try {
      return await this.startRunNow(planId, by, opts);
    } finally {
      this.starting = false;
    }
  }

  private async startRunNow(planId: string, by: Actor, opts: { readonly ignoreWindows: boolean }): Promise<{ readonly runId: string }> {
    const { record, plan } = this.deps.store.get(planId);
    if (record.status !== 'recommended' && record.status !== 'approved') {
      throw new AppError('PLAN_NOT_WAITING', `plan ${planId} is ${record.status}${record.runId ? ` (run ${record.runId})` : ''}: only a recommended or approved plan can start a run`);
    }
    const now = this.deps.clock.nowMs();
    try {
      guardPlan(plan, await this.deps.controlPlane.listPools(), now);
    } catch (e) {
      if (e instanceof AppError && e.code === 'PLAN_EXPIRED') this.deps.store.expire(now);
      throw e;
    }
    if (this.stopping) throw new AppError('DAEMON_STOPPING', 'the daemon is stopping: no run starts');
    const policy = this.deps.loadPolicy();
    const settings = settingsFromPolicy(policy, opts.ignoreWindows ? { windows: [] } : {});
    const runId = newRunId(now);
    const ex = Executor.create(this.executorDeps(), plan, settings, runId);
    this.deps.store.markApplied(planId, runId, by.user, now);
    this.deps.log.info('run started', { run: runId, plan: planId, by: by.user, moves: plan.moves.length });
    this.launch(ex, planId);
    return { runId };
  }

  /** Cancels a run: the one executing here at once; another process's through the journal. */
  async cancelRun(runId: string, by: Actor): Promise<void> {
    if (this.active?.runId === runId) {
      this.active.executor.cancel(`cancelled by ${by.user} (${by.via})`);
      return;
    }
    const { run } = this.deps.journal.load(runId);
    if (run.state === 'finished' || run.state === 'cancelled') throw new AppError('RUN_BUSY', `run ${runId} has already ${run.state === 'finished' ? 'finished' : 'been cancelled'}`);
    this.deps.journal.requestCancel(runId, this.deps.clock.nowMs());
    this.deps.log.info('run cancel requested', { run: runId, by: by.user, owner: run.ownerPid });
  }

  /**
   * Drains for a stop: dispatch stops, no new move starts, and this waits until no move is
   * prechecking, running or verifying (or `graceMs` passed). Returns the run left unfinished, if any.
   */
  async drain(graceMs: number): Promise<string | null> {
    this.stopping = true;
    this.gate.draining = true;
    await this.cycling; // a solve is bounded by its time limit
    await this.dispatching;
    const deadline = performance.now() + graceMs;
    while (this.active && performance.now() < deadline) {
      const busy = this.active.executor.moves.some((m) => m.state === 'prechecking' || m.state === 'running' || m.state === 'verifying');
      if (!busy) break;
      await realTimers.sleep(50);
    }
    return this.active?.runId ?? null;
  }

  /**
   * Marks the unfinished run ownerless in the journal (state stays `running`), so that the next
   * daemon resumes it even if it gets this process's pid. Call last, right before exiting.
   */
  abandon(note: string): void {
    if (!this.active || this.active.executor.run.state !== 'running') return; // ended meanwhile: nothing to leave
    this.deps.journal.setRunState(this.active.runId, 'running', note, this.deps.clock.nowMs(), null);
  }

  private async resume(runId: string): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    try {
      const ex = await Executor.resume(this.executorDeps(), runId, pidAlive);
      this.deps.log.info('resuming interrupted run', { run: runId, plan: ex.plan.id });
      this.launch(ex, ex.plan.id);
    } catch (e) {
      const err = toAppError(e);
      this.unresumable.add(runId);
      this.deps.log.error('cannot resume run', { run: runId, code: err.code, error: err.message });
    } finally {
      this.starting = false;
    }
  }

  private launch(ex: Executor, planId: string): void {
    const runId = ex.run.id;
    for (const m of ex.plan.moves) this.ownPlanMoves.set(`${runId}/${m.id}`, m.volumeId);
    void ex
      .execute()
      .then((summary) => {
        const c = summary.counts;
        this.deps.log.info('run ended', { run: runId, plan: planId, state: summary.state, done: c.done, skipped: c.skipped, failed: c.failed, cancelled: c.cancelled, bytes_moved: summary.bytesMoved, elapsed_ms: summary.elapsedMs });
      })
      .catch((e: unknown) => {
        const err = toAppError(e);
        if (!this.stopping) this.deps.log.error('run stopped by an error', { run: runId, code: err.code, error: err.message });
      })
      .finally(() => {
        if (this.active?.runId === runId) this.active = null;
        for (const m of ex.plan.moves) this.ownPlanMoves.delete(`${runId}/${m.id}`);
        if (!this.stopping) void this.dispatch();
      });
    this.active = { executor: ex, runId, planId };
  }

  private executorDeps(): ExecutorDeps {
    return {
      controlPlane: this.gated,
      journal: this.deps.journal,
      clock: this.deps.clock,
      timers: realTimers,
      pid: this.deps.pid,
      onEvent: (e) => this.onEvent(e),
      ...(this.deps.afterTransition ? { afterTransition: this.deps.afterTransition } : {}),
    };
  }

  private onEvent(e: ExecutorEvent): void {
    const runId = this.active?.runId ?? null;
    if (e.kind === 'transition') {
      const volumeId = runId ? this.ownPlanMoves.get(`${runId}/${e.moveId}`) : undefined;
      if (volumeId) {
        if (e.to === 'prechecking') this.gate.prechecking.add(volumeId);
        else this.gate.prechecking.delete(volumeId);
      }
      this.deps.log.info('move', { run: runId, move: e.moveId, from: e.from, to: e.to, reason: e.reason });
    } else if (e.kind === 'run') this.deps.log.info('run state', { run: runId, state: e.state, note: e.note });
    if (runId) this.events.emit(runId, e);
  }
}
