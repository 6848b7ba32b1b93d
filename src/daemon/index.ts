/**
 * The daemon: scheduled rebalancing (approve or auto mode) inside maintenance windows, telemetry
 * schedules, the API, one daemon per state directory, graceful stop.
 *
 * @module
 */
export { acquireDaemonLock, type DaemonLock } from './lock.js';
export { startDaemon, type DaemonHandle, type DaemonOptions } from './daemon.js';
export { DaemonStore, movesKey, type AddPlanResult, type CycleRecord } from './state.js';
export { Rebalancer, type DaemonMode, type RebalancerDeps } from './rebalancer.js';
export { DaemonApiBackend, type ApiBackendDeps } from './api-backend.js';
export { collectMetrics, type MetricsSources } from './metrics.js';
export { GatedControlPlane, type StartGate } from './gated-control-plane.js';
export { MAINTENANCE_JOB, TelemetrySchedule, telemetryScheduleFromConfig, type TelemetryScheduleOptions } from './telemetry-schedule.js';
export { inventoryNow, planFrom, type PlanningDeps } from './planning.js';
