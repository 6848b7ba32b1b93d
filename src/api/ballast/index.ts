/**
 * Ballast's own HTTP API (health, inventory, telemetry, plans, runs, run events, metrics, the
 * OpenAPI document) as a route module over a {@link BallastBackend}.
 *
 * @module
 */
export type { Actor, BallastBackend, TelemetryQuery } from './backend.js';
export { ballastModule, statusOf, type BallastModuleOptions } from './module.js';
export { openApiDocument, openApiText, OPENAPI_VERSION } from './openapi.js';
export { histogramSamples, PROMETHEUS_CONTENT_TYPE, renderPrometheus, type MetricFamily, type MetricSample } from './prometheus.js';
export { BALLAST_ROUTES } from './routes.js';
export * from './schemas.js';
