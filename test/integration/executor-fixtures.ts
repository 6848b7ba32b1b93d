/**
 * Helpers for executor tests: plans built by hand over a real embedded deployment, a run wrapper
 * (real journal in the deployment's data dir, real timers, an injectable clock), and limit sampling.
 */
import { join } from 'node:path';
import type { BlockService } from '../../src/blockstore/index.js';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { DEFAULT_SETTINGS, Executor, realTimers, RunJournal, type ExecutorEvent, type ExecutorLimits, type RunSettings } from '../../src/executor/index.js';
import { PLAN_SCHEMA, type Move, type Plan, type PoolChange } from '../../src/model/index.js';
import { systemClock, type Clock } from '../../src/shared/index.js';
import type { Deployment } from './deployment.js';

export const FAST_A = 'ballast@fast#ssd-a';
export const FAST_B = 'ballast@fast#ssd-b';
export const HDD_A = 'ballast@capacity#hdd-a';
export const HDD_B = 'ballast@capacity#hdd-b';

export const LOOSE: ExecutorLimits = {
  maxConcurrentTotal: 8,
  maxConcurrentPerSourcePool: 8,
  maxConcurrentPerDestPool: 8,
  maxConcurrentPerBackend: 8,
  maxConcurrentInUse: 1,
  maxBytesInFlight: null,
  maxBandwidthBytesPerSec: null,
};

/** A move with defaults (a generic move of an available volume). */
export function move(id: string, volumeId: string, from: string, to: string, extra: Partial<Move> = {}): Move {
  return {
    id,
    volumeId,
    volumeName: extra.volumeName ?? volumeId.slice(0, 8),
    sizeGiB: 1,
    from,
    to,
    kind: 'generic-copy',
    newVolumeType: null,
    attached: false,
    reason: 'test',
    serves: ['test'],
    dependsOn: [],
    ...extra,
  };
}

/** A plan around moves (made now, valid for an hour unless told). */
export function planOf(moves: readonly Move[], opts: { pools?: readonly PoolChange[]; nowMs?: number; validMs?: number } = {}): Plan {
  const now = opts.nowMs ?? Date.now();
  return {
    schema: PLAN_SCHEMA,
    id: `plan-${moves.length}-${now}`,
    inventoryId: 'inv-test',
    inventoryTakenAtMs: now - 1000,
    createdAtMs: now,
    expiresAtMs: now + (opts.validMs ?? 3600_000),
    policies: [],
    policyDigest: 'sha256:test',
    moves,
    pools: opts.pools ?? [],
    quality: { method: 'current', engine: 'none', objectiveBefore: 0, objectiveAfter: 0, bound: null, improvementLeft: null, terms: [], solveMs: 0, timeLimited: false },
    totals: { moves: moves.length, bytes: moves.reduce((n, m) => n + m.sizeGiB * 1024 ** 3, 0), costPerMonthBefore: 0, costPerMonthAfter: 0 },
    notes: [],
  };
}

export function settings(limits: Partial<ExecutorLimits> = {}, extra: Partial<RunSettings> = {}): RunSettings {
  return { ...DEFAULT_SETTINGS, limits: { ...LOOSE, ...limits }, pollIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 200, lockVolume: true, ...extra };
}

export interface Harness {
  readonly cp: EmbeddedControlPlane;
  readonly journal: RunJournal;
  readonly events: ExecutorEvent[];
  start(plan: Plan, s: RunSettings, opts?: { clock?: Clock; onEvent?: (e: ExecutorEvent, ex: Executor) => void }): Executor;
  close(): Promise<void>;
}

/** The embedded control plane over `service` and a runs journal in the deployment's data dir. */
export function harness(d: Deployment, service: BlockService): Harness {
  const cp = new EmbeddedControlPlane(service, { name: d.config.dataDir });
  const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
  const events: ExecutorEvent[] = [];
  let n = 0;
  let closed = false;
  return {
    cp,
    journal,
    events,
    start(plan, s, opts = {}) {
      let ex: Executor | null = null;
      ex = Executor.create(
        {
          controlPlane: cp,
          journal,
          clock: opts.clock ?? systemClock,
          timers: realTimers,
          pid: process.pid,
          onEvent: (e) => {
            events.push(e);
            if (ex) opts.onEvent?.(e, ex);
          },
        },
        plan,
        s,
        `run-test-${++n}`,
      );
      return ex;
    },
    async close() {
      if (closed) return;
      closed = true;
      await cp.close();
      journal.close();
    },
  };
}

/** Unfinished migrations in the control plane right now, counted per source pool, destination pool and back-end. */
export function liveCounts(service: BlockService): { total: number; bySource: Map<string, number>; byDest: Map<string, number>; byBackend: Map<string, number> } {
  const rows = service.migrations(10_000).filter((m) => m.finishedAtMs === null);
  const bump = (map: Map<string, number>, k: string) => map.set(k, (map.get(k) ?? 0) + 1);
  const out = { total: rows.length, bySource: new Map<string, number>(), byDest: new Map<string, number>(), byBackend: new Map<string, number>() };
  for (const m of rows) {
    bump(out.bySource, m.srcHost);
    bump(out.byDest, m.destHost);
    for (const b of new Set([m.srcHost.split('#')[0]!, m.destHost.split('#')[0]!])) bump(out.byBackend, b);
  }
  return out;
}

/** Runs `fn` every `ms` until stopped (sampling during a run). */
export function every(ms: number, fn: () => void): () => void {
  const t = setInterval(fn, ms);
  return () => clearInterval(t);
}
