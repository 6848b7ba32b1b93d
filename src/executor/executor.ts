/**
 * The shared executor: runs a plan's moves through the ControlPlane port, starting each as soon
 * as a slot frees under every limit (no batch barriers), inside maintenance windows and health
 * gates, with retries by error code, cancel, progress events, and a journal that lets a crashed
 * run resume. The same code runs in the CLI, the daemon and (on a simulated clock) the simulator.
 *
 * @module
 */
import { toAppError, type Clock } from '../shared/index.js';
import type { ControlPlane, MoveProgress, Plan } from '../model/index.js';
import { SlotBook } from './admission.js';
import { Dispatcher } from './dispatcher.js';
import { moveRequest, precheck, verifyMoved } from './checks.js';
import { PoolCache } from './pool-cache.js';
import { outcomeOf, type StopReason } from './outcome.js';
import type { RunJournal } from './journal.js';
import { ProgressTracker } from './progress.js';
import { summarize } from './summary.js';
import { Waker, type Timers } from './timers.js';
import { TERMINAL, type MoveState } from './transitions.js';
import type { ExecutorEvent, MoveRecord, RunProgress, RunRecord, RunSettings, RunState, RunSummary } from './types.js';
import { nextOpening, windowOpen } from './windows.js';
import { Breaker } from './breaker.js';

/** What an executor is given: the port, the journal, time, and who listens. */
export interface ExecutorDeps {
  readonly controlPlane: ControlPlane;
  readonly journal: RunJournal;
  readonly clock: Clock;
  readonly timers: Timers;
  /** This process's id (owner of the run). */
  readonly pid: number;
  readonly onEvent?: (e: ExecutorEvent) => void;
  /** Called after every journaled transition (tests use it to crash at chosen points). */
  readonly afterTransition?: (rec: MoveRecord, from: MoveState) => void;
}

export class Executor {
  private readonly slots = new SlotBook();
  private readonly tracker = new ProgressTracker();
  private readonly waker = new Waker();
  private readonly breaker: Breaker;
  /** Moves whose start is in progress (precheck or startMove awaited). */
  private readonly launching = new Set<Promise<void>>();
  private readonly starting = new Set<string>();
  /** Running moves cancelled by the executor, and why (to tell a cancel from a requeue or a timeout). */
  private readonly stopping = new Map<string, StopReason>();
  /** Moves re-attached after a restart: a rollback found for them is an interruption, not a failure. */
  private readonly reattached = new Set<string>();
  /** Running moves the control plane said it cannot stop (they finish and are verified). */
  private readonly unstoppable = new Set<string>();
  private cancelling = false;
  /** An unexpected error of a move's start (a bug or a journal taken over): the run stops and rethrows it. */
  private fatal: unknown = null;
  /** When each running move's bytes were last saved to the journal (for `run show` elsewhere). */
  private readonly bytesSavedAtMs = new Map<string, number>();
  /** Moves that have ended or been requeued (their pool numbers changed). */
  private ends = 0;
  private cancelNote: string | null = null;
  private waitingFor: string | null = null;
  private readonly pools: PoolCache;
  private readonly dispatcher: Dispatcher;
  private readonly byId: Map<string, MoveRecord>;

  private constructor(
    private readonly deps: ExecutorDeps,
    readonly run: RunRecord,
    readonly plan: Plan,
    readonly settings: RunSettings,
    readonly moves: MoveRecord[],
  ) {
    this.byId = new Map(moves.map((m) => [m.move.id, m]));
    this.breaker = new Breaker(settings.breakerFailures, settings.breakerWindowMs, settings.breakerCooldownMs);
    this.pools = new PoolCache(deps.controlPlane, this.slots);
    this.dispatcher = new Dispatcher(plan, settings, this.slots, this.pools, this.byId);
  }

  /** A new run of `plan` (journaled before anything happens). */
  static create(deps: ExecutorDeps, plan: Plan, settings: RunSettings, runId: string): Executor {
    const loaded = deps.journal.createRun(runId, plan, settings, deps.clock.nowMs(), deps.pid);
    return new Executor(deps, loaded.run, loaded.plan, loaded.settings, loaded.moves);
  }

  /**
   * Resumes a run from its journal after a crash or a pause: takes ownership (refused while
   * another live process owns it), then reconciles every unfinished move with the control plane.
   */
  static async resume(deps: ExecutorDeps, runId: string, alive: (pid: number) => boolean): Promise<Executor> {
    deps.journal.claim(runId, deps.pid, deps.clock.nowMs(), alive);
    const loaded = deps.journal.load(runId);
    const ex = new Executor(deps, loaded.run, loaded.plan, loaded.settings, loaded.moves);
    await ex.reconcile();
    return ex;
  }

