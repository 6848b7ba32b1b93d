/**
 * Executor benchmark (issue 5): (a) the executor's own overhead per move for a plan of 1,000
 * small moves (1 GiB sparse volumes): the time from a move's admission to its recorded end,
 * minus the time the control plane itself reports for the migration; (b) the makespan of a
 * 50-move plan with real data against the ideal bound the limits allow.
 *
 * `node dist/bench/executor.bench.js` runs it alone and writes bench/results/executor.{json,md};
 * `runExecutorBench()` is what `bench/run.ts` calls. Env: BENCH_EXEC_MOVES (1000), BENCH_EXEC_MAKESPAN_MOVES (50).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtinDrivers } from '../drivers/index.js';
import { BlockService, type BackendSpec } from '../src/blockstore/index.js';
import { EmbeddedControlPlane } from '../src/controlplane/index.js';
import { DEFAULT_SETTINGS, Executor, realTimers, RunJournal, type ExecutorLimits, type RunSettings } from '../src/executor/index.js';
import { PLAN_SCHEMA, type Move, type Plan } from '../src/model/index.js';
import { systemClock } from '../src/shared/index.js';
import { performance } from 'node:perf_hooks';
import type { ControlPlane } from '../src/model/index.js';
import { MiB, SeededBytes, median, round, timed } from './lib.js';

export interface ExecutorBenchOptions {
  readonly tmpDir: string;
  readonly moves: number;
  readonly makespanMoves: number;
  readonly log: (line: string) => void;
}

function backend(name: string, driver: string, dataDir: string): BackendSpec {
  const pool = (p: string) => ({
    name: p,
    sizeGiB: 4096,
    provisioning: 'thin' as const,
    maxOverSubscriptionRatio: 20,
    reservedPercentage: 0,
    availabilityZone: 'nova',
    capabilities: {},
    dataPath: path.join(dataDir, name, p),
  });
  return { name, host: 'bench', driver, volumeBackendName: name, options: driver === 'chunked' ? { chunkSizeMiB: 1 } : {}, pools: [pool('p1'), pool('p2')] };
}

async function openService(dir: string, bpsLimit = 0): Promise<BlockService> {
  return BlockService.open({
    stateDbPath: path.join(dir, 'state.db'),
    runDir: path.join(dir, '.run'),
    backends: [backend('fast', 'raw', dir), backend('fast2', 'raw', dir), backend('cap', 'chunked', dir)],
    volumeTypes: [{ name: 'any', description: '', extraSpecs: {} }],
    defaultVolumeType: 'any',
    drivers: builtinDrivers,
    copy: { bufferBytes: 1 * MiB, bpsLimit },
  });
}

function plan(moves: Move[]): Plan {
  const now = systemClock.nowMs();
  return {
    schema: PLAN_SCHEMA,
    id: `bench-${moves.length}`,
    inventoryId: 'bench',
    inventoryTakenAtMs: now,
    createdAtMs: now,
    expiresAtMs: now + 86_400_000,
    policies: [],
    policyDigest: 'bench',
    moves,
    pools: [],
    quality: { method: 'current', engine: 'none', objectiveBefore: 0, objectiveAfter: 0, bound: null, improvementLeft: null, terms: [], solveMs: 0, timeLimited: false },
    totals: { moves: moves.length, bytes: 0, costPerMonthBefore: 0, costPerMonthAfter: 0 },
    notes: [],
  };
}

function mv(i: number, volumeId: string, from: string, to: string, sizeGiB: number): Move {
  return { id: `m${String(i + 1).padStart(4, '0')}`, volumeId, volumeName: `b${i}`, sizeGiB, from, to, kind: 'generic-copy', newVolumeType: null, attached: false, reason: 'bench', serves: [], dependsOn: [] };
}

/** Time spent inside each port method (ms, summed over calls; concurrent calls overlap). */
type PortTimes = Map<string, { calls: number; ms: number }>;

