/**
 * The planner: a solver's placement becomes an ordered, capacity-safe plan of moves, each with its
 * kind, size and reason; plan files (schema, reading, expiry) and their renderings (table, JSON,
 * Markdown). Pure: no I/O, no clock; ids and times come in.
 *
 * @module
 */
export { makePlan, gainPct, moveId, type MakePlanOptions } from './make-plan.js';
export { classifyMove, driverCanMove, poolServesType, retypeAllowsDriverMigration, type Classification, type ClassifyContext } from './classify.js';
export { cinderRoomGiB, isThinRequest, limitShareOf, poolRoom, usableGiB, type PoolRoom } from './headroom.js';
export { orderMoves, type DraftMove, type OrderedMove, type OrderInput, type OrderResult } from './order.js';
export { simulatePlan, type SimMove, type SimPool, type SimResult } from './simulate.js';
export { monthlyCost, pricePerGiBMonth } from './cost.js';
export { MoveSchema, PlanSchema, PoolChangeSchema, PLAN_SCHEMA_ID, planJsonSchema, planJsonSchemaText } from './schema.js';
export { isExpired, readPlanFile } from './plan-file.js';
export { InventoryFileSchema, parseInventoryFile } from './inventory-file.js';
export { PLAN_FORMATS, renderPlan, renderPlanJson, renderPlanMarkdown, renderPlanTable, type PlanFormat } from './render.js';