  /** Stops dispatch at once and cancels running moves where the control plane can. */
  cancel(note = 'cancelled'): void {
    if (this.cancelling) return;
    this.cancelling = true;
    this.cancelNote = note;
    this.waker.wake();
  }

  /** Wakes the loop now (e.g. the clock jumped, or a pool came back): it re-checks gates and slots. */
  wake(): void {
    this.waker.wake();
  }

  /** The run's progress now. */
  progress(): RunProgress {
    return this.tracker.view(this.run.id, this.moves, this.now(), this.waitingFor);
  }

  /** Counts of the moves holding slots (for tests sampling limits). */
  inFlight(): ReturnType<SlotBook['snapshot']> {
    return this.slots.snapshot();
  }

  /** Runs until every move has ended, the run is cancelled, or (outsideWindow: stop) a window closes. */
  async execute(): Promise<RunSummary> {
    const s = this.settings;
    await this.deps.controlPlane.setCopyBandwidth?.(s.limits.maxBandwidthBytesPerSec);
    this.setRunState('running', null);
    let paused: string | null = null;
    for (;;) {
      if (!this.cancelling && this.deps.journal.cancelRequested(this.run.id)) this.cancel('cancelled by request (ballast run cancel)');
      await this.pollRunning();
      const now = this.now();
      if (this.cancelling) {
        await this.cancelEverything();
        if (this.slots.size === 0 && this.launching.size === 0) break;
      } else {
        const open = windowOpen(now, s.windows);
        if (!open && !s.finishRunningAtWindowClose) await this.stopRunning('requeue');
        this.waitingFor = !open ? 'maintenance window closed' : this.breaker.openUntil(now) !== null ? `circuit breaker open: ${this.breaker.describe(now)}` : null;
        if (this.waitingFor === null) await this.dispatch();
        if (this.moves.every((r) => TERMINAL.has(r.state))) break;
        if (this.waitingFor !== null && this.slots.size === 0 && this.launching.size === 0) {
          if (!open && s.outsideWindow === 'stop') {
            paused = 'outside the maintenance windows; resume to continue';
            break;
          }
          this.emitProgress();
          await this.waitGate(now, open);
          continue;
        }
      }
      this.emitProgress();
      await this.waker.wait(this.deps.timers, s.pollIntervalMs);
    }
    await Promise.all(this.launching);
    if (this.fatal !== null) throw this.fatal;
    this.emitProgress();
    const state: RunState = this.cancelling ? 'cancelled' : paused ? 'paused' : 'finished';
    this.setRunState(state, this.cancelling ? this.cancelNote : paused, null);
    return summarize(this.run, this.moves, this.now());
  }

  // ---- dispatch ----

  private async dispatch(): Promise<void> {
    const now = this.now();
    const round = await this.dispatcher.round(this.moves, now, this.ends, this.launching.size > 0);
    if (round.waitingFor !== null) this.waitingFor = round.waitingFor;
    for (const [rec, reason] of round.skip) this.transition(rec, 'skipped', { reason, finishedAtMs: now });
    for (const rec of round.start) {
      const p = this.launch(rec)
        .catch((e: unknown) => {
          this.fatal ??= e;
          this.cancel(`stopped by an internal error: ${e instanceof Error ? e.message : String(e)}`);
        })
        .finally(() => this.launching.delete(p));
      this.launching.add(p);
    }
  }

  private async launch(rec: MoveRecord): Promise<void> {
    const m = rec.move;
    this.starting.add(m.id);
    try {
      this.transition(rec, 'prechecking', { reason: null });
      const verdict = precheck(await this.deps.controlPlane.getVolume(m.volumeId), m);
      if (verdict.kind === 'skip') {
        this.transition(rec, 'skipped', { reason: verdict.reason, finishedAtMs: this.now() });
        return;
      }
      if (this.cancelling) {
        this.transition(rec, 'cancelled', { reason: this.cancelNote, finishedAtMs: this.now() });
        return;
      }
      if (!windowOpen(this.now(), this.settings.windows)) {
        this.transition(rec, 'pending', { reason: 'maintenance window closed before it started' });
        return;
      }
      this.transition(rec, 'running', { attempts: rec.attempts + 1, handle: null, startedAtMs: this.now(), errorCode: null });
      const handle = await this.deps.controlPlane.startMove(moveRequest(m, this.settings));
      this.deps.journal.setHandle(rec, handle);
      if (this.cancelling) await this.stopOne(rec, 'cancel');
    } catch (e) {
      const err = toAppError(e);
      if (rec.state === 'prechecking') {
        if (err.retryable) this.transition(rec, 'pending', { reason: `precheck failed: ${err.code}: ${err.message}`, notBeforeMs: this.now() + this.settings.retryBaseMs });
        else this.transition(rec, 'failed', { reason: `precheck failed: ${err.message}`, errorCode: err.code, finishedAtMs: this.now() });
      } else if (rec.state === 'running') {
        this.failAttempt(rec, err.code, `refused: ${err.message}`, err.retryable);
      } else throw e;
    } finally {
      this.starting.delete(m.id);
      if (rec.state !== 'running' && rec.state !== 'verifying') this.slots.remove(m.id);
      this.waker.wake();
    }
  }

