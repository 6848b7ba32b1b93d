/**
 * The scenario language, written once in zod (the input form: `30d`, `4TiB`, `500MiB/s`). The JSON
 * Schema for editors (`simulations/scenario.schema.json`) is generated from it. What cannot be
 * checked by shape alone (pools that exist at the time, overlaps, growth beyond the fleet) is
 * checked by `scenario-check.ts` with the same located problems.
 *
 * @module
 */
import { z } from 'zod';
import { parseDuration, parseRate, parseSize } from '../policy/index.js';

/** `apiVersion` of scenario files. */
export const SCENARIO_API_VERSION = 'ballast.io/v1';
/** `kind` of scenario files. */
export const SCENARIO_KIND = 'Scenario';

const NUM = '[0-9]+(?:\\.[0-9]+)?';
const SIZE_RE = `^(${NUM}) ?(B|KiB|MiB|GiB|TiB|PiB)$`;
const DURATION_RE = `^(?:${NUM}(?:ms|s|m|h|d))+$`;
const RATE_RE = `^(${NUM}) ?(KiB|MiB|GiB)/s$`;
const ISO_RE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2}))?$';
/** A growth rate: an amount or a percentage per day, week, month (30 days) or year (365 days). */
export const GROWTH_RATE_PATTERN = `^(-?${NUM}) ?(B|KiB|MiB|GiB|TiB|PiB|%)/(d|w|mo|y)$`;
const POOL_RE = '^[^@#\\s]+@[^@#\\s]+#[^@#\\s]+$';
const POOL_GLOB_RE = '^[^@#\\s]+@[^@#\\s]+#[^@#\\s]+$';
const BACKEND_RE = '^[^@#\\s]+@[^@#\\s]+$';

function checked(pattern: string, parse: (v: unknown) => { ok: boolean; message?: string }, expected: string, examples: string[]) {
  const msg = (input: unknown): string => {
    const r = parse(input);
    return !r.ok && r.message ? r.message : `${expected}, found ${JSON.stringify(input)}`;
  };
  return z
    .string({ error: (iss) => msg(iss.input) })
    .regex(new RegExp(pattern), { error: (iss) => msg(iss.input) })
    .refine((s) => parse(s).ok, { error: (iss) => msg(iss.input) })
    .meta({ description: expected, examples });
}

const size = checked(SIZE_RE, parseSize, "expected a size such as '500GiB' or '4TiB'", ['500GiB', '4TiB']);
const duration = checked(DURATION_RE, parseDuration, "expected a duration such as '30d' or '12h'", ['30d', '12h']);
const rate = checked(RATE_RE, parseRate, "expected a rate such as '500MiB/s'", ['500MiB/s']);

/** A moment of the scenario: a duration after its start (`30d`) or an ISO date (`2027-03-01`). */
const moment = z
  .string({ error: (iss) => `expected a time: a duration after the start such as '30d', or a date such as '2027-03-01', found ${JSON.stringify(iss.input)}` })
  .regex(new RegExp(`${DURATION_RE}|${ISO_RE}`), {
    error: (iss) => `expected a time: a duration after the start such as '30d', or a date such as '2027-03-01', found ${JSON.stringify(iss.input)}`,
  })
  .meta({ description: "A duration after the scenario's start ('30d') or an ISO date ('2027-03-01').", examples: ['30d', '2027-03-01'] });

const poolName = z
  .string()
  .regex(new RegExp(POOL_RE), { error: (iss) => `expected a pool 'host@backend#pool', found ${JSON.stringify(iss.input)}` })
  .describe("A pool as Cinder names it, 'host@backend#pool'.");
const backendName = z
  .string()
  .regex(new RegExp(BACKEND_RE), { error: (iss) => `expected a back-end 'host@backend', found ${JSON.stringify(iss.input)}` })
  .describe("A back-end 'host@backend'.");
const poolGlob = z
  .string()
  .regex(new RegExp(POOL_GLOB_RE), { error: (iss) => `expected a pool 'host@backend#pool' (globs * and ? allowed), found ${JSON.stringify(iss.input)}` })
  .describe("Pools 'host@backend#pool'; '*' and '?' are globs.");

