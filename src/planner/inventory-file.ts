/**
 * Reading an inventory file (`ballast inventory save`, simulations) for planning: its `schema`
 * and its shape are checked, and every problem is reported with `file:line:col`. Pure: the caller
 * reads the file and passes its text.
 *
 * @module
 */
import { z } from 'zod';
import { INVENTORY_SCHEMA, type Inventory } from '../model/index.js';
import { FileValidationError, parseYamlSource, zodIssuesToProblems } from '../shared/index.js';

const capacityValue = z.union([z.number(), z.enum(['infinite', 'unknown'])]);
const ms = z.number().int().min(0);

const PerfAggregate = z.object({
  iopsMean: z.number(),
  iopsP95: z.number(),
  throughputMeanBytesPerSec: z.number(),
  throughputP95BytesPerSec: z.number(),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
});

const Pool = z.object({
  name: z.string().regex(/^[^@#\s]+@[^@#\s]+#[^@#\s]+$/, 'expected host@backend#pool'),
  backend: z.string().min(1),
  volumeBackendName: z.string(),
  availabilityZone: z.string(),
  capacity: z.object({
    totalCapacityGb: capacityValue.nullable(),
    freeCapacityGb: capacityValue.nullable(),
    provisionedCapacityGb: z.number(),
    maxOverSubscriptionRatio: z.union([z.number(), z.literal('auto')]),
    reservedPercentage: z.number().min(0).max(100),
    thinProvisioningSupport: z.boolean(),
    thickProvisioningSupport: z.boolean(),
  }),
  allocatedGiB: z.number().min(0),
  capabilities: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  ratedIops: z.number().nullable(),
  ratedThroughputBytesPerSec: z.number().nullable(),
  perf: PerfAggregate.nullable(),
  costPerGiBMonth: z.number().min(0).nullable(),
  growthGiBPerDay: z.number().nullable(),
  state: z.enum(['up', 'down']),
  sampledAtMs: ms,
});

const Volume = z.object({
  id: z.string().min(1),
  name: z.string(),
  sizeGiB: z.number().min(0),
  pool: z.string().min(1),
  volumeTypeId: z.string(),
  volumeType: z.string(),
  projectId: z.string(),
  availabilityZone: z.string(),
  metadata: z.record(z.string(), z.string()),
  status: z.string(),
  migrationStatus: z.string().nullable(),
  attached: z.boolean(),
  multiattach: z.boolean(),
  snapshotCount: z.number().int().min(0),
  groupId: z.string().nullable(),
  replicated: z.boolean(),
  perf: z.object({ iopsP95: z.number(), throughputP95BytesPerSec: z.number() }).nullable(),
});

/** The inventory file's shape (extra keys are tolerated: newer writers may add fields). */
export const InventoryFileSchema = z.object({
  schema: z.literal(INVENTORY_SCHEMA),
  id: z.string().min(1),
  takenAtMs: ms,
  source: z.object({ kind: z.enum(['embedded', 'cinder', 'simulated', 'generated']), name: z.string() }),
  pools: z.array(Pool),
  volumes: z.array(Volume),
  volumeTypes: z.array(z.object({ id: z.string(), name: z.string(), extraSpecs: z.record(z.string(), z.string()) })),
  freshness: z.object({ windowMs: z.number().min(0), oldestSampleAtMs: z.number(), store: z.string() }),
});

/**
 * Parses an inventory file. Throws `FileValidationError` (`INVENTORY_INVALID`) with every problem
 * located, including volumes on pools the file does not list.
 */
export function parseInventoryFile(file: string, text: string): Inventory {
  const source = parseYamlSource(file, text);
  if (source.syntaxProblems.length > 0) throw new FileValidationError('INVENTORY_INVALID', file, source.syntaxProblems);
  const parsed = InventoryFileSchema.safeParse(source.value);
  if (!parsed.success) throw new FileValidationError('INVENTORY_INVALID', file, zodIssuesToProblems(source, parsed.error.issues, InventoryFileSchema));
  const inv = source.value as Inventory;
  const pools = new Set(inv.pools.map((p) => p.name));
  const problems = inv.volumes.flatMap((v, i) =>
    pools.has(v.pool) ? [] : [{ location: source.locate(['volumes', i, 'pool']), path: `volumes[${i}].pool`, message: `pool '${v.pool}' is not among the inventory's pools` }],
  );
  if (problems.length > 0) throw new FileValidationError('INVENTORY_INVALID', file, problems);
  return inv;
}
