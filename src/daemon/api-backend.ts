/**
 * The daemon as the backend of Ballast's API: views of its rebalancer, state, journal and
 * telemetry in the API's shapes.
 *
 * @module
 */
import type { Actor, BallastBackend, InventoryView, MetricFamily, PlanRecord, Ready, RunDetail, RunItem, TelemetryQuery, TelemetrySeries } from '../api/index.js';
import { pidAlive, type RunJournal, type RunProgress, type RunRecord } from '../executor/index.js';
import type { ControlPlane } from '../model/index.js';
import { AppError, toAppError } from '../shared/index.js';
import { stalePools, type MetricName, type TelemetryStore } from '../telemetry/index.js';
import { collectMetrics } from './metrics.js';
import type { DaemonMode, Rebalancer } from './rebalancer.js';
import type { DaemonStore } from './state.js';

/** What the API backend reads. */
export interface ApiBackendDeps {
  readonly rebalancer: Rebalancer;
  readonly store: DaemonStore;
  readonly journal: RunJournal;
  readonly controlPlane: ControlPlane;
  readonly telemetry: TelemetryStore;
  readonly maxAgeMs: number;
  readonly mode: DaemonMode;
  readonly pid: number;
  readonly startedAtMs: number;
  readonly nowMs: () => number;
}

const DEFAULT_SOLVE_LIMIT_MS = 10_000;

