/**
 * Opening the store a configuration chooses, and the collectors it enables.
 *
 * @module
 */
import type { Collector } from './collector.js';
import { capacityCollector } from './capacity-collector.js';
import { costCollector } from './cost-collector.js';
import { externalCollector, type ExternalMapping } from './external-collector.js';
import { InfluxTelemetryStore, type InfluxStoreOptions } from './influx-store.js';
import { performanceCollector } from './performance-collector.js';
import type { PriceCatalogue } from './prices.js';
import { SqliteTelemetryStore } from './sqlite-store.js';
import type { RetentionSettings, TelemetryStore } from './store.js';

/** Which store, and how to reach it. */
export type StoreSettings =
  | { readonly kind: 'sqlite'; readonly path: string; readonly retention: RetentionSettings }
  | ({ readonly kind: 'influx' } & InfluxStoreOptions);

/** Opens the configured store (an unreachable InfluxDB opens too: writes buffer). */
export async function openTelemetryStore(s: StoreSettings): Promise<TelemetryStore> {
  if (s.kind === 'sqlite') return SqliteTelemetryStore.open({ path: s.path, retention: s.retention });
  return InfluxTelemetryStore.open(s);
}

/** The collectors a configuration enables: capacity and performance always, cost with a catalogue, external with a mapping. */
export function configuredCollectors(opts: { catalogue?: PriceCatalogue | null; external?: ExternalMapping | null; maxFutureSkewMs?: number }): Collector[] {
  const out: Collector[] = [capacityCollector(), performanceCollector(opts.maxFutureSkewMs !== undefined ? { maxFutureSkewMs: opts.maxFutureSkewMs } : {})];
  if (opts.catalogue) out.push(costCollector(opts.catalogue));
  if (opts.external) out.push(externalCollector(opts.external));
  return out;
}