const probability = z.number().min(0).max(1).describe('A probability from 0 to 1.');

const bandwidth = z
  .strictObject({
    read: rate.describe('Read bandwidth of the pool.'),
    write: rate.describe('Write bandwidth of the pool.'),
  })
  .describe('Read and write bandwidth of a pool, shared by the copies using it.');

const capabilities = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('Capabilities the pool reports (matched by volume types).');

/** A new pool (in `addPool`, or in `addBackend.pools` where `name` is only the pool part). */
const newPoolFields = {
  size: size.describe('Total capacity (total_capacity_gb).'),
  provisioning: z.enum(['thin', 'thick']).default('thin').describe('thin or thick provisioning.'),
  maxOverSubscriptionRatio: z.number().min(1).default(20).describe("Cinder's max_over_subscription_ratio (thin pools)."),
  reservedPercentage: z.number().min(0).max(100).default(0).describe("Cinder's reserved_percentage."),
  availabilityZone: z.string().min(1).default('nova').describe('Availability zone.'),
  capabilities: capabilities.optional(),
  price: z.number().min(0).optional().describe('Price of a GiB-month on the pool.'),
  bandwidth: bandwidth.optional(),
};

const addPool = z
  .strictObject({
    name: poolName,
    volumeBackendName: z.string().min(1).optional().describe("volume_backend_name (default: the back-end part of the name)."),
    ...newPoolFields,
  })
  .describe('Adds one pool.');

