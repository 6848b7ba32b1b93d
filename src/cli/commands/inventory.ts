/**
 * `ballast inventory save FILE` and `ballast inventory show`: the fleet at one moment (pools,
 * volumes, types, telemetry aggregates, prices), refused when a pool's telemetry is stale.
 *
 * @module
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { poolUsedShare, type Inventory } from '../../model/index.js';
import { AppError, formatDuration, isoTime, systemClock, uuidGenerator } from '../../shared/index.js';
import { buildInventory, inventoryToJson, resolvePrices } from '../../telemetry/index.js';
import { printJson, renderTable, type CliIo } from '../io.js';
import { compact, durationOption, withTelemetry, type TelemetryContext } from './telemetry-context.js';

interface InventoryOptions {
  readonly maxAge?: string;
  readonly window?: string;
}

/** An inventory from the control plane and the telemetry store (prices from the catalogue); stale data refused. */
export async function buildInventoryFromTelemetry(ctx: TelemetryContext, opts: InventoryOptions): Promise<Inventory> {
  const t = ctx.config.telemetry;
  const [pools, types] = await Promise.all([ctx.controlPlane.listPools(), ctx.controlPlane.listVolumeTypes()]);
  const prices = ctx.catalogue ? resolvePrices(ctx.catalogue, pools, types) : undefined;
  return buildInventory(ctx.controlPlane, ctx.store, {
    clock: systemClock,
    ids: uuidGenerator,
    windowMs: opts.window ? durationOption(opts.window, '--window') : t.windowMs,
    growthWindowMs: t.growthWindowMs,
    maxAgeMs: opts.maxAge ? durationOption(opts.maxAge, '--max-age') : t.maxAgeMs,
    ...(prices ? { prices } : {}),
  });
}

/** Registers `inventory save` and `inventory show`. */
export function registerInventoryCommands(program: Command, io: CliIo): void {
  const inventory = program.command('inventory').description('the fleet at one moment, with telemetry: the input of plans, dry runs and simulations');
  inventory
    .command('save')
    .description('build an inventory and write it as JSON (refused when telemetry is stale)')
    .argument('<file>', 'where to write the inventory JSON')
    .option('--max-age <duration>', 'oldest acceptable capacity sample (default: telemetry.maxAge)')
    .option('--window <duration>', 'window of the performance aggregates (default: telemetry.window)')
    .action(async (file: string, opts: InventoryOptions, cmd: Command) =>
      withTelemetry(io, cmd, async (ctx) => {
        const inv = await buildInventoryFromTelemetry(ctx, opts);
        const target = resolve(file);
        const tmp = `${target}.tmp-${process.pid}`;
        try {
          await mkdir(dirname(target), { recursive: true });
          await writeFile(tmp, inventoryToJson(inv));
          await rename(tmp, target);
        } catch (e) {
          throw new AppError('INVALID_INPUT', `cannot write ${target}: ${(e as Error).message}`, { cause: e });
        }
        const out = { id: inv.id, file: target, takenAt: isoTime(inv.takenAtMs), pools: inv.pools.length, volumes: inv.volumes.length, volumeTypes: inv.volumeTypes.length };
        if (ctx.json) printJson(io, out);
        else io.stdout(`Saved inventory ${inv.id} (${out.pools} pools, ${out.volumes} volumes, ${out.volumeTypes} types; taken ${out.takenAt}) to ${target}`);
      }),
    );
  inventory
    .command('show')
    .description('build an inventory and print it (pools with their telemetry; --json: the whole inventory)')
    .option('--max-age <duration>', 'oldest acceptable capacity sample (default: telemetry.maxAge)')
    .option('--window <duration>', 'window of the performance aggregates (default: telemetry.window)')
    .action(async (opts: InventoryOptions, cmd: Command) =>
      withTelemetry(io, cmd, async (ctx) => {
        const inv = await buildInventoryFromTelemetry(ctx, opts);
        if (ctx.json) return io.stdout(inventoryToJson(inv).trimEnd());
        io.stdout(
          [
            `Inventory ${inv.id} taken ${isoTime(inv.takenAtMs)} from ${inv.source.kind} ${inv.source.name}`,
            `Telemetry: ${inv.freshness.store}, window ${formatDuration(inv.freshness.windowMs)}, oldest pool sample ${formatDuration(inv.takenAtMs - inv.freshness.oldestSampleAtMs)} old`,
            `${inv.pools.length} pools, ${inv.volumes.length} volumes, ${inv.volumeTypes.length} volume types`,
          ].join('\n'),
        );
        io.stdout(
          renderTable(
            ['Pool', 'State', 'Alloc GiB', 'Used %', 'Volumes', 'IOPS p95', 'B/s p95', 'Lat p95 ms', 'Growth GiB/d', 'Price/GiB-mo', 'Sampled'],
            inv.pools.map((p) => [
              p.name,
              p.state,
              p.allocatedGiB,
              Math.round(poolUsedShare(p) * 1000) / 10,
              inv.volumes.filter((v) => v.pool === p.name).length,
              compact(p.perf?.iopsP95),
              compact(p.perf?.throughputP95BytesPerSec),
              compact(p.perf?.latencyP95Ms),
              compact(p.growthGiBPerDay),
              p.costPerGiBMonth ?? '-',
              `${formatDuration(inv.takenAtMs - p.sampledAtMs)} ago`,
            ]),
          ),
        );
      }),
    );
}