/** The control plane with every port call timed (the executor sees the same port). */
function timedPort(cp: ControlPlane, times: PortTimes): ControlPlane {
  const add = (name: string, ms: number) => {
    const t = times.get(name) ?? { calls: 0, ms: 0 };
    t.calls++;
    t.ms += ms;
    times.set(name, t);
  };
  return new Proxy(cp, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r: unknown = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (r instanceof Promise) return r.finally(() => add(String(prop), performance.now() - t0));
        add(String(prop), performance.now() - t0);
        return r;
      };
    },
  });
}

async function runPlan(dir: string, service: BlockService, p: Plan, limits: ExecutorLimits, pollIntervalMs: number, times: PortTimes = new Map()) {
  const cp = timedPort(new EmbeddedControlPlane(service, { name: dir }), times);
  const journal = RunJournal.open(path.join(dir, 'runs.db'));
  try {
    const settings: RunSettings = { ...DEFAULT_SETTINGS, limits, pollIntervalMs };
    const ex = Executor.create({ controlPlane: cp, journal, clock: systemClock, timers: realTimers, pid: process.pid }, p, settings, `bench-${p.moves.length}-${Date.now()}`);
    const t = await timed(() => ex.execute());
    return { summary: t.value, wallMs: t.ms, transitions: journal.transitions(ex.run.id), records: ex.moves };
  } finally {
    await cp.close();
    journal.close();
  }
}

const LIMITS: ExecutorLimits = {
  maxConcurrentTotal: 8,
  maxConcurrentPerSourcePool: 8,
  maxConcurrentPerDestPool: 8,
  maxConcurrentPerBackend: 8,
  maxConcurrentInUse: 1,
  maxBytesInFlight: null,
  maxBandwidthBytesPerSec: null,
};

/** (a) Overhead per move on a plan of `n` 1 GiB sparse volumes moved raw → raw across back-ends (generic copy). */
async function overhead(o: ExecutorBenchOptions, pollIntervalMs: number): Promise<Record<string, unknown>> {
  const dir = path.join(o.tmpDir, `overhead-${pollIntervalMs}`);
  await mkdir(dir, { recursive: true });
  const service = await openService(dir);
  try {
    const moves: Move[] = [];
    for (let i = 0; i < o.moves; i++) {
      const v = await service.createVolume({ sizeGiB: 1, type: 'any', host: 'bench@fast#p1', name: `b${i}` });
      moves.push(mv(i, v.id, 'bench@fast#p1', 'bench@fast2#p1', 1));
    }
    o.log(`executor bench: ${o.moves} volumes created; running (poll ${pollIntervalMs} ms)`);
    const times: PortTimes = new Map();
    const r = await runPlan(dir, service, plan(moves), LIMITS, pollIntervalMs, times);
    const byMove = new Map<string, { admitted: number; ended: number }>();
    for (const t of r.transitions) {
      const e = byMove.get(t.moveId) ?? { admitted: 0, ended: 0 };
      if (t.to === 'prechecking') e.admitted = t.atMs;
      if (t.to === 'done') e.ended = t.atMs;
      byMove.set(t.moveId, e);
    }
    const perMove: number[] = [];
    const before: number[] = [];
    const after: number[] = [];
    let cpTotalMs = 0;
    for (const rec of r.records) {
      const m = rec.state === 'done' && rec.handle ? service.migration(rec.handle.ref) : null;
      const e = byMove.get(rec.move.id);
      if (!m || m.finishedAtMs === null || !e) continue;
      const cpMs = m.finishedAtMs - m.startedAtMs;
      cpTotalMs += cpMs;
      perMove.push(e.ended - e.admitted - cpMs);
      before.push(m.startedAtMs - e.admitted);
      after.push(e.ended - m.finishedAtMs);
    }
    const mean = perMove.reduce((a, b) => a + b, 0) / Math.max(1, perMove.length);
    return {
      moves: o.moves,
      done: r.summary.counts.done,
      pollIntervalMs,
      maxConcurrentTotal: LIMITS.maxConcurrentTotal,
      wallMs: Math.round(r.wallMs),
      controlPlaneMsTotal: cpTotalMs,
      overheadPerMoveMeanMs: round(mean, 1),
      overheadPerMoveMedianMs: round(median(perMove), 1),
      beforeStartMeanMs: round(before.reduce((a, b) => a + b, 0) / Math.max(1, before.length), 1),
      afterEndMeanMs: round(after.reduce((a, b) => a + b, 0) / Math.max(1, after.length), 1),
      overheadPerMoveP95Ms: round([...perMove].sort((a, b) => a - b)[Math.floor(perMove.length * 0.95)] ?? 0, 1),
      movesPerSecond: round(o.moves / (r.wallMs / 1000), 1),
      journalTransitions: r.transitions.length,
      portMsPerMove: Object.fromEntries([...times.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, t]) => [k, { calls: t.calls, msPerMove: round(t.ms / o.moves, 2) }])),
    };
  } finally {
    service.close();
  }
}