function numeric(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The daemon's {@link BallastBackend}. */
export class DaemonApiBackend implements BallastBackend {
  constructor(private readonly d: ApiBackendDeps) {}

  health() {
    return { status: 'ok' as const, pid: this.d.pid, uptimeMs: Math.max(0, this.d.nowMs() - this.d.startedAtMs), mode: this.d.mode, stopping: this.d.rebalancer.isStopping };
  }

  async readiness(): Promise<Ready> {
    const checks: Ready['checks'][number][] = [{ name: 'accepting', ok: !this.d.rebalancer.isStopping, detail: this.d.rebalancer.isStopping ? 'the daemon is stopping' : 'accepting work' }];
    try {
      const pools = await this.d.controlPlane.listPools();
      checks.push({ name: 'control-plane', ok: true, detail: `${this.d.controlPlane.kind} ${this.d.controlPlane.name}: ${pools.length} pools` });
      const { stale } = await stalePools(this.d.telemetry, pools, this.d.nowMs(), this.d.maxAgeMs);
      checks.push({ name: 'telemetry', ok: stale.length === 0, detail: stale.length === 0 ? 'every pool has a fresh capacity sample' : `stale: ${stale.map((s) => s.pool).join(', ')}` });
    } catch (e) {
      const err = toAppError(e);
      checks.push({ name: 'control-plane', ok: false, detail: `${err.code}: ${err.message}` });
    }
    return { ready: checks.every((c) => c.ok), checks };
  }

  async inventory(): Promise<InventoryView> {
    const inv = await this.d.rebalancer.inventoryNow();
    return {
      id: inv.id,
      takenAtMs: inv.takenAtMs,
      source: { kind: inv.source.kind, name: inv.source.name },
      freshness: {
        store: inv.freshness.store,
        windowMs: inv.freshness.windowMs,
        oldestSampleAtMs: inv.freshness.oldestSampleAtMs,
        ageMs: inv.takenAtMs - inv.freshness.oldestSampleAtMs,
        maxAgeMs: this.d.maxAgeMs,
      },
      pools: inv.pools.map((p) => {
        const total = numeric(p.capacity.totalCapacityGb);
        return { name: p.name, state: p.state, totalGiB: total, allocatedGiB: p.allocatedGiB, utilization: total !== null && total > 0 ? Math.round((p.allocatedGiB / total) * 1e6) / 1e6 : null, sampledAtMs: p.sampledAtMs };
      }),
      volumes: inv.volumes.length,
      volumeTypes: inv.volumeTypes.map((t) => t.name),
    };
  }

  async telemetry(q: TelemetryQuery): Promise<TelemetrySeries> {
    const query = { entity: q.entity, metric: q.metric as MetricName, fromMs: q.fromMs, toMs: q.toMs, ...(q.keys ? { keys: q.keys } : {}) };
    const [series, stats] = await Promise.all([this.d.telemetry.series(query), this.d.telemetry.windowStats(query)]);
    const byKey = new Map(stats.map((s) => [s.key, s]));
    return {
      entity: q.entity,
      metric: q.metric,
      fromMs: q.fromMs,
      toMs: q.toMs,
      series: [...series.keys()].sort().map((key) => {
        const s = byKey.get(key);
        return { key, stats: s ? { count: s.count, mean: s.mean, max: s.max, p95: s.p95 } : null, samples: series.get(key)!.map((x) => ({ atMs: x.atMs, value: x.value, max: x.max, count: x.count })) };
      }),
    };
  }

  createPlan(req: { timeLimitMs?: number; note?: string }, by: Actor): Promise<PlanRecord> {
    return this.d.rebalancer.planNow('api', req.timeLimitMs ?? DEFAULT_SOLVE_LIMIT_MS, by);
  }

  listPlans(limit: number): PlanRecord[] {
    return this.d.store.list(limit);
  }

  getPlan(id: string) {
    return this.d.store.get(id);
  }

  approvePlan(id: string, by: Actor, note: string | null): PlanRecord {
    const r = this.d.store.decide(id, 'approved', by.user, note, this.d.nowMs());
    void this.d.rebalancer.dispatch();
    return r;
  }

  rejectPlan(id: string, by: Actor, note: string | null): PlanRecord {
    return this.d.store.decide(id, 'rejected', by.user, note, this.d.nowMs());
  }

  async startRun(planId: string, by: Actor, opts: { readonly ignoreWindows: boolean }): Promise<RunItem> {
    const { runId } = await this.d.rebalancer.startRun(planId, by, opts);
    return this.getRun(runId).run;
  }

  listRuns(limit: number): RunItem[] {
    return this.d.journal.listRuns(limit).map((r) => this.item(r, r.moves, r.counts));
  }

  getRun(id: string): RunDetail {
    const loaded = this.d.journal.load(id);
    const active = this.d.rebalancer.activeRun;
    const live = active?.runId === id ? active.executor : null;
    // While it runs here, the executor's records are the newest (bytes are journaled less often).
    const records = live ? live.moves : loaded.moves;
    const counts: Record<string, number> = {};
    for (const m of records) counts[m.state] = (counts[m.state] ?? 0) + 1;
    const progress: RunProgress | null = live ? live.progress() : null;
    return {
      run: this.item(loaded.run, records.length, counts),
      progress: progress ? { ...progress, counts: { ...progress.counts }, active: progress.active.map((a) => ({ ...a })) } : null,
      moves: records.map((m) => ({
        id: m.move.id,
        volumeId: m.move.volumeId,
        volumeName: m.move.volumeName,
        from: m.move.from,
        to: m.move.to,
        state: m.state,
        attempts: m.attempts,
        reason: m.reason,
        errorCode: m.errorCode,
        bytesDone: m.bytesDone,
        bytesTotal: m.bytesTotal,
      })),
    };
  }

  cancelRun(id: string, by: Actor): RunItem {
    const { run } = this.d.journal.load(id);
    if (run.state === 'finished' || run.state === 'cancelled') throw new AppError('RUN_BUSY', `run ${id} has already ${run.state === 'finished' ? 'finished' : 'been cancelled'}`);
    void this.d.rebalancer.cancelRun(id, by).catch(() => undefined);
    return this.getRun(id).run;
  }

  subscribe(runId: string, listener: Parameters<BallastBackend['subscribe']>[1]): () => void {
    return this.d.rebalancer.subscribe(runId, listener);
  }

  metrics(): Promise<readonly MetricFamily[]> {
    return collectMetrics({ ...this.d, nowMs: this.d.nowMs });
  }

  private item(r: RunRecord, moves: number, counts: Readonly<Record<string, number>>): RunItem {
    const live = this.d.rebalancer.activeRun?.runId === r.id;
    const orphan = !live && r.ownerPid !== this.d.pid && (r.state === 'running' || r.state === 'cancelling') && (r.ownerPid === null || !pidAlive(r.ownerPid));
    return { id: r.id, planId: r.planId, state: orphan ? 'interrupted' : r.state, createdAtMs: r.createdAtMs, finishedAtMs: r.finishedAtMs, moves, counts: { ...counts }, note: r.note, live };
  }
}
