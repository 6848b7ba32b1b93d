/**
 * The simulator: the production solver, planner and executor run against a simulated control plane
 * on a discrete-event clock, for dry runs and what-if scenarios (`ballast simulate`), with reports
 * people can read and show (text, JSON, HTML with SVG charts) and side-by-side comparisons.
 *
 * @module
 */
export { SimClock, settle, type RunOptions, type SimTimers, type TimerId } from './clock.js';
export { mulberry32, deriveSeed, type Random } from '../shared/index.js';
export { DEFAULT_TIMING, allocateBandwidth, flowResources, resourceCapacity, soloMoveMs, type Flow, type PoolBandwidth, type TimingModel } from './timing.js';
export { SimFleet, type SimPool, type SimVolume } from './fleet.js';
export { SimulatedControlPlane, type SimControlPlaneOptions, type SimMovePhase, type SimMoveRecord } from './control-plane.js';
export { ScenarioSchema, SCENARIO_API_VERSION, SCENARIO_KIND, type ScenarioDocument, type ScenarioInput } from './scenario-schema.js';
export { loadScenarioText, type LoadedScenario, type ScenarioLoadResult } from './scenario-load.js';
export { checkScenario, growthAddedGiB, type ScenarioCheckResult } from './scenario-check.js';
export type { GrowthShape, GrowthSpec, NewPoolSpec, Scenario, ScenarioAction, ScenarioBase, ScenarioEvent } from './scenario-types.js';
export { scenarioJsonSchema, scenarioJsonSchemaText, SCENARIO_SCHEMA_ID } from './scenario-json-schema.js';
export { openScenario, type FleetGenerator, type OpenedScenario, type OpenOptions } from './open.js';
export { productionEngine, type Engine, type ExecutionOutcome, type ProductionEngineOptions, type RunningExecution } from './engine.js';
export { runScenario, digest, type RunInput } from './runner.js';
export { SIMULATION_RESULT_SCHEMA, type EventRecord, type PoolSeries, type RebalanceRun, type SimulatedMove, type SimulationResult, type ViolationRecord } from './result.js';
export { renderTextSummary, fmtSpan, type TextSummaryOptions } from './report-text.js';
export { renderHtmlReport, renderHtmlComparison, renderChartPage, resultCharts, type ChartScales } from './report-html.js';
export { PALETTE, STATUS_COLOR } from './svg.js';
export { renderComparisonText } from './compare.js';
export { fmtOffset } from './format.js';
export { dryRunPlan, type DryRunResult } from './dry-run.js';