/** (b) Makespan of a plan with real data under a bandwidth cap and slot limits, against its ideal bound. */
async function makespan(o: ExecutorBenchOptions): Promise<Record<string, unknown>> {
  const dir = path.join(o.tmpDir, 'makespan');
  await mkdir(dir, { recursive: true });
  const service = await openService(dir);
  const dataBytes = 8 * MiB;
  const capBps = 64 * MiB;
  const limits: ExecutorLimits = { ...LIMITS, maxConcurrentTotal: 4, maxConcurrentPerSourcePool: 2, maxConcurrentPerDestPool: 2, maxConcurrentPerBackend: 4, maxBandwidthBytesPerSec: capBps };
  try {
    const seed = new SeededBytes('executor-bench-v1');
    const moves: Move[] = [];
    const file = path.join(dir, 'data.bin');
    for (let i = 0; i < o.makespanMoves; i++) {
      const from = i % 2 === 0 ? 'bench@fast#p1' : 'bench@fast#p2';
      const v = await service.createVolume({ sizeGiB: 1, type: 'any', host: from, name: `d${i}` });
      await writeFile(file, seed.next(dataBytes));
      await service.writeVolume(v.id, file, 0);
      moves.push(mv(i, v.id, from, i % 2 === 0 ? 'bench@cap#p1' : 'bench@cap#p2', 1));
    }
    o.log(`executor bench: ${o.makespanMoves} volumes of ${dataBytes / MiB} MiB written; running under ${capBps / MiB} MiB/s, ${limits.maxConcurrentTotal} at once`);
    const r = await runPlan(dir, service, plan(moves), limits, 50);
    const cpMs = r.records.map((rec) => {
      const m = rec.handle ? service.migration(rec.handle.ref) : null;
      return m && m.finishedAtMs !== null ? m.finishedAtMs - m.startedAtMs : 0;
    });
    const totalBytes = dataBytes * o.makespanMoves;
    const bandwidthBoundMs = (totalBytes / capBps) * 1000;
    // The slot bound: with perfect packing, the moves' own durations spread over the slots.
    const slotBoundMs = cpMs.reduce((a, b) => a + b, 0) / limits.maxConcurrentTotal;
    const idealMs = Math.max(bandwidthBoundMs, slotBoundMs);
    return {
      moves: o.makespanMoves,
      done: r.summary.counts.done,
      dataBytesPerVolume: dataBytes,
      bandwidthCapBytesPerSec: capBps,
      limits: { total: limits.maxConcurrentTotal, perSourcePool: limits.maxConcurrentPerSourcePool, perDestPool: limits.maxConcurrentPerDestPool },
      makespanMs: Math.round(r.wallMs),
      bandwidthBoundMs: Math.round(bandwidthBoundMs),
      slotBoundMs: Math.round(slotBoundMs),
      idealBoundMs: Math.round(idealMs),
      makespanOverIdeal: round(r.wallMs / idealMs, 3),
    };
  } finally {
    service.close();
  }
}

export type ExecutorBenchResult = Record<string, unknown>;

