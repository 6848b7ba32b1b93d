/**
 * Benchmark entry point (`npm run bench` → `node dist/bench/run.js`): every bench, or the ones
 * named (`copy`, `live`, `solver`, `telemetry`, `executor`); each writes `bench/results/<name>.{json,md}`
 * unless `--no-write`.
 *
 * Options (environment): BENCH_DENSE_GIB (2), BENCH_SPARSE_GIB (20), BENCH_SPARSE_DATA_MIB (200),
 * BENCH_REPS (5), BENCH_DROP_CACHES (1; 0 keeps the page cache warm), BENCH_SETTLE_MS (2000),
 * BENCH_LIVE_REPS (3), BENCH_EXEC_MOVES (1000), BENCH_EXEC_MAKESPAN_MOVES (50); `--explore` times
 * more copy-engine variants.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCopyBench, type CopyBenchResult } from './copy.bench.js';
import { liveMarkdown, runLiveBench } from './live.bench.js';
import { runSolverBench } from './solver.bench.js';
import { runTelemetryBench, telemetryMarkdown } from './telemetry.bench.js';
import { runExecutorBench } from './executor.bench.js';
import { GiB, MiB } from './lib.js';

/** Repository root: this file runs from `dist/bench/`. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

function mib(bytes: unknown): string {
  return typeof bytes === 'number' ? (bytes / MiB).toFixed(0) : '?';
}

/** The Markdown table pasted into the README. */
function markdown(r: CopyBenchResult): string {
  const env = r['environment'] as Record<string, unknown>;
  const d = r['dense'] as Record<string, unknown>;
  const sparse = r['sparse'] as Record<string, unknown>[];
  const cfg = r['config'] as Record<string, number>;
  const lines = [
    `### Generic copy engine (${String(r['date']).slice(0, 10)}, Node ${String(r['node'])}, ${String(env['cpus'])} CPUs, ${String(env['fileSystem'])}, page cache ${String(env['pageCache']).split(' ')[0]})`,
    '',
    `Dense ${cfg['denseGiB']} GiB raw volume of seeded random data, median of ${cfg['reps']} alternating runs; cp is \`${String(d['cpCommand'])}\`.`,
    '',
    '| copy | median | best | throughput (median) | engine/cp throughput |',
    '|---|---:|---:|---:|---:|',
    `| cp + fdatasync | ${String(d['cpMedianMs'])} ms | ${String(d['cpMinMs'])} ms | ${String(d['cpMiBPerSec'])} MiB/s | 1.00 |`,
    `| engine raw→raw (incl. flush) | ${String(d['engineMedianMs'])} ms | ${String(d['engineMinMs'])} ms | ${String(d['engineMiBPerSec'])} MiB/s | **${Number(d['ratioCopy']).toFixed(2)}** |`,
    `| engine copy + block-for-block verify | ${Number(d['engineMedianMs']) + Number(d['engineVerifyMedianMs'])} ms | | | ${Number(d['ratioCopyPlusVerifyVsCp']).toFixed(2)} |`,
    `| cp + fdatasync + cmp (for reference) | ${String(d['cpPlusCmpMedianMs'])} ms | | | ${Number(d['ratioCopyPlusVerifyVsCpPlusCmp']).toFixed(2)} (engine copy+verify vs this) |`,
    '',
    'Engine variants on the same volume (median; default for two block paths: O_DIRECT reads and writes, 4 MiB chunks × 3 buffers):',
    '',
    '| variant | median | best | MiB/s | vs cp |',
    '|---|---:|---:|---:|---:|',
    ...(d['variants'] as Record<string, unknown>[]).map(
      (v) => `| ${String(v['name'])} | ${String(v['medianMs'])} ms | ${String(v['minMs'])} ms | ${String(v['mibPerSec'])} | ${Number(v['ratioToCp']).toFixed(2)} |`,
    ),
    '',
    `Peak RSS during the dense copy: ${mib(d['peakRssBytes'])} MiB (${mib(d['baseRssBytes'])} MiB before it); ` +
      `during the ${cfg['sparseGiB']} GiB sparse copies: ${mib(Math.max(...sparse.map((s) => Number(s['peakRssBytes']))))} MiB.`,
    '',
    `Notes: the engine's verify reads both volumes with O_DIRECT (what is on disk), cmp reads the page cache. ` +
      `Load average during (a): ${String(env['loadAverageBeforeDense']).split(' ').slice(0, 3).join(' ')} → ` +
      `${String(env['loadAverageAfterDense']).split(' ').slice(0, 3).join(' ')} (shared 2-vCPU VM; run-to-run noise is large).`,
    '',
    `Sparse ${cfg['sparseGiB']} GiB volume with ${cfg['sparseDataMiB']} MiB written in 100 scattered extents (sparse copy):`,
    '',
    '| path | bytes copied | copy time | verify time | data rate | a dense copy of the size would take |',
    '|---|---:|---:|---:|---:|---:|',
    ...sparse.map(
      (s) =>
        `| ${String(s['path'])} | ${mib(s['bytesCopied'])} MiB | ${String(s['medianCopyMs'])} ms | ${String(s['medianVerifyMs'])} ms | ${String(s['copyMiBPerSecOfData'])} MiB/s | ${(Number(s['timeIfProportionalToSizeMs']) / 1000).toFixed(1)} s |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** The live-migration bench (issue 3): `node dist/bench/run.js live` runs only it; BENCH_LIVE_REPS (3). */
async function live(args: ReadonlySet<string>): Promise<void> {
  const tmpDir = path.join(RESULTS, 'tmp', `live-${process.pid}-${Date.now().toString(36)}`);
  try {
    const r = await runLiveBench({ repoRoot: ROOT, tmpDir, reps: envInt('BENCH_LIVE_REPS', 3), log: (line) => console.log(line) });
    const md = liveMarkdown(r);
    if (!args.has('--no-write')) {
      await mkdir(RESULTS, { recursive: true });
      await writeFile(path.join(RESULTS, 'live.json'), `${JSON.stringify(r, null, 2)}\n`);
      await writeFile(path.join(RESULTS, 'live.md'), md);
      console.log(`\nwrote bench/results/live.json and live.md`);
    }
    console.log(`\n${md}`);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** The copy-engine bench (issue 2). */
async function copy(args: ReadonlySet<string>): Promise<void> {
  const tmpDir = path.join(RESULTS, 'tmp', `copy-${process.pid}`);
  let result: CopyBenchResult;
  try {
    result = await runCopyBench({
      tmpDir,
      denseGiB: envInt('BENCH_DENSE_GIB', 2),
      sparseGiB: envInt('BENCH_SPARSE_GIB', 20),
      sparseDataMiB: envInt('BENCH_SPARSE_DATA_MIB', 200),
      reps: envInt('BENCH_REPS', 5),
      explore: args.has('--explore'),
      dropCaches: process.env['BENCH_DROP_CACHES'] !== '0',
      settleMs: envInt('BENCH_SETTLE_MS', 2000),
      log: (line) => console.log(line),
    });
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  const d = result['dense'] as Record<string, unknown>;
  const md = markdown(result);
  if (!args.has('--no-write')) {
    await mkdir(RESULTS, { recursive: true });
    await writeFile(path.join(RESULTS, 'copy.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(path.join(RESULTS, 'copy.md'), md);
    console.log(`\nwrote ${path.relative(ROOT, path.join(RESULTS, 'copy.json'))} and copy.md`);
  }
  console.log(`\n${md}`);
  const ratio = Number(d['ratioCopy']);
  console.log(
    `dense copy ratio engine/cp = ${ratio.toFixed(3)} (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}); ` +
      `peak RSS ${mib(d['peakRssBytes'])} MiB for a ${(Number(d['volumeBytes']) / GiB).toFixed(0)} GiB copy`,
  );
}

/** The optimizer bench (issue 10): each instance in its own process; writes solver.{json,md}. */
async function solver(): Promise<void> {
  await runSolverBench({ root: ROOT, log: (line) => console.log(line) });
  console.log('wrote bench/results/solver.json and solver.md');
}

/** The telemetry bench (issue 8): ingest and the solver's queries on both stores. */
async function telemetry(args: ReadonlySet<string>): Promise<void> {
  const r = await runTelemetryBench((line) => console.log(line));
  const md = telemetryMarkdown(r);
  if (!args.has('--no-write')) {
    await writeFile(path.join(RESULTS, 'telemetry.json'), `${JSON.stringify(r, null, 2)}\n`);
    await writeFile(path.join(RESULTS, 'telemetry.md'), md);
  }
  console.log(md);
}

/** The executor bench (issue 5): overhead per move and makespan against the ideal. */
async function executor(args: ReadonlySet<string>): Promise<void> {
  const tmpDir = path.join(RESULTS, 'tmp', `executor-${process.pid}`);
  try {
    const { result, markdown: md } = await runExecutorBench({
      tmpDir,
      moves: envInt('BENCH_EXEC_MOVES', 1000),
      makespanMoves: envInt('BENCH_EXEC_MAKESPAN_MOVES', 50),
      log: (line) => console.log(line),
    });
    if (!args.has('--no-write')) {
      await writeFile(path.join(RESULTS, 'executor.json'), `${JSON.stringify(result, null, 2)}\n`);
      await writeFile(path.join(RESULTS, 'executor.md'), md);
    }
    console.log(`\n${md}`);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

const BENCHES: Record<string, (args: ReadonlySet<string>) => Promise<void>> = { copy, live, solver, telemetry, executor };

/** `node dist/bench/run.js [copy] [live] [solver] [telemetry] [executor] [--no-write]`: the named benches, or all. */
async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const named = Object.keys(BENCHES).filter((b) => args.has(b));
  await mkdir(RESULTS, { recursive: true });
  for (const name of named.length > 0 ? named : Object.keys(BENCHES)) {
    console.log(`\n== ${name} ==`);
    await BENCHES[name]!(args);
  }
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
