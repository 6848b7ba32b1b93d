/**
 * Telemetry bench: ingest rate and the time of the solver's queries over 30 days of samples for
 * 500 pools and 20,000 volumes, on both stores (embedded SQLite, and a real InfluxDB 1.x started on
 * 127.0.0.1 for the run, or BENCH_INFLUX_URL).
 *
 * Samples: pools every BENCH_TEL_POOL_INTERVAL_H hours (default 1) with 4 metrics (allocated GiB,
 * IOPS, bytes/s, latency p95); volumes every BENCH_TEL_VOLUME_INTERVAL_H hours (default 12) with 2
 * metrics (IOPS, bytes/s); the intervals are scaled so one run takes minutes, not hours.
 * Queries (median of BENCH_TEL_REPS, default 3): windowed p95 of IOPS per pool and per volume over
 * 7 days, growth per pool (Theil–Sen) over 30 days; then one maintenance pass (downsampling what is
 * older than 7 days into 6-hour buckets) and the same queries again.
 *
 * `node dist/bench/telemetry.bench.js` runs it alone and writes bench/results/telemetry.{json,md}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  InfluxTelemetryStore,
  SqliteTelemetryStore,
  poolGrowth,
  windowed,
  type Point,
  type RetentionSettings,
  type TelemetryStore,
} from '../src/telemetry/index.js';
import { mulberry32 } from '../src/shared/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function envNum(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

const rng = mulberry32;

interface BenchConfig {
  readonly pools: number;
  readonly volumes: number;
  readonly days: number;
  readonly poolIntervalH: number;
  readonly volumeIntervalH: number;
  readonly reps: number;
}

interface StoreResult {
  readonly store: string;
  readonly points: number;
  readonly ingestMs: number;
  readonly ingestPointsPerSec: number;
  readonly queries: Record<string, number>;
  readonly maintainMs: number;
  readonly queriesAfterDownsampling: Record<string, number>;
  readonly checks: Record<string, number>;
}

/** Writes the 30 days, in collection-sized batches (one per pool interval). */
async function ingest(store: TelemetryStore, c: BenchConfig, startMs: number): Promise<number> {
  const rand = rng(42);
  const pools = Array.from({ length: c.pools }, (_, i) => `bench@b${Math.floor(i / 10)}#p${i}`);
  const volumes = Array.from({ length: c.volumes }, (_, i) => `vol-${String(i).padStart(6, '0')}`);
  const growth = pools.map(() => rand() * 20);
  let n = 0;
  const steps = Math.floor((c.days * 24) / c.poolIntervalH);
  for (let s = 0; s < steps; s++) {
    const atMs = startMs + s * c.poolIntervalH * HOUR;
    const batch: Point[] = [];
    pools.forEach((key, i) => {
      const day = (atMs - startMs) / DAY;
      batch.push({ entity: 'pool', key, metric: 'capacity.allocated_gib', atMs, value: 1000 + growth[i]! * day + (rand() < 0.01 ? 5000 : 0) });
      batch.push({ entity: 'pool', key, metric: 'perf.iops', atMs, value: 500 + rand() * 1500 });
      batch.push({ entity: 'pool', key, metric: 'perf.bytes_per_sec', atMs, value: 1e7 + rand() * 9e7 });
      batch.push({ entity: 'pool', key, metric: 'perf.latency_p95_ms', atMs, value: 0.5 + rand() * 10 });
    });
    if ((s * c.poolIntervalH) % c.volumeIntervalH === 0) {
      for (const key of volumes) {
        batch.push({ entity: 'volume', key, metric: 'perf.iops', atMs, value: rand() * 200 });
        batch.push({ entity: 'volume', key, metric: 'perf.bytes_per_sec', atMs, value: rand() * 5e6 });
      }
    }
    await store.write(batch);
    n += batch.length;
  }
  await store.flush();
  return n;
}

async function time(reps: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return Math.round(ms[Math.floor(ms.length / 2)]! * 10) / 10;
}

async function solverQueries(store: TelemetryStore, endMs: number, reps: number): Promise<{ timings: Record<string, number>; counts: Record<string, number> }> {
  const w7 = { endMs, windowMs: 7 * DAY };
  const counts: Record<string, number> = {};
  const timings = {
    poolP95Iops7dMs: await time(reps, async () => (counts['pools'] = (await windowed(store, 'pool', 'perf.iops', w7)).size)),
    volumeP95Iops7dMs: await time(reps, async () => (counts['volumes'] = (await windowed(store, 'volume', 'perf.iops', w7)).size)),
    poolGrowth30dMs: await time(reps, async () => (counts['growthPools'] = (await poolGrowth(store, { endMs, windowMs: 30 * DAY })).size)),
  };
  return { timings, counts };
}

