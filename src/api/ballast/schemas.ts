/**
 * The bodies of Ballast's own API as zod schemas: the single source of the TypeScript types the
 * daemon implements, of the JSON Schemas ajv checks requests and responses against at the HTTP
 * boundary, and of the OpenAPI document's components.
 *
 * @module
 */
import { z } from 'zod';
import { PlanSchema } from '../../planner/index.js';

const ms = (what: string) => z.number().int().min(0).describe(`${what}, in milliseconds since the Unix epoch.`);
const MoveStateSchema = z.enum(['pending', 'prechecking', 'running', 'verifying', 'done', 'skipped', 'failed', 'cancelled']);
const RunStateSchema = z.enum(['running', 'paused', 'cancelling', 'finished', 'cancelled', 'interrupted']);

export const ErrorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable error code (docs: ERROR_CODES).'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .describe('Every refusal: the stable code and a clear message. A refused request changed nothing.');

export const HealthSchema = z
  .strictObject({
    status: z.literal('ok'),
    pid: z.number().int(),
    uptimeMs: z.number().int().min(0),
    mode: z.enum(['auto', 'approve']),
    stopping: z.boolean(),
  })
  .describe('Liveness: the process answers.');

export const ReadySchema = z
  .strictObject({
    ready: z.boolean(),
    checks: z.array(z.strictObject({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  })
  .describe('Readiness: the control plane answers, telemetry is fresh, the daemon is not stopping.');

export const PoolViewSchema = z.strictObject({
  name: z.string(),
  state: z.enum(['up', 'down']),
  totalGiB: z.number().nullable().describe('Total capacity (null when the back-end reports infinite or unknown).'),
  allocatedGiB: z.number(),
  utilization: z.number().nullable().describe('allocatedGiB / totalGiB (0-1), null without a total.'),
  sampledAtMs: ms('Newest capacity sample of the pool'),
});

export const InventoryViewSchema = z
  .strictObject({
    id: z.string(),
    takenAtMs: ms('When it was taken'),
    source: z.strictObject({ kind: z.string(), name: z.string() }),
    freshness: z.strictObject({
      store: z.string(),
      windowMs: z.number().int().min(0),
      oldestSampleAtMs: ms('Oldest newest-sample among the pools'),
      ageMs: z.number().int().describe('takenAtMs - oldestSampleAtMs.'),
      maxAgeMs: z.number().int().min(0).describe('Oldest acceptable sample (telemetry.maxAge).'),
    }),
    pools: z.array(PoolViewSchema),
    volumes: z.number().int().min(0).describe('Number of volumes.'),
    volumeTypes: z.array(z.string()),
  })
  .describe('The inventory the daemon would plan from now, and how fresh its telemetry is.');

export const TelemetrySeriesSchema = z
  .strictObject({
    entity: z.enum(['pool', 'volume']),
    metric: z.string(),
    fromMs: ms('Window start'),
    toMs: ms('Window end'),
    series: z.array(
      z.strictObject({
        key: z.string(),
        stats: z.strictObject({ count: z.number().int(), mean: z.number(), max: z.number(), p95: z.number() }).nullable(),
        samples: z.array(z.strictObject({ atMs: z.number().int(), value: z.number(), max: z.number(), count: z.number().int() })),
      }),
    ),
  })
  .describe('Samples of one metric over a window, per pool or volume, with window statistics.');

export const PlanStatusSchema = z
  .enum(['recommended', 'approved', 'rejected', 'superseded', 'expired', 'applied', 'failed'])
  .describe('recommended: waits for approval; approved: runs when the window opens; applied: a run was started from it; failed: it could not start (note says why).');

export const PlanRecordSchema = z
  .strictObject({
    id: z.string(),
    status: PlanStatusSchema,
    origin: z.enum(['schedule', 'api', 'cli']).describe('What made it: the schedule or a dry run asked for.'),
    createdAtMs: ms('When it was made'),
    expiresAtMs: ms('When it expires'),
    inventoryId: z.string(),
    moves: z.number().int().min(0),
    bytes: z.number().min(0),
    decidedBy: z.string().nullable().describe('Who approved or rejected it (user, or "auto").'),
    decidedAtMs: z.number().int().nullable(),
    note: z.string().nullable(),
    runId: z.string().nullable(),
  })
  .describe('A plan the daemon holds, with its decision.');

export const PlanListSchema = z.strictObject({ plans: z.array(PlanRecordSchema) });

export const PlanDetailSchema = z
  .strictObject({ record: PlanRecordSchema, plan: PlanSchema })
  .describe('A plan with every move and its reason.');

export const PlanCreateRequestSchema = z
  .strictObject({
    timeLimitMs: z.number().int().min(100).max(120_000).optional().describe('Hard limit on the solve (default 10 s).'),
    note: z.string().max(500).optional(),
  })
  .describe('Make a plan now from the configured policies (a dry run: nothing moves until it is approved).');

export const DecisionRequestSchema = z.strictObject({ note: z.string().max(500).optional() }).describe('Approve or reject, with an optional note.');

export const RunStartRequestSchema = z
  .strictObject({
    planId: z.string().min(1).max(200),
    ignoreWindows: z.boolean().optional().describe('Start moves now, whatever the maintenance windows say.'),
  })
  .describe('Start a run from a waiting or approved plan.');

export const RunItemSchema = z.strictObject({
  id: z.string(),
  planId: z.string(),
  state: RunStateSchema,
  createdAtMs: ms('When it was created'),
  finishedAtMs: z.number().int().nullable(),
  moves: z.number().int().min(0),
  counts: z.record(z.string(), z.number().int()),
  note: z.string().nullable(),
  live: z.boolean().describe('True while this daemon executes it.'),
});

export const RunListSchema = z.strictObject({ runs: z.array(RunItemSchema) });

export const RunProgressSchema = z.strictObject({
  runId: z.string(),
  counts: z.record(z.string(), z.number().int()),
  bytesDone: z.number().min(0),
  bytesTotal: z.number().min(0),
  rateBytesPerSec: z.number().min(0),
  etaMs: z.number().nullable(),
  active: z.array(
    z.strictObject({
      moveId: z.string(),
      volumeName: z.string(),
      state: MoveStateSchema,
      bytesDone: z.number(),
      bytesTotal: z.number(),
      rateBytesPerSec: z.number(),
      etaMs: z.number().nullable(),
    }),
  ),
  waitingFor: z.string().nullable(),
});

export const RunDetailSchema = z
  .strictObject({
    run: RunItemSchema,
    progress: RunProgressSchema.nullable().describe('Live progress while this daemon executes the run.'),
    moves: z.array(
      z.strictObject({
        id: z.string(),
        volumeId: z.string(),
        volumeName: z.string(),
        from: z.string(),
        to: z.string(),
        state: MoveStateSchema,
        attempts: z.number().int(),
        reason: z.string().nullable(),
        errorCode: z.string().nullable(),
        bytesDone: z.number(),
        bytesTotal: z.number(),
      }),
    ),
  })
  .describe('A run with every move: state, attempts, bytes, reason.');

/** Every schema of the API by its component name (OpenAPI `#/components/schemas/<name>`). */
export const API_SCHEMAS = {
  Error: ErrorBodySchema,
  Health: HealthSchema,
  Ready: ReadySchema,
  Inventory: InventoryViewSchema,
  TelemetrySeries: TelemetrySeriesSchema,
  PlanRecord: PlanRecordSchema,
  PlanList: PlanListSchema,
  PlanDetail: PlanDetailSchema,
  PlanCreateRequest: PlanCreateRequestSchema,
  DecisionRequest: DecisionRequestSchema,
  RunStartRequest: RunStartRequestSchema,
  RunItem: RunItemSchema,
  RunList: RunListSchema,
  RunDetail: RunDetailSchema,
} as const;

export type SchemaName = keyof typeof API_SCHEMAS;
export type Health = z.output<typeof HealthSchema>;
export type Ready = z.output<typeof ReadySchema>;
export type InventoryView = z.output<typeof InventoryViewSchema>;
export type TelemetrySeries = z.output<typeof TelemetrySeriesSchema>;
export type PlanStatus = z.output<typeof PlanStatusSchema>;
export type PlanRecord = z.output<typeof PlanRecordSchema>;
export type PlanDetail = z.output<typeof PlanDetailSchema>;
export type PlanCreateRequest = z.output<typeof PlanCreateRequestSchema>;
export type DecisionRequest = z.output<typeof DecisionRequestSchema>;
export type RunStartRequest = z.output<typeof RunStartRequestSchema>;
export type RunItem = z.output<typeof RunItemSchema>;
export type RunDetail = z.output<typeof RunDetailSchema>;
