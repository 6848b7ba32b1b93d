/**
 * The optimizer: placement as a linear program under policies, verified, explained. Pure (no I/O,
 * no clock: time comes from `SolveOptions.now`); the LP runs in a worker thread so a hard time
 * limit bounds it.
 *
 * @module
 */
export type { FixedVolume, Infeasibility, LpReport, MoveReason, SolveOptions, SolveResult, SolverEngine, Violation } from './types.js';
export { solvePlacement, computeBound, EXACT_MAX_PAIRS, JSLP_MAX_CELLS } from './solve.js';
export { POLISH_ROUNDS, POLISH_EVALS_PER_PAIR, POLISH_MAX_EVALS } from './engine/polish.js';
export { MIP_NODE_LIMIT } from './lp/jslp.js';
export { verifyPlacement } from './verify.js';
export { evaluatePlacement, type Evaluation } from './evaluate.js';
export { explainVolume } from './explain.js';
export { greedyPlacement, type GreedyStyle } from './greedy-placement.js';
export { generateFleet, fleetPolicy, type FleetOptions } from './fleet-generator.js';
export { CONSTRAINTS } from './constraints/registry.js';
export { OBJECTIVES } from './objectives/registry.js';