  // ---- running moves ----

  private async pollRunning(): Promise<void> {
    for (const rec of this.moves) {
      if (rec.state !== 'running' && rec.state !== 'verifying') continue;
      if (rec.state === 'running' && !rec.handle && this.starting.has(rec.move.id)) continue;
      try {
        await this.pollOne(rec);
      } catch (e) {
        // A busy control plane is asked again next time; anything else ends this move, not the run.
        const err = toAppError(e);
        if (!err.retryable && !TERMINAL.has(rec.state)) this.end(rec, 'failed', `while following the move: ${err.message}`, err.code);
      }
    }
  }

  private async pollOne(rec: MoveRecord): Promise<void> {
    if (rec.state === 'verifying') return this.verify(rec);
    if (!rec.handle) return this.reconcileByVolume(rec);
    let p: MoveProgress;
    try {
      p = await this.deps.controlPlane.moveProgress(rec.handle);
    } catch (e) {
      if (toAppError(e).retryable) throw e;
      return this.reconcileByVolume(rec); // the control plane does not know the handle (any more)
    }
    await this.onProgress(rec, p);
  }

  private async onProgress(rec: MoveRecord, p: MoveProgress): Promise<void> {
    const now = this.now();
    if (p.bytesTotal !== null && p.bytesTotal > 0) rec.bytesTotal = p.bytesTotal;
    if (p.bytesDone !== null) {
      rec.bytesDone = p.bytesDone;
      this.tracker.observe(rec.move.id, p.bytesDone, now);
      if (now - (this.bytesSavedAtMs.get(rec.move.id) ?? 0) >= 1000) {
        this.bytesSavedAtMs.set(rec.move.id, now);
        this.deps.journal.saveBytes(rec);
      }
    }
    const why = this.stopping.get(rec.move.id);
    if (p.state === 'running') {
      if (!why && rec.startedAtMs !== null && now - rec.startedAtMs > this.settings.moveTimeoutMs) await this.stopOne(rec, 'timeout');
      return;
    }
    this.stopping.delete(rec.move.id);
    const reattached = this.reattached.delete(rec.move.id);
    const o = outcomeOf(p, { why, reattached, cancelling: this.cancelling, cancelNote: this.cancelNote, moveTimeoutMs: this.settings.moveTimeoutMs });
    if (o.kind === 'verify') {
      this.transition(rec, 'verifying', { reason: o.note });
      await this.verify(rec);
    } else if (o.kind === 'requeue') this.requeue(rec, o.reason);
    else if (o.kind === 'cancelled') this.end(rec, 'cancelled', o.reason, null);
    else this.failAttempt(rec, o.code, o.message, o.retryable);
  }

  private async verify(rec: MoveRecord): Promise<void> {
    const v = verifyMoved(await this.deps.controlPlane.getVolume(rec.move.volumeId), rec.move);
    if (v.ok) {
      this.end(rec, 'done', v.note ?? rec.reason, null);
      this.breaker.success();
    } else this.end(rec, 'failed', `verification failed: ${v.reason}`, 'MOVE_VERIFY_FAILED');
  }

