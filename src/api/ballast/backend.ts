/**
 * The port Ballast's API is served from: what the daemon (or any host process) provides. The API
 * validates and authorizes; the backend does the work and throws AppErrors with stable codes.
 *
 * @module
 */
import type { ExecutorEvent } from '../../executor/index.js';
import type { Entity } from '../../telemetry/index.js';
import type { MetricFamily } from './prometheus.js';
import type { Plan } from '../../model/index.js';
import type { Health, InventoryView, PlanCreateRequest, PlanRecord, Ready, RunDetail, RunItem, TelemetrySeries } from './schemas.js';

/** A telemetry query (window bounds inclusive). */
export interface TelemetryQuery {
  readonly entity: Entity;
  readonly metric: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly keys?: readonly string[];
}

/** Who asked for a state change (for the record and the log). */
export interface Actor {
  readonly user: string;
  readonly via: 'api' | 'cli';
}

/** What Ballast's API needs from the process serving it. */
export interface BallastBackend {
  health(): Health;
  readiness(): Promise<Ready>;
  /** The inventory as it would be built now; TELEMETRY_STALE when telemetry is too old. */
  inventory(): Promise<InventoryView>;
  telemetry(q: TelemetryQuery): Promise<TelemetrySeries>;
  /** Makes a plan now from the configured policies (waits as recommended). */
  createPlan(req: PlanCreateRequest, by: Actor): Promise<PlanRecord>;
  listPlans(limit: number): PlanRecord[];
  /** A plan and its record (the plan as the model types it; the API checks it against PlanDetail). */
  getPlan(id: string): { readonly record: PlanRecord; readonly plan: Plan };
  approvePlan(id: string, by: Actor, note: string | null): PlanRecord;
  rejectPlan(id: string, by: Actor, note: string | null): PlanRecord;
  /** Starts a run from a plan now (RUN_BUSY while another runs). */
  startRun(planId: string, by: Actor, opts: { readonly ignoreWindows: boolean }): Promise<RunItem>;
  listRuns(limit: number): RunItem[];
  getRun(id: string): RunDetail;
  cancelRun(id: string, by: Actor): RunItem;
  /** Executor events of a run this process executes; returns the unsubscribe function. */
  subscribe(runId: string, listener: (e: ExecutorEvent) => void): () => void;
  metrics(): Promise<readonly MetricFamily[]>;
}