const addBackend = z
  .strictObject({
    name: backendName,
    volumeBackendName: z.string().min(1).optional().describe("volume_backend_name (default: the back-end part of the name)."),
    pools: z
      .array(z.strictObject({ name: z.string().regex(/^[^@#\s]+$/, { error: 'expected a pool name without @ or #' }).describe('The pool part of host@backend#pool.'), ...newPoolFields }))
      .min(1)
      .describe('Its pools.'),
  })
  .describe('Adds a back-end and its pools.');

const growthPoint = z.strictObject({
  at: duration.describe('Time after the start of this growth.'),
  add: z.string().regex(/^-?[0-9]+(?:\.[0-9]+)?\s?(B|KiB|MiB|GiB|TiB|PiB)$/, { error: (iss) => `expected a size such as '500GiB' or '-200GiB', found ${JSON.stringify(iss.input)}` }).describe('Capacity added (negative: removed) in total by then.'),
});

const growth = z
  .strictObject({
    pool: poolName.optional().describe('Growth of one pool (new volumes are created on it).'),
    volumeType: z.string().min(1).optional().describe("Growth of a volume type (new volumes are placed by Cinder's scheduler: a compatible pool with the most free capacity)."),
    rate: z
      .string()
      .regex(new RegExp(GROWTH_RATE_PATTERN), { error: (iss) => `expected a growth rate such as '20GiB/d', '3%/mo' or '-1TiB/y', found ${JSON.stringify(iss.input)}` })
      .optional()
      .describe("A steady rate: an amount or a percentage of the scope's used capacity (compounding) per d, w, mo (30d) or y (365d)."),
    curve: z.array(growthPoint).min(1).optional().describe('Total capacity added over time, linear between points.'),
    until: moment.optional().describe('When the growth stops (default: the end of the horizon).'),
    volumeSize: size.optional().describe('Size of each new volume (default: growthVolumeSize).'),
    volumeTypeOfNew: z.string().min(1).optional().describe('Type of the new volumes of a pool growth (default: the most common type on the pool).'),
  })
  .describe('Growth of used capacity, as new volumes (or deleted ones when negative).');

const price = z
  .strictObject({
    pools: poolGlob,
    perGiBMonth: z.number().min(0).describe('New price of a GiB-month.'),
  })
  .describe('A price change: the pools matching get the new price (also put first in the cost objective).');

/** One event of the scenario: `at` and exactly one action. */
const event = z
  .strictObject({
    at: moment,
    addPool: addPool.optional(),
    addBackend: addBackend.optional(),
    removePool: poolName.optional().describe('Removes a pool; volumes still on it are lost (reported as a violation).'),
    removeBackend: backendName.optional().describe('Removes every pool of a back-end.'),
    drain: z.array(poolGlob).min(1).optional().describe('Pools closed as destinations that volumes must leave (a drain rule added to the policies).'),
    growth: growth.optional(),
    price: price.optional(),
    failPool: poolName.optional().describe('The pool goes down: its volumes go to error, moves touching it fail.'),
    policies: z.array(z.string().min(1)).min(1).optional().describe('From then on, these policy files are in force (paths relative to the scenario).'),
  })
  .describe('One change at one time: `at` plus exactly one action.');

const timing = z
  .strictObject({
    poolBandwidth: bandwidth.optional().describe('Bandwidth of every pool without its own (default 500MiB/s both).'),
    pools: z.record(poolName, bandwidth).optional().describe('Per-pool bandwidth.'),
    link: z.union([rate, z.literal('none')]).default('1GiB/s').describe("The shared link of copies between back-ends, or 'none'."),
    moveOverhead: duration.default('30s').describe('Fixed time of every move (half before copying, half after).'),
    liveWriteRate: rate.default('10MiB/s').describe('What the consumer of an attached volume writes during a live copy.'),
    failureProbability: probability.default(0).describe('Probability that a move fails partway.'),
    failureProbabilityByBackend: z.record(backendName, probability).optional(),
  })
  .describe('How long moves take and how often they fail.');

const base = z
  .strictObject({
    inventory: z.string().min(1).optional().describe('An inventory JSON file (`ballast inventory save`), relative to the scenario.'),
    generate: z
      .strictObject({
        pools: z.number().int().min(1).max(10_000),
        volumes: z.number().int().min(0).max(1_000_000),
        seed: z.number().int().min(0).optional(),
      })
      .optional()
      .describe('A generated fleet (the solver test-fleet generator).'),
  })
  .describe('The fleet at the start: exactly one of inventory or generate.');

/** A scenario file. */
export const ScenarioSchema = z
  .strictObject({
    apiVersion: z.literal(SCENARIO_API_VERSION),
    kind: z.literal(SCENARIO_KIND),
    metadata: z.strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: (iss) => `expected a name of lower-case letters, digits and '-', found ${JSON.stringify(iss.input)}` }),
      description: z.string().max(1000).default(''),
    }),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1).describe('Seed of every random draw (failures, generated fleets).'),
    base,
    start: z.string().regex(new RegExp(ISO_RE), { error: (iss) => `expected an ISO date such as '2027-01-01', found ${JSON.stringify(iss.input)}` }).optional().describe("The scenario's start (default: when the base inventory was taken)."),
    horizon: duration.describe('How long the scenario runs.'),
    rebalance: z
      .strictObject({
        every: duration.describe('Time between rebalancing runs.'),
        first: duration.default('0d').describe('Time of the first run after the start.'),
      })
      .optional()
      .describe('When the optimizer runs; absent: never (growth and events only).'),
    sampleEvery: duration.default('1d').describe('Time between utilization samples in the timeline.'),
    growthVolumeSize: size.default('100GiB').describe('Default size of the volumes growth creates.'),
    solveTimeLimit: duration.default('20s').describe('Time limit of each solve (wall clock).'),
    policies: z.array(z.string().min(1)).min(1).describe('Policy files in force from the start, relative to the scenario.'),
    timing: timing.default({ link: '1GiB/s', moveOverhead: '30s', liveWriteRate: '10MiB/s', failureProbability: 0 }),
    events: z.array(event).max(10_000).default([]),
  })
  .describe('A what-if scenario for `ballast simulate`.');

/** The scenario as written (input form). */
export type ScenarioInput = z.input<typeof ScenarioSchema>;
/** The scenario after the schema (defaults applied, strings still unparsed). */
export type ScenarioDocument = z.output<typeof ScenarioSchema>;
/** One event as the schema returns it. */
export type ScenarioEventDoc = ScenarioDocument['events'][number];