  /** A failed attempt: retried (back to pending, after a backoff) when retryable and attempts are left; else failed. */
  private failAttempt(rec: MoveRecord, code: string, message: string, retryable: boolean): void {
    const now = this.now();
    this.breaker.failure(now, rec.move.id);
    const s = this.settings;
    if (retryable && rec.attempts < s.maxAttempts && !this.cancelling) {
      const backoff = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** (rec.attempts - 1));
      this.transition(rec, 'pending', { reason: `attempt ${rec.attempts} failed: ${code}: ${message}; retry in ${backoff} ms`, errorCode: code, notBeforeMs: now + backoff, handle: null });
      this.release(rec);
      return;
    }
    const why = retryable ? `failed after ${rec.attempts} attempt${rec.attempts === 1 ? '' : 's'}` : 'failed (not retryable)';
    this.end(rec, 'failed', `${why}: ${message}`, code);
  }

  private requeue(rec: MoveRecord, reason: string): void {
    rec.bytesDone = 0;
    this.transition(rec, 'pending', { reason, handle: null, attempts: Math.max(0, rec.attempts - 1) });
    this.release(rec);
  }

  private end(rec: MoveRecord, to: 'done' | 'failed' | 'cancelled' | 'skipped', reason: string | null, code: string | null): void {
    this.transition(rec, to, { reason, errorCode: code, finishedAtMs: this.now() });
    this.release(rec);
  }

  private release(rec: MoveRecord): void {
    if (rec.state === 'done') this.pools.landed(rec.move);
    this.ends++;
    this.bytesSavedAtMs.delete(rec.move.id);
    this.slots.remove(rec.move.id);
    this.tracker.forget(rec.move.id);
    this.waker.wake();
  }

  private async stopOne(rec: MoveRecord, why: StopReason): Promise<void> {
    if (!rec.handle || this.stopping.has(rec.move.id) || this.unstoppable.has(rec.move.id)) return;
    this.stopping.set(rec.move.id, why);
    const r = await this.deps.controlPlane.cancelMove(rec.handle);
    if (!r.cancelled) {
      // It cannot be stopped (past the point of no return, or Cinder): it finishes and is verified.
      this.stopping.delete(rec.move.id);
      this.unstoppable.add(rec.move.id);
      rec.reason = `could not be stopped: ${r.reason}`;
    }
  }

  private async stopRunning(why: 'cancel' | 'requeue'): Promise<void> {
    for (const rec of this.moves) if (rec.state === 'running') await this.stopOne(rec, why);
  }

  private async cancelEverything(): Promise<void> {
    const now = this.now();
    for (const rec of this.moves) {
      if (rec.state === 'pending') this.transition(rec, 'cancelled', { reason: this.cancelNote, finishedAtMs: now });
    }
    await this.stopRunning('cancel');
  }

  // ---- resume ----

  /** After a restart: prechecks redo, running moves are re-attached or re-checked, verifications redo. */
  private async reconcile(): Promise<void> {
    for (const rec of this.moves) {
      if (rec.state === 'prechecking') this.transition(rec, 'pending', { reason: 'interrupted during its precheck' });
      else if (rec.state === 'running' || rec.state === 'verifying') {
        this.slots.add(rec.move);
        if (rec.state === 'running') this.reattached.add(rec.move.id);
      }
    }
  }

  /** A running move without a usable handle: decide from the volume itself. */
  private async reconcileByVolume(rec: MoveRecord): Promise<void> {
    const v = await this.deps.controlPlane.getVolume(rec.move.volumeId);
    if (v && verifyMoved(v, rec.move).ok) {
      this.transition(rec, 'verifying', { reason: 'found moved after a restart' });
      await this.verify(rec);
    } else if (v && v.migrationStatus !== null && ['starting', 'migrating', 'completing'].includes(v.migrationStatus)) {
      this.waitingFor = `volume ${rec.move.volumeName} is still migrating in the control plane`;
    } else {
      this.reattached.delete(rec.move.id);
      this.requeue(rec, 'interrupted before the control plane took it (or it rolled back); starts again');
    }
  }

  // ---- helpers ----

  private async waitGate(now: number, open: boolean): Promise<void> {
    const until = !open ? nextOpening(now, this.settings.windows) : this.breaker.openUntil(now);
    const ms = until === null ? 60_000 : Math.max(this.settings.pollIntervalMs, until - now);
    // Wake at least every 5 s to notice a cancel request from another process.
    await this.waker.wait(this.deps.timers, Math.min(ms, 5_000));
  }

  private transition(rec: MoveRecord, to: MoveState, patch: Parameters<RunJournal['transition']>[2]): void {
    const from = rec.state;
    this.deps.journal.transition(rec, to, patch, this.now());
    this.emit({ kind: 'transition', atMs: this.now(), moveId: rec.move.id, from, to, reason: rec.reason });
    this.deps.afterTransition?.(rec, from);
  }

  private setRunState(state: RunState, note: string | null, owner: number | null = this.deps.pid): void {
    this.run.state = state;
    this.run.note = note;
    this.deps.journal.setRunState(this.run.id, state, note, this.now(), owner);
    this.emit({ kind: 'run', atMs: this.now(), state, note });
  }

  private emitProgress(): void {
    this.emit({ kind: 'progress', atMs: this.now(), progress: this.progress() });
  }

  private emit(e: ExecutorEvent): void {
    this.deps.onEvent?.(e);
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }
}
