/**
 * The daemon's Prometheus metrics, read at scrape time from where the truth is kept: moves, bytes
 * and run durations from the executor's journal (so they survive restarts), solver time and gap
 * from the last planning cycle, pool utilization from the control plane, telemetry freshness from
 * the store. Output is sorted, so two scrapes of the same state are the same text.
 *
 * @module
 */
import { histogramSamples, type MetricFamily, type MetricSample } from '../api/index.js';
import type { RunJournal } from '../executor/index.js';
import type { ControlPlane } from '../model/index.js';
import type { TelemetryStore } from '../telemetry/index.js';
import type { Rebalancer } from './rebalancer.js';
import type { DaemonStore } from './state.js';

const RUN_BUCKETS_S = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600];
const MOVE_STATES = ['pending', 'prechecking', 'running', 'verifying', 'done', 'skipped', 'failed', 'cancelled'];

/** What the metrics are read from. */
export interface MetricsSources {
  readonly journal: RunJournal;
  readonly store: DaemonStore;
  readonly controlPlane: ControlPlane;
  readonly telemetry: TelemetryStore;
  readonly rebalancer: Rebalancer;
  readonly startedAtMs: number;
  readonly nowMs: () => number;
}

function numeric(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The metric families of the daemon now. */
export async function collectMetrics(s: MetricsSources): Promise<MetricFamily[]> {
  const db = s.journal.db;
  const byState = new Map((db.prepare('SELECT state, COUNT(*) AS n FROM moves GROUP BY state').all() as { state: string; n: number }[]).map((r) => [r.state, r.n]));
  const moved = (db.prepare("SELECT COALESCE(SUM(bytes_done), 0) AS b FROM moves WHERE state = 'done'").get() as { b: number }).b;
  const runs = db.prepare('SELECT state, created_at, finished_at FROM runs').all() as { state: string; created_at: number; finished_at: number | null }[];
  const runStates = new Map<string, number>();
  for (const r of runs) runStates.set(r.state, (runStates.get(r.state) ?? 0) + 1);
  const durations = runs.filter((r) => r.finished_at !== null).map((r) => (r.finished_at! - r.created_at) / 1000);
  const last = s.store.cycles(20).find((c) => c.solveMs !== null) ?? null;
  const plans = s.store.statusCounts();
  const now = s.nowMs();

  const pools = await s.controlPlane.listPools();
  const util: MetricSample[] = [];
  const allocated: MetricSample[] = [];
  const total: MetricSample[] = [];
  for (const p of pools) {
    const t = numeric(p.capacity.totalCapacityGb);
    allocated.push({ labels: { pool: p.name }, value: p.allocatedGiB });
    if (t !== null) total.push({ labels: { pool: p.name }, value: t });
    if (t !== null && t > 0) util.push({ labels: { pool: p.name }, value: Math.round((p.allocatedGiB / t) * 1e6) / 1e6 });
  }
  const latest = await s.telemetry.latest('pool', 'capacity.allocated_gib', pools.map((p) => p.name));
  const ages: MetricSample[] = pools.filter((p) => latest.has(p.name)).map((p) => ({ labels: { pool: p.name }, value: Math.max(0, (now - latest.get(p.name)!.atMs) / 1000) }));
  const active = s.rebalancer.activeRun;
  const cycles = s.store.cycleCounts();

  const families: MetricFamily[] = [
    { name: 'ballast_up', help: 'The daemon answers (always 1).', type: 'gauge', samples: [{ value: 1 }] },
    { name: 'ballast_start_time_seconds', help: 'When the daemon started (Unix time).', type: 'gauge', samples: [{ value: Math.floor(s.startedAtMs / 1000) }] },
    { name: 'ballast_moves', help: 'Moves of all journaled runs, by state.', type: 'gauge', samples: MOVE_STATES.map((st) => ({ labels: { state: st }, value: byState.get(st) ?? 0 })) },
    { name: 'ballast_moved_bytes_total', help: 'Bytes copied by moves that completed.', type: 'counter', samples: [{ value: moved }] },
    { name: 'ballast_runs', help: 'Journaled runs, by state.', type: 'gauge', samples: [...runStates.keys()].sort().map((st) => ({ labels: { state: st }, value: runStates.get(st)! })) },
    { name: 'ballast_run_active', help: '1 while this daemon executes a run.', type: 'gauge', samples: [{ value: active ? 1 : 0 }] },
    { name: 'ballast_run_duration_seconds', help: 'Duration of ended runs (created to finished).', type: 'histogram', samples: histogramSamples(durations, RUN_BUCKETS_S) },
    { name: 'ballast_solver_seconds', help: 'Solve time of the last planning cycle.', type: 'gauge', samples: last?.solveMs != null ? [{ value: last.solveMs / 1000 }] : [] },
    { name: 'ballast_solver_gap', help: 'Share of the achievable improvement the last plan left (LP bound gap, 0-1).', type: 'gauge', samples: last?.improvementLeft != null ? [{ value: last.improvementLeft }] : [] },
    { name: 'ballast_plans', help: 'Plans in the daemon state, by status.', type: 'gauge', samples: Object.keys(plans).map((st) => ({ labels: { status: st }, value: plans[st]! })) },
    { name: 'ballast_cycles_total', help: 'Rebalancing cycles, by outcome.', type: 'counter', samples: Object.keys(cycles).map((o) => ({ labels: { outcome: o }, value: cycles[o]! })) },
    { name: 'ballast_pool_utilization_ratio', help: 'Allocated over total capacity of a pool (0-1).', type: 'gauge', samples: util },
    { name: 'ballast_pool_allocated_gib', help: 'Allocated capacity of a pool (GiB).', type: 'gauge', samples: allocated },
    { name: 'ballast_pool_total_gib', help: 'Total capacity of a pool (GiB).', type: 'gauge', samples: total },
    { name: 'ballast_telemetry_age_seconds', help: 'Age of the newest capacity sample of a pool.', type: 'gauge', samples: ages },
  ];
  return families;
}
