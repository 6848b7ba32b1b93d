/**
 * Demo step: collect telemetry into the deployment's configured store and build the inventory,
 * with the same functions `ballast telemetry collect` and `ballast inventory save` use.
 *
 * @module
 */
import { poolUsedShare, type Inventory, type InventoryPool } from '../../../model/index.js';
import { usableGiB } from '../../../planner/index.js';
import { AppError, formatDuration, systemClock, uuidGenerator } from '../../../shared/index.js';
import { buildInventory, configuredCollectors, formatCollectReport, openTelemetryStore, resolvePrices, runCollectors, type TelemetryStore } from '../../../telemetry/index.js';
import { renderTable } from '../../io.js';
import { loadCatalogue } from '../telemetry-context.js';
import type { DemoContext } from './context.js';

/** One collection of every configured collector, flushed; a failed collector fails the demo. */
async function collectOnce(ctx: DemoContext, store: TelemetryStore, collectors: ReturnType<typeof configuredCollectors>): Promise<string[]> {
  const report = await runCollectors(collectors, ctx.controlPlane, store, systemClock);
  await store.flush();
  const failed = report.outcomes.filter((o) => !o.ok);
  if (failed.length > 0) throw new AppError('COLLECTOR_FAILED', formatCollectReport(report).filter((l) => l.includes('FAILED')).join('; '));
  return formatCollectReport(report);
}

/** A share as a 20-character bar with a mark at `limit` (when set). */
export function shareBar(share: number, limit: number | null, width = 20): string {
  const cells: string[] = Array.from({ length: width }, (_, i) => (i < Math.round(Math.min(1, share) * width) ? '█' : '·'));
  if (limit !== null) {
    const at = Math.min(width - 1, Math.round(limit * width));
    cells[at] = cells[at] === '█' ? '▓' : '|';
  }
  return cells.join('');
}

/**
 * Collects twice (a second apart, so the performance collector has rates), builds the inventory
 * from the store, prints the collection and the pools' utilization, and returns the inventory.
 */
export async function collectAndBuild(ctx: DemoContext, limitOf: (pool: InventoryPool) => number | null): Promise<Inventory> {
  const t = ctx.config.telemetry;
  const catalogue = await loadCatalogue(ctx.config);
  const store = await openTelemetryStore(t.store);
  try {
    const collectors = configuredCollectors({ catalogue, external: t.external });
    await collectOnce(ctx, store, collectors);
    await new Promise((r) => setTimeout(r, 1000));
    const lines = await collectOnce(ctx, store, collectors);
    ctx.say(`Collected twice into ${store.name}, a second apart: ${lines.filter((l) => !l.startsWith(' ')).join(', ')}`);
    const [pools, types] = await Promise.all([ctx.controlPlane.listPools(), ctx.controlPlane.listVolumeTypes()]);
    const prices = catalogue ? resolvePrices(catalogue, pools, types) : undefined;
    const inv = await buildInventory(ctx.controlPlane, store, {
      clock: systemClock,
      ids: uuidGenerator,
      windowMs: t.windowMs,
      growthWindowMs: t.growthWindowMs,
      maxAgeMs: t.maxAgeMs,
      ...(prices ? { prices } : {}),
    });
    ctx.say(`Inventory ${inv.id}: ${inv.pools.length} pools, ${inv.volumes.length} volumes, ${inv.volumeTypes.length} types; telemetry ${inv.freshness.store}, window ${formatDuration(inv.freshness.windowMs)}`);
    ctx.say(
      renderTable(
        ['Pool', 'Provisioning', 'Alloc GiB', 'Usable GiB', 'Used %', 'Utilization (| limit)', 'Limit %', 'Volumes', 'Price/GiB-mo'],
        inv.pools.map((p) => {
          const share = poolUsedShare(p);
          const limit = limitOf(p);
          return [
            p.name,
            p.capacity.thinProvisioningSupport ? 'thin' : 'thick',
            p.allocatedGiB,
            usableGiB(p),
            (share * 100).toFixed(1),
            shareBar(share, limit),
            limit === null ? '-' : Math.round(limit * 100),
            inv.volumes.filter((v) => v.pool === p.name).length,
            p.costPerGiBMonth ?? '-',
          ];
        }),
      ),
    );
    return inv;
  } finally {
    await store.close();
  }
}
