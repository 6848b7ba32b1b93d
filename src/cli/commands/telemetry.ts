/**
 * `ballast telemetry collect | show | maintain`, and (registered from here) `ballast inventory
 * save | show`: collect capacity, performance and cost now, look at what the store holds as a
 * table, JSON or a small chart, and apply retention.
 *
 * @module
 */
import type { Command } from 'commander';
import { poolUsedShare } from '../../model/index.js';
import { AppError, isoTime, systemClock } from '../../shared/index.js';
import {
  METRIC_NAMES,
  formatCollectReport,
  isMetricName,
  poolGrowth,
  resolvePrices,
  runCollectors,
  timeToFull,
  windowed,
  type MetricName,
} from '../../telemetry/index.js';
import { printJson, renderTable, type CliIo } from '../io.js';
import { registerInventoryCommands } from './inventory.js';
import { compact, durationOption, renderChart, withTelemetry, type TelemetryContext } from './telemetry-context.js';

const SHOW_METRICS: readonly MetricName[] = ['capacity.allocated_gib', 'capacity.free_gib', 'capacity.used_share', 'perf.iops', 'perf.bytes_per_sec', 'perf.latency_p50_ms', 'perf.latency_p95_ms', 'cost.monthly'];

async function collect(io: CliIo, ctx: TelemetryContext, only: readonly string[]): Promise<void> {
  const all = ctx.collectors();
  const unknown = only.filter((n) => !all.some((c) => c.name === n));
  if (unknown.length > 0) throw new AppError('INVALID_INPUT', `unknown collector ${unknown.join(', ')}: configured ones are ${all.map((c) => c.name).join(', ')}`);
  const chosen = only.length > 0 ? all.filter((c) => only.includes(c.name)) : all;
  const report = await runCollectors(chosen, ctx.controlPlane, ctx.store, systemClock);
  try {
    await ctx.store.flush();
  } catch (e) {
    // This process ends now: what the store could not take is lost, not buffered.
    if (e instanceof AppError && e.code === 'TELEMETRY_STORE_UNAVAILABLE') throw new AppError(e.code, `the samples of this collection were not stored: ${e.message}`, { cause: e });
    throw e;
  }
  const failed = report.outcomes.filter((o) => !o.ok);
  if (ctx.json) {
    printJson(io, {
      at: isoTime(report.atMs),
      store: ctx.store.name,
      collectors: report.outcomes.map((o) => (o.ok ? { name: o.name, ok: true, samples: o.points, notes: o.notes } : { name: o.name, ok: false, error: o.error.toJSON() })),
    });
  } else {
    io.stdout([`Collected into ${ctx.store.name}:`, ...formatCollectReport(report).map((l) => `  ${l}`)].join('\n'));
  }
  if (failed.length > 0) {
    const err = new AppError('COLLECTOR_FAILED', `${failed.length} collector${failed.length === 1 ? '' : 's'} failed: ${failed.map((f) => f.name).join(', ')}`);
    io.stderr(ctx.json ? JSON.stringify({ error: err.toJSON() }) : `ERROR [${err.code}]: ${err.message}`);
    io.setExitCode(err.exitCode);
  }
}

async function showFleet(io: CliIo, ctx: TelemetryContext, windowMs: number): Promise<void> {
  const now = systemClock.nowMs();
  const w = { endMs: now, windowMs };
  const pools = await ctx.controlPlane.listPools();
  const [iops, bps, lat, growth, latest] = await Promise.all([
    windowed(ctx.store, 'pool', 'perf.iops', w),
    windowed(ctx.store, 'pool', 'perf.bytes_per_sec', w),
    windowed(ctx.store, 'pool', 'perf.latency_p95_ms', w),
    poolGrowth(ctx.store, { endMs: now, windowMs: ctx.config.telemetry.growthWindowMs }),
    ctx.store.latest('pool', 'capacity.allocated_gib'),
  ]);
  const prices = ctx.catalogue ? resolvePrices(ctx.catalogue, pools, await ctx.controlPlane.listVolumeTypes()) : new Map();
  const rows = pools.map((p) => {
    const total = typeof p.capacity.totalCapacityGb === 'number' ? p.capacity.totalCapacityGb : 0;
    const usable = total - Math.floor((total * p.capacity.reservedPercentage) / 100);
    const g = growth.get(p.name) ?? null;
    const f = timeToFull({ usedGiB: p.allocatedGiB, usableGiB: usable, thresholdShare: ctx.config.telemetry.fullThresholdShare, growthGiBPerDay: g, nowMs: now });
    const last = latest.get(p.name);
    return {
      pool: p.name,
      allocatedGiB: p.allocatedGiB,
      usedPct: Math.round(poolUsedShare(p) * 1000) / 10,
      growthGiBPerDay: g,
      full: f.kind === 'at' ? { inDays: Math.round(f.daysToFull * 10) / 10, at: isoTime(f.fullAtMs) } : f.kind,
      iops: iops.get(p.name) ?? null,
      bytesPerSec: bps.get(p.name) ?? null,
      latencyP95Ms: lat.get(p.name)?.p95 ?? null,
      pricePerGiBMonth: prices.get(p.name)?.perGiBMonth ?? null,
      lastSampleAt: last ? isoTime(last.atMs) : null,
    };
  });
  if (ctx.json) return printJson(io, { window: windowMs, store: ctx.store.name, pools: rows });
  io.stdout(
    renderTable(
      ['Pool', 'Alloc GiB', 'Used %', 'Growth GiB/d', `Full at ${Math.round(ctx.config.telemetry.fullThresholdShare * 100)}%`, 'IOPS mean', 'IOPS p95', 'B/s p95', 'Lat p95 ms', 'Price/GiB-mo', 'Last sample'],
      rows.map((r) => [
        r.pool,
        r.allocatedGiB,
        r.usedPct,
        compact(r.growthGiBPerDay),
        typeof r.full === 'string' ? r.full : `${r.full.inDays} d`,
        compact(r.iops?.mean),
        compact(r.iops?.p95),
        compact(r.bytesPerSec?.p95),
        compact(r.latencyP95Ms),
        r.pricePerGiBMonth ?? '-',
        r.lastSampleAt ?? 'never',
      ]),
    ),
  );
}

