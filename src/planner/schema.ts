/**
 * The plan file's shape as a zod schema: the single source of `policies/plan.schema.json` (emitted
 * with `z.toJSONSchema`) and of the key order of rendered JSON. The TypeScript shape is
 * {@link Plan} in `src/model/plan.ts`; the two are checked against each other at compile time.
 *
 * @module
 */
import { z } from 'zod';
import { PLAN_SCHEMA, type Plan } from '../model/index.js';

/** Where the schema is published; editors and tools use it as the schema's identity. */
export const PLAN_SCHEMA_ID = 'https://ballast.io/schemas/plan.schema.json';

const gib = (what: string) => z.number().min(0).describe(`${what}, in GiB.`);
const ms = (what: string) => z.number().int().min(0).describe(`${what}, in milliseconds since the Unix epoch.`);

/** How a move is carried out. */
export const MoveKindSchema = z
  .enum(['retype-in-place', 'driver-assisted', 'generic-copy', 'live-copy'])
  .describe('How the move is carried out: retype in place (no data moves), driver-assisted, generic (host) copy, live copy of an attached volume.');

/** One move of a plan. */
export const MoveSchema = z
  .strictObject({
    id: z.string().regex(/^m\d{3,}$/).describe('Stable within the plan: m001, m002, ... in execution order.'),
    volumeId: z.string().min(1).describe('The volume moved (its id never changes).'),
    volumeName: z.string().describe('The volume name when the move was planned (may be empty).'),
    sizeGiB: gib('Size of the volume'),
    from: z.string().min(1).describe('Source pool, host@backend#pool.'),
    to: z.string().min(1).describe('Destination pool, host@backend#pool (the source for a retype in place).'),
    kind: MoveKindSchema,
    newVolumeType: z.string().nullable().describe('For a retype: the new volume type name; null for a plain migration.'),
    attached: z.boolean().describe('True when the volume is attached (in-use): it moves by live copy.'),
    reason: z.string().describe('Why, in words: the rule or objective it serves and by how much.'),
    serves: z.array(z.string()).describe('Rule names or objective:<term> names this move serves.'),
    dependsOn: z.array(z.string()).describe('Ids of moves that must finish before this one starts (they make room on its destination).'),
  })
  .describe('One volume move.');

/** One pool before and after the plan, with its peak during execution. */
export const PoolChangeSchema = z
  .strictObject({
    pool: z.string().min(1).describe('The pool, host@backend#pool.'),
    capacityGiB: gib('Usable capacity (total less reserved) of the pool; 0 when the pool reports none'),
    usedBeforeGiB: gib('Allocated capacity before the plan'),
    usedAfterGiB: gib('Allocated capacity after the plan'),
    peakShare: z.number().min(0).describe('Highest used share (0-1) at any moment of execution, counting in-flight reservations.'),
    limitShare: z.number().min(0).max(1).nullable().describe("The policy's utilization limit on this pool (0-1), or null when no rule sets one."),
  })
  .describe('Used capacity of one pool before and after the plan.');

/** One objective term before and after. */
export const ObjectiveTermSchema = z
  .strictObject({
    name: z.string().describe('The objective term: balance, cost, performance, moveCost.'),
    weight: z.number().describe('Weight of the term in the objective.'),
    before: z.number().describe('Value of the term for the current placement.'),
    after: z.number().describe('Value of the term for the planned placement.'),
  })
  .describe('One objective term, before and after.');

/** How good the plan is against the LP bound. */
export const PlanQualitySchema = z
  .strictObject({
    method: z.string().describe('Which method produced the placement: mip, lp-round, greedy, current.'),
    engine: z.string().describe('The LP engine used (jslp, highs).'),
    objectiveBefore: z.number().describe('Objective of the current placement (lower is better).'),
    objectiveAfter: z.number().describe('Objective of the planned placement (lower is better).'),
    bound: z.number().nullable().describe('Lower bound on the objective from the LP relaxation; null when none was computed.'),
    improvementLeft: z
      .number()
      .nullable()
      .describe('(after - bound) / (before - bound): the share of the achievable improvement left; null without a bound.'),
    terms: z.array(ObjectiveTermSchema).describe('The objective by term.'),
    solveMs: z.number().min(0).describe('Time the solve took, in milliseconds.'),
    timeLimited: z.boolean().describe('True when a time limit cut the search (the plan is still valid).'),
  })
  .describe('How good the plan is, measured against the LP bound.');

/** Totals of a plan. */
export const PlanTotalsSchema = z
  .strictObject({
    moves: z.number().int().min(0).describe('Number of moves.'),
    bytes: z.number().int().min(0).describe('Bytes of volume data the moves copy (retypes in place copy none).'),
    costPerMonthBefore: z.number().min(0).describe('Monthly cost of the placement before the plan.'),
    costPerMonthAfter: z.number().min(0).describe('Monthly cost of the placement after the plan.'),
  })
  .describe('Totals of the plan.');

/** The whole plan file (the single source of `policies/plan.schema.json`). */
export const PlanSchema = z
  .strictObject({
    schema: z.literal(PLAN_SCHEMA).describe('The plan file format and version.'),
    id: z.string().min(1).describe('Identity of the plan.'),
    inventoryId: z.string().min(1).describe('The inventory the plan was made from.'),
    inventoryTakenAtMs: ms('When that inventory was taken'),
    createdAtMs: ms('When the plan was made'),
    expiresAtMs: ms('After this the executor refuses the plan (policy execution.planValidFor)'),
    policies: z.array(z.string()).describe('Policy rule names in force, sorted.'),
    policyDigest: z.string().describe('sha256 of the compiled policy, to match a plan to its policy.'),
    moves: z.array(MoveSchema).describe('The moves, in execution order.'),
    pools: z.array(PoolChangeSchema).describe('Every pool, sorted by name, before and after.'),
    quality: PlanQualitySchema,
    totals: PlanTotalsSchema,
    notes: z.array(z.string()).describe('Plain-language notes: volumes that stay, budgets that bound, the min-gain decision.'),
  })
  .describe('A Ballast plan: ordered, capacity-safe volume moves made from one inventory under a policy.');

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type DeepMutable<T> = T extends readonly (infer U)[] ? DeepMutable<U>[] : T extends object ? { -readonly [K in keyof T]: DeepMutable<T[K]> } : T;
/** Compile-time check: the schema and the model's `Plan` describe the same shape. */
const sameShape: Equals<DeepMutable<z.output<typeof PlanSchema>>, DeepMutable<Plan>> = true;
void sameShape;

/** The JSON Schema (draft 2020-12) of plan files. */
export function planJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(PlanSchema, { io: 'output', target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: PLAN_SCHEMA_ID, title: 'Ballast Plan', ...rest };
}

/** The JSON Schema as the text of `policies/plan.schema.json` (2-space indent, final newline). */
export function planJsonSchemaText(): string {
  return `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
}