/** Runs both parts; returns the JSON result and its Markdown. */
export async function runExecutorBench(o: ExecutorBenchOptions): Promise<{ result: ExecutorBenchResult; markdown: string }> {
  await mkdir(o.tmpDir, { recursive: true });
  const a = await overhead(o, 50);
  o.log(`overhead: ${JSON.stringify(a)}`);
  const b = await makespan(o);
  o.log(`makespan: ${JSON.stringify(b)}`);
  const result = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg().map((x) => round(x, 2)), overhead: a, makespan: b };
  const md = [
    `### Executor (${result.date.slice(0, 10)}, Node ${result.node}, ${result.cpus} CPUs, load average ${result.loadAverage.join(' ')} at the end: a shared machine)`,
    '',
    `(a) ${String(a['moves'])} moves of 1 GiB sparse volumes (raw → raw generic copy across back-ends), ${String(a['maxConcurrentTotal'])} at once, poll every ${String(a['pollIntervalMs'])} ms, journal fsynced on every transition:`,
    '',
    '| wall time | moves/s | executor overhead per move: mean | median | p95 | of which before the start (precheck, accept) | after the end (poll, verify) | journal transitions |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${String(a['wallMs'])} ms | ${String(a['movesPerSecond'])} | ${String(a['overheadPerMoveMeanMs'])} ms | ${String(a['overheadPerMoveMedianMs'])} ms | ${String(a['overheadPerMoveP95Ms'])} ms | ${String(a['beforeStartMeanMs'])} ms | ${String(a['afterEndMeanMs'])} ms | ${String(a['journalTransitions'])} |`,
    '',
    'Overhead per move = time from admission (precheck) to the recorded end (after verify), minus the migration time the control plane reports. It includes the poll latency (half the poll interval on average), the precheck and verify reads, the pool reads for admission, the acceptance of the move and the journal writes (fsynced).',
    '',
    'Time inside control-plane port calls, per move (summed; concurrent calls overlap, so this is an upper bound of what the executor waited on):',
    '',
    '| port method | calls | ms per move |',
    '|---|---:|---:|',
    ...Object.entries(a['portMsPerMove'] as Record<string, { calls: number; msPerMove: number }>).map(([k, t]) => `| ${k} | ${t.calls} | ${t.msPerMove} |`),
    '',
    "`startMove` is the embedded service's acceptance of the move (Cinder's 202): it measures every pool on each acceptance, so its cost grows with the number of volumes; `listPools` is the executor's admission re-reading the pools (at most once a second). What remains is the executor's own: the poll latency, the journal writes and its bookkeeping.",
    '',
    `(b) ${String(b['moves'])} moves of 8 MiB of data each under a ${(Number(b['bandwidthCapBytesPerSec']) / MiB).toFixed(0)} MiB/s shared cap, ${JSON.stringify(b['limits'])}:`,
    '',
    '| makespan | bandwidth bound | slot bound | makespan / ideal |',
    '|---:|---:|---:|---:|',
    `| ${String(b['makespanMs'])} ms | ${String(b['bandwidthBoundMs'])} ms | ${String(b['slotBoundMs'])} ms | **${String(b['makespanOverIdeal'])}** |`,
    '',
  ].join('\n');
  return { result, markdown: md };
}

function envInt(name: string, fallback: number): number {
  const n = Number(process.env[name] ?? fallback);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const results = path.join(root, 'bench', 'results');
  const tmpDir = path.join(results, 'tmp', `executor-${process.pid}`);
  runExecutorBench({ tmpDir, moves: envInt('BENCH_EXEC_MOVES', 1000), makespanMoves: envInt('BENCH_EXEC_MAKESPAN_MOVES', 50), log: (l) => console.log(l) })
    .then(async ({ result, markdown }) => {
      await writeFile(path.join(results, 'executor.json'), `${JSON.stringify(result, null, 2)}\n`);
      await writeFile(path.join(results, 'executor.md'), markdown);
      console.log(`\n${markdown}`);
    })
    .catch((e: unknown) => {
      console.error(`executor bench failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    })
    .finally(() => rm(tmpDir, { recursive: true, force: true }));
}