async function showPool(io: CliIo, ctx: TelemetryContext, pool: string, windowMs: number, metric: MetricName): Promise<void> {
  const pools = await ctx.controlPlane.listPools();
  if (!pools.some((p) => p.name === pool)) throw new AppError('POOL_NOT_FOUND', `no pool ${pool}: pools are ${pools.map((p) => p.name).join(', ')}`);
  const now = systemClock.nowMs();
  const w = { endMs: now, windowMs };
  const stats = await Promise.all(SHOW_METRICS.map(async (m) => [m, (await windowed(ctx.store, 'pool', m, w, [pool])).get(pool) ?? null] as const));
  const series = (await ctx.store.series({ entity: 'pool', metric, fromMs: now - windowMs, toMs: now, keys: [pool] })).get(pool) ?? [];
  if (ctx.json) {
    return printJson(io, {
      pool,
      window: windowMs,
      metrics: Object.fromEntries(stats.map(([m, s]) => [m, s && { count: s.count, mean: s.mean, max: s.max, p95: s.p95 }])),
      series: { metric, samples: series.map((s) => ({ at: isoTime(s.atMs), value: s.value, max: s.max, count: s.count })) },
    });
  }
  io.stdout(renderTable(['Metric', 'Samples', 'Mean', 'Max', 'p95'], stats.map(([m, s]) => [m, s?.count ?? 0, compact(s?.mean), compact(s?.max), compact(s?.p95)])));
  io.stdout(renderChart(`${metric} of ${pool}`, series, now - windowMs, now));
}

/** Registers `telemetry …` and `inventory …`. */
export function registerTelemetryCommands(program: Command, io: CliIo): void {
  const telemetry = program.command('telemetry').description('capacity, performance and cost samples: collect, show, maintain');
  telemetry
    .command('collect')
    .description('run the collectors once (capacity, performance, cost, external) and store their samples')
    .option('--collector <name...>', 'only these collectors')
    .action(async (opts: { collector?: string[] }, cmd: Command) => withTelemetry(io, cmd, (ctx) => collect(io, ctx, opts.collector ?? [])));
  telemetry
    .command('show')
    .description('what the store holds: every pool, or one pool with a chart of a metric over time')
    .argument('[pool]', 'a pool as host@backend#pool')
    .option('--window <duration>', 'how far back (e.g. 1h, 24h, 7d)', '24h')
    .option('--metric <name>', `metric charted for one pool (${METRIC_NAMES.filter((m) => m.startsWith('capacity') || m.startsWith('perf')).join(', ')}, …)`, 'capacity.allocated_gib')
    .action(async (pool: string | undefined, opts: { window: string; metric: string }, cmd: Command) =>
      withTelemetry(io, cmd, async (ctx) => {
        const windowMs = durationOption(opts.window, '--window');
        if (!isMetricName(opts.metric)) throw new AppError('INVALID_INPUT', `unknown metric '${opts.metric}': one of ${METRIC_NAMES.join(', ')}`);
        if (pool === undefined) return showFleet(io, ctx, windowMs);
        return showPool(io, ctx, pool, windowMs, opts.metric);
      }),
    );
  telemetry
    .command('maintain')
    .description('apply retention and downsampling to the store now')
    .action(async (_opts: unknown, cmd: Command) =>
      withTelemetry(io, cmd, async (ctx) => {
        const r = await ctx.store.maintain(systemClock.nowMs());
        const out = { store: ctx.store.name, deletedBefore: isoTime(r.retentionCutoffMs), downsampledBefore: isoTime(r.downsampleCutoffMs), coarseWritten: r.coarseWritten };
        if (ctx.json) printJson(io, out);
        else io.stdout(`${out.store}: deleted samples before ${out.deletedBefore}; downsampled raw samples before ${out.downsampledBefore} (${out.coarseWritten} coarse samples written)`);
      }),
    );
  registerInventoryCommands(program, io);
}
