/**
 * Telemetry: collectors, the store port with its SQLite and InfluxDB 1.x stores, the queries the
 * solver and reports need, the price catalogue, and the inventory builder.
 *
 * @module
 */
export * from './metrics.js';
export * from './store.js';
export { SqliteTelemetryStore, type SqliteStoreOptions } from './sqlite-store.js';
export { InfluxTelemetryStore, toInfluxPoints, type InfluxStoreOptions } from './influx-store.js';
export type { InfluxEndpoint } from './influx-connection.js';
export * from './collector.js';
export { capacityCollector, capacityPoints } from './capacity-collector.js';
export { performanceCollector, type PerformanceCollectorOptions } from './performance-collector.js';
export { costCollector } from './cost-collector.js';
export { externalCollector, type ExternalMapping } from './external-collector.js';
export { histogramQuantile, ioRates, countersWentBack, type IoRates } from './rates.js';
export * from './prices.js';
export * from './queries.js';
export { buildInventory, inventoryToJson, stalePools, type BuildInventoryOptions, type StalePool } from './inventory-builder.js';
export { openTelemetryStore, configuredCollectors, type StoreSettings } from './open-store.js';