async function benchStore(store: TelemetryStore, c: BenchConfig, startMs: number, log: (s: string) => void): Promise<StoreResult> {
  const endMs = startMs + c.days * DAY;
  log(`${store.name}: ingesting…`);
  const t0 = performance.now();
  const points = await ingest(store, c, startMs);
  const ingestMs = performance.now() - t0;
  log(`${store.name}: ${points} samples in ${(ingestMs / 1000).toFixed(1)} s; querying…`);
  const before = await solverQueries(store, endMs, c.reps);
  const m0 = performance.now();
  await store.maintain(endMs);
  const maintainMs = performance.now() - m0;
  const after = await solverQueries(store, endMs, c.reps);
  return {
    store: store.name.split(':')[0]!,
    points,
    ingestMs: Math.round(ingestMs),
    ingestPointsPerSec: Math.round(points / (ingestMs / 1000)),
    queries: before.timings,
    maintainMs: Math.round(maintainMs),
    queriesAfterDownsampling: after.timings,
    checks: before.counts,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Starts influxd on 127.0.0.1 with its data in `dir`; resolves with its URL and a stop function. */
async function startInfluxd(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const [http, rpc] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'influxdb.conf');
  await writeFile(
    conf,
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = "${dir}/meta"\n[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  query-log-enabled = false\n` +
      `[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:${http}"\n  log-enabled = false\n[logging]\n  level = "warn"\n[continuous_queries]\n  enabled = false\n`,
  );
  const child: ChildProcess = spawn('influxd', ['-config', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode} (is Debian's influxdb installed? bash scripts/install-system-deps.sh)`);
    const ok = await fetch(`${url}/ping`).then((r) => r.status === 204, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('influxd did not answer /ping within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs the bench on both stores; returns a JSON-able result. */
export async function runTelemetryBench(log: (s: string) => void = (s) => console.log(s)): Promise<Record<string, unknown>> {
  const c: BenchConfig = {
    pools: envNum('BENCH_TEL_POOLS', 500),
    volumes: envNum('BENCH_TEL_VOLUMES', 20_000),
    days: envNum('BENCH_TEL_DAYS', 30),
    poolIntervalH: envNum('BENCH_TEL_POOL_INTERVAL_H', 1),
    volumeIntervalH: envNum('BENCH_TEL_VOLUME_INTERVAL_H', 12),
    reps: envNum('BENCH_TEL_REPS', 3),
  };
  const retention: RetentionSettings = { retentionMs: 35 * DAY, downsampleAfterMs: 7 * DAY, downsampleBucketMs: 6 * HOUR };
  const startMs = Date.UTC(2026, 0, 1);
  const dir = await mkdtemp(path.join(tmpdir(), 'ballast-bench-tel-'));
  const results: StoreResult[] = [];
  try {
    const sqlite = SqliteTelemetryStore.open({ path: path.join(dir, 'telemetry.db'), retention });
    try {
      results.push(await benchStore(sqlite, c, startMs, log));
    } finally {
      await sqlite.close();
    }
    const external = process.env['BENCH_INFLUX_URL'];
    const server = external ? { url: external, stop: async () => undefined } : await startInfluxd(path.join(dir, 'influx'));
    try {
      const influx = await InfluxTelemetryStore.open({ url: server.url, database: `bench_${Date.now().toString(36)}`, retentionPolicy: 'ballast', requestTimeoutMs: 120_000, batchSize: 5000, maxBufferedPoints: 1_000_000, retention });
      results.push(await benchStore(influx, c, startMs, log));
      await influx.close();
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100), config: c, retention, results };
}

/** The Markdown summary (bench/results/telemetry.md, pasted into the README). */
export function telemetryMarkdown(r: Record<string, unknown>): string {
  const c = r['config'] as BenchConfig;
  const rows = r['results'] as StoreResult[];
  const q = (x: Record<string, number>) => `${x['poolP95Iops7dMs']} ms | ${x['volumeP95Iops7dMs']} ms | ${x['poolGrowth30dMs']} ms`;
  return [
    `### Telemetry stores (${String(r['date']).slice(0, 10)}, Node ${String(r['node'])}, ${String(r['cpus'])} CPUs)`,
    '',
    `${c.days} days of samples for ${c.pools} pools (every ${c.poolIntervalH} h: allocated GiB, IOPS, bytes/s, latency p95) and ${c.volumes} volumes (every ${c.volumeIntervalH} h: IOPS, bytes/s). ` +
      `Queries: median of ${c.reps}; "after" = after one maintenance pass that downsampled what is older than 7 days into 6-hour buckets.` +
      (Array.isArray(r['loadAverageAtEnd']) ? ` Load average at the end: ${(r['loadAverageAtEnd'] as number[]).join(' ')}.` : ''),
    '',
    '| store | samples | ingest | ingest rate | p95 IOPS per pool, 7 d | p95 IOPS per volume, 7 d | growth per pool, 30 d | maintenance | after: pool p95 | volume p95 | growth |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (s) =>
        `| ${s.store} | ${s.points.toLocaleString('en')} | ${(s.ingestMs / 1000).toFixed(1)} s | ${s.ingestPointsPerSec.toLocaleString('en')} samples/s | ${q(s.queries)} | ${(s.maintainMs / 1000).toFixed(1)} s | ${q(s.queriesAfterDownsampling)} |`,
    ),
    '',
  ].join('\n');
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const results = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  const r = await runTelemetryBench();
  await writeFile(path.join(results, 'telemetry.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(path.join(results, 'telemetry.md'), telemetryMarkdown(r));
  console.log(telemetryMarkdown(r));
}
