/**
 * The policy language, written once in zod: strict objects, a description on every field,
 * defaults in the schema. This is the *input* shape (what people write: `85%`, `2TiB`, `15m`);
 * `compile.ts` turns it into the frozen {@link CompiledPolicy} with numbers and unit-named fields.
 * The JSON Schema for editors (`policies/policy.schema.json`) is generated from it.
 *
 * @module
 */
import { validateDetailed as validateCron } from 'node-cron';
import { z } from 'zod';
import { BACKEND_PATTERN, poolPatternProblem, POOL_PATTERN } from './globs.js';
import {
  CLOCK_PATTERN,
  DURATION_PATTERN,
  parseClock,
  parseDuration,
  parsePercent,
  parseRate,
  parseSize,
  PERCENT_PATTERN,
  RATE_PATTERN,
  showFound,
  SIZE_PATTERN,
  type QuantityResult,
} from './quantities.js';
import { suggest } from '../shared/index.js';

/** The only `apiVersion` this release reads. */
export const API_VERSION = 'ballast.io/v1';
/** The `kind` of a policy document. */
export const KIND = 'PlacementPolicy';

const MAX_LIST = 1000;
const MAX_NAME = 255;

// ---------------------------------------------------------------------------------------------
// building blocks

/** A string quantity (size, percentage, …) checked by its pattern, then by its parser. */
function quantity(pattern: string, parse: (v: unknown) => QuantityResult, description: string, examples: string[]) {
  const message = (input: unknown): string | undefined => {
    if (input === undefined) return undefined;
    const r = parse(input);
    return r.ok ? undefined : r.message;
  };
  return z
    .string({ error: (iss) => message(iss.input) })
    .max(64, { error: (iss) => `expected at most 64 characters, found ${showFound(iss.input)}`, abort: true })
    .regex(new RegExp(pattern), { error: (iss) => message(iss.input), abort: true })
    .refine((s) => parse(s).ok, { error: (iss) => message(iss.input) })
    .meta({ description, examples });
}

const size = (description: string) => quantity(SIZE_PATTERN, parseSize, description, ['500GiB', '2TiB']);
const percent = (description: string) => quantity(PERCENT_PATTERN, parsePercent, description, ['85%']);
const duration = (description: string, examples = ['15m', '2h']) => quantity(DURATION_PATTERN, parseDuration, description, examples);
const rate = (description: string) => quantity(RATE_PATTERN, parseRate, description, ['200MiB/s']);
const clock = (description: string) => quantity(CLOCK_PATTERN, parseClock, description, ['01:00', '23:30']);

/** A list used as a selector: absent means "any", so an empty list is a mistake, not "none". */
function selector<T extends z.ZodType>(item: T, key: string, description: string) {
  return z
    .array(item)
    .min(1, { error: `found an empty list, which would select nothing: leave '${key}' out to select every one` })
    .max(MAX_LIST)
    .describe(description);
}

const name = (description: string) => z.string().min(1).max(MAX_NAME).describe(description);

const poolPattern = z
  .string()
  .min(1)
  .max(MAX_NAME, { abort: true })
  .regex(new RegExp(POOL_PATTERN), {
    error: (iss) => `expected a pool 'host@backend#pool' (globs * and ? allowed), found ${showFound(iss.input)}${typeof iss.input === 'string' ? poolPatternProblem(iss.input) : ''}`,
  })
  .describe("A pool as Cinder names it, 'host@backend#pool'; '*' and '?' are globs ('ballast@fast#*').");

const backendRef = z
  .string()
  .min(1)
  .max(MAX_NAME, { abort: true })
  .regex(new RegExp(BACKEND_PATTERN), {
    error: (iss) => `expected a back-end name ('fast') or 'host@backend', found ${showFound(iss.input)}`,
  })
  .describe("A back-end: its name ('fast', on any host) or 'host@backend'; globs allowed.");

const volumeRef = z
  .string()
  .min(1)
  .max(MAX_NAME)
  .describe("A volume id or a volume name pattern ('db-*').");

const weight = (def: number, description: string) =>
  z.number().min(0).max(1000).default(def).describe(`${description} 0 turns the term off.`);

/** A boolean; `yes`/`no`/`on`/`off` are text in YAML 1.2, so they get a hint. */
const bool = (description: string) =>
  z
    .boolean({
      error: (iss) =>
        typeof iss.input === 'string' && /^(?:yes|no|on|off|y|n|true|false)$/i.test(iss.input)
          ? `expected true or false, found ${showFound(iss.input)} (write ${/^(?:yes|on|y|true)$/i.test(iss.input) ? 'true' : 'false'} without quotes)`
          : undefined,
    })
    .describe(description);

const count = (description: string, max = 1_000_000) => z.number().int().min(0).max(max).describe(description);

// ---------------------------------------------------------------------------------------------
// metadata and scope

const Metadata = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/, {
        error: (iss) => `expected a lower-case name of letters, digits and '-' (like 'gold-latency'), found ${showFound(iss.input)}`,
      })
      .describe('Unique name of the policy across all policy files; shown in plans and explanations.'),
    description: z.string().max(2000).optional().describe('What the policy is for, in a sentence or two.'),
  })
  .describe('Identity of the policy.');

/** Which volumes and pools a policy governs. Every selector given must match; absent means any. */
export const ScopeSchema = z
  .strictObject({
    volumeTypes: selector(name('A volume type name.'), 'volumeTypes', 'Volume types (by name) whose volumes are governed.').optional(),
    projects: selector(name('A project id.'), 'projects', 'Projects (ids) whose volumes are governed.').optional(),
    volumeNames: selector(name("A volume name pattern ('db-*')."), 'volumeNames', 'Volume name patterns; * and ? are globs.').optional(),
    volumeMetadata: z
      .record(z.string().min(1).max(MAX_NAME), z.string().max(MAX_NAME).describe('Value pattern; * and ? are globs.'))
      .optional()
      .describe("Volume metadata labels that must all match (values may be globs), e.g. { tier: cold }."),
    pools: selector(poolPattern, 'pools', 'Pools governed: pool limits apply to them, and only volumes living on them are in scope.').optional(),
    backends: selector(backendRef, 'backends', 'Back-ends governed (their pools), by name or host@backend.').optional(),
    availabilityZones: selector(name('An availability zone name.'), 'availabilityZones', 'Availability zones governed (their pools).').optional(),
  })
  .describe(
    'Which volumes and pools this policy governs. A volume is in scope when it matches every volume selector and lives on a pool the pool selectors select. Absent selectors select everything.',
  );

// ---------------------------------------------------------------------------------------------
// constraints

const labelKey = z.string().min(1).max(MAX_NAME).describe('Volume metadata key; volumes with the same value for it form a group.');

const AntiAffinityGroup = z
  .strictObject({
    labelKey,
    across: z
      .enum(['pool', 'backend', 'availabilityZone'])
      .default('pool')
      .describe('The failure domain members must not share: pool, back-end or availability zone.'),
  })
  .describe('Volumes sharing a value of labelKey are spread: no two on the same pool, back-end or zone.');

const AffinityGroup = z
  .strictObject({
    labelKey,
    within: z.enum(['pool', 'backend']).default('pool').describe('Where members are kept together: one pool or one back-end.'),
  })
  .describe('Volumes sharing a value of labelKey are kept together on one pool or back-end.');

/** Budgets: caps on the amount of change one run may make. Run-wide. */
export const BudgetsSchema = z
  .strictObject({
    maxMoves: count('At most this many volume moves per run (0 freezes placement).').optional(),
    maxBytes: size('At most this much data moved per run, summed over moved volumes.').optional(),
  })
  .describe('Caps per run on how much changes. Run-wide: they bound the whole run, whatever the scope of the file.');

const Constraints = z
  .strictObject({
    capacity: z
      .strictObject({
        maxUtilization: percent(
          "Highest allowed used share of each pool in scope after the plan, on Cinder's capacity math (provisioned capacity of thin pools, free capacity of thick ones, minus reserved_percentage).",
        ).optional(),
      })
      .optional()
      .describe('Capacity headroom per pool in scope.'),
    performance: z
      .strictObject({
        maxIopsUtilization: percent("Highest allowed share of a pool's rated IOPS used by its volumes' p95 IOPS.").optional(),
        maxThroughputUtilization: percent("Highest allowed share of a pool's rated throughput used by its volumes' p95 throughput.").optional(),
        minFreeIops: count('IOPS that must stay unused on each pool in scope.', 100_000_000).optional(),
        minFreeThroughput: rate('Throughput that must stay unused on each pool in scope.').optional(),
      })
      .optional()
      .describe('IOPS and throughput headroom per pool in scope (needs telemetry).'),
    drainPools: selector(poolPattern, 'drainPools', 'Pools to empty (maintenance, evacuation): closed as destinations for every volume, and the volumes in scope living on them must leave.').optional(),
    excludeDestinations: selector(poolPattern, 'excludeDestinations', 'Pools volumes in scope must never be moved onto; volumes already there may stay.').optional(),
    pinnedVolumes: selector(volumeRef, 'pinnedVolumes', 'Volumes (ids or name patterns) that stay where they are; they still count for capacity and affinity.').optional(),
    excludedVolumes: selector(volumeRef, 'excludedVolumes', 'Volumes (ids or name patterns) left out of planning entirely; only their used capacity counts.').optional(),
    keepWithinAvailabilityZone: bool('Volumes in scope only move to pools in their own availability zone (true when no policy covering a volume says).').optional(),
    allowInUse: bool('Whether volumes in scope may be moved while attached (in-use), by live copy (false when no policy covering a volume says).').optional(),
    antiAffinity: z
      .array(AntiAffinityGroup)
      .max(100)
      .optional()
      .describe('Anti-affinity groups by metadata label: replicas of one application on different failure domains.'),
    affinity: z
      .array(AffinityGroup)
      .max(100)
      .optional()
      .describe('Affinity groups by metadata label: volumes of one application kept together.'),
    budgets: BudgetsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const anti = new Set((c.antiAffinity ?? []).map((g) => g.labelKey));
    (c.affinity ?? []).forEach((g, i) => {
      if (anti.has(g.labelKey)) {
        ctx.addIssue({
          code: 'custom',
          path: ['affinity', i, 'labelKey'],
          message: `found label '${g.labelKey}' in both affinity and antiAffinity: a group cannot be kept together and spread`,
        });
      }
    });
  })
  .describe('Hard constraints: a plan that breaks one is never proposed. They apply to the volumes and pools in scope.');

// ---------------------------------------------------------------------------------------------
// objectives (run-wide)

/** Objectives: normalized terms, weighted, summed and minimized. Run-wide. */
export const ObjectivesSchema = z
  .strictObject({
    balance: z
      .strictObject({
        weight: weight(1, 'Weight of the balance term.'),
        by: z.enum(['capacity', 'load', 'both']).default('capacity').describe('What to balance: used capacity, load (IOPS/throughput), or both.'),
        metric: z
          .enum(['max', 'spread'])
          .default('max')
          .describe("'max' lowers the fullest pool's utilization; 'spread' narrows the gap between the fullest and the emptiest."),
      })
      .prefault({})
      .describe('Balance utilization across pools.'),
    cost: z
      .strictObject({
        weight: weight(0, 'Weight of the cost term.'),
        pricing: z
          .array(
            z
              .strictObject({
                pools: poolPattern,
                perGiBMonth: z.number().min(0).max(1_000_000).describe('Price of one GiB-month on these pools, in any currency used consistently.'),
              })
              .describe('Price of a set of pools; the first entry matching a pool applies.'),
          )
          .max(MAX_LIST)
          .default([])
          .describe('Storage prices per pool pattern, first match wins.'),
        defaultPerGiBMonth: z.number().min(0).max(1_000_000).default(0).describe('Price for pools no pricing entry matches.'),
      })
      .prefault({})
      .describe('Lower the monthly storage cost (volume size × pool price).'),
    performance: z
      .strictObject({
        weight: weight(0, 'Weight of the performance-headroom term.'),
        metrics: z
          .array(z.enum(['latencyP95', 'iops']).describe('A performance signal.'))
          .min(1)
          .max(2)
          .default(['latencyP95', 'iops'])
          .describe('Signals to keep headroom on: p95 latency of the pools, unused IOPS.'),
        targetLatencyP95: duration('p95 latency a pool should stay under; pools above it are penalized.', ['5ms', '20ms']).optional(),
      })
      .prefault({})
      .describe('Keep performance headroom on pools (needs telemetry).'),
    moveCost: z
      .strictObject({
        perGiB: z
          .number()
          .min(0)
          .max(1000)
          .default(0.001)
          .describe('Penalty per GiB moved, in the units of the weighted terms: the knob that stops moves that do not pay.'),
      })
      .prefault({})
      .describe('The cost of moving data.'),
    minGain: percent('No plan is proposed unless it improves the weighted objective by at least this share of its current value.')
      .default('1%'),
  })
  .describe('What to optimize once the hard constraints hold. Run-wide: one objective for the whole run.');

// ---------------------------------------------------------------------------------------------
// execution (run-wide)

/** Execution limits and migration options. Run-wide. */
export const ExecutionSchema = z
  .strictObject({
    maxConcurrent: z
      .strictObject({
        total: count('Moves running at once in total.', 1000).default(4),
        perPool: count('Moves running at once touching one pool (as source or destination).', 1000).default(2),
        perBackend: count('Moves running at once touching one back-end.', 1000).default(2),
        inUse: count('Moves of attached (in-use) volumes running at once.', 1000).default(1),
      })
      .prefault({})
      .describe('Concurrency limits for moves.'),
    maxBandwidth: rate('Cap on the total copy bandwidth of all running moves; absent means uncapped.').optional(),
    forceHostCopy: bool("Cinder's force_host_copy: skip driver-assisted migration and copy through the host.").default(false),
    lockVolume: bool("Cinder's lock_volume: keep an available volume in 'maintenance' during its move.").default(true),
    retype: z
      .strictObject({
        migrationPolicy: z
          .enum(['never', 'on-demand'])
          .default('never')
          .describe("Cinder's migration_policy for retype: 'on-demand' allows a migration when the pool cannot host the new type."),
      })
      .prefault({})
      .describe('Retype options.'),
    moveTimeout: duration('A move running longer than this is cancelled and reported.', ['6h']).default('6h'),
    planValidFor: duration('A plan expires this long after the inventory it was made from was taken.', ['15m']).default('15m'),
  })
  .describe('How plans are carried out. Run-wide.');

// ---------------------------------------------------------------------------------------------
// when (run-wide)

const cronProblem = (expr: string): string | null => {
  try {
    const r = validateCron(expr);
    if (r.valid) return null;
    const first = r.errors[0];
    return first ? first.message : 'not a cron expression';
  } catch (e) {
    return e instanceof Error ? e.message : 'not a cron expression';
  }
};

let zoneNames: readonly string[] | null = null;
const timeZoneProblem = (tz: string): string | null => {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: tz });
    return null;
  } catch {
    zoneNames ??= typeof Intl.supportedValuesOf === 'function' ? [...Intl.supportedValuesOf('timeZone'), 'UTC'] : ['UTC'];
    const hint = suggest(tz, zoneNames);
    return `expected an IANA time zone such as 'Europe/Berlin' or 'UTC', found ${showFound(tz)}${hint ? ` (did you mean '${hint}'?)` : ''}`;
  }
};

const timeZone = (description: string) =>
  z
    .string()
    .min(1)
    .max(64, { abort: true })
    .superRefine((tz, ctx) => {
      const p = timeZoneProblem(tz);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    })
    .describe(description);

/** Weekdays as written in maintenance windows. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const MaintenanceWindow = z
  .strictObject({
    days: z
      .array(z.enum(WEEKDAYS).describe('A weekday.'))
      .min(1)
      .max(7)
      .default([...WEEKDAYS])
      .describe('Days on which the window opens; every day when absent.'),
    start: clock('Local time the window opens.'),
    end: clock('Local time the window closes; earlier than start means it closes the next day.'),
    timeZone: timeZone("Time zone of start and end; the 'when.timeZone' when absent.").optional(),
  })
  .superRefine((w, ctx) => {
    const s = parseClock(w.start);
    const e = parseClock(w.end);
    if (s.ok && e.ok && s.value === e.value) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `expected an end different from the start, found '${w.end}' for both: the window would be empty` });
    }
  })
  .describe('A recurring window in which moves may start.');

/** When runs happen and when moves may start. Run-wide. */
export const WhenSchema = z
  .strictObject({
    schedule: z
      .string()
      .min(1)
      .max(100, { abort: true })
      .superRefine((expr, ctx) => {
        const p = cronProblem(expr);
        if (p) ctx.addIssue({ code: 'custom', message: `expected a cron expression such as '0 */6 * * *', found ${showFound(expr)}: ${p}` });
      })
      .optional()
      .describe("Cron expression (minute hour day month weekday) for scheduled rebalancing runs; absent means runs happen only on demand."),
    timeZone: timeZone('Time zone for the schedule and the maintenance windows (IANA name).').default('UTC'),
    maintenanceWindows: z
      .array(MaintenanceWindow)
      .max(100)
      .default([])
      .describe('Moves start only inside one of these windows; any time when the list is empty. A move already running may finish.'),
    paused: bool('Stop starting new moves and scheduled runs (a switch for incidents).').default(false),
  })
  .describe('When rebalancing runs and when moves may start. Run-wide.');

// ---------------------------------------------------------------------------------------------
// the document

/** One policy file as written. */
export const PolicySchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe(`Version of the policy language; '${API_VERSION}'.`),
    kind: z.literal(KIND).describe(`Kind of document; '${KIND}'.`),
    metadata: Metadata,
    priority: z
      .number()
      .int()
      .min(-1000)
      .max(1000)
      .default(0)
      .describe('Precedence when files set the same run-wide setting: the highest priority wins; equal priorities must agree.'),
    scope: ScopeSchema.optional(),
    constraints: Constraints.optional(),
    objectives: ObjectivesSchema.optional(),
    execution: ExecutionSchema.optional(),
    when: WhenSchema.optional(),
  })
  .describe('A Ballast placement policy: what good placement means for the volumes and pools in its scope.');

/** A policy as written by people (optional fields, quantities as strings). */
export type PolicyInput = z.input<typeof PolicySchema>;
/** A policy after schema validation (defaults applied, quantities still strings). */
export type PolicyDocument = z.output<typeof PolicySchema>;
/** Weekday names accepted in maintenance windows. */
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * The run-wide sections, by path. Their leaves merge across files by `priority`; everything else
 * in a file applies to that file's scope only.
 */
export const RUN_WIDE_SECTIONS = [
  { path: ['constraints', 'budgets'], schema: BudgetsSchema },
  { path: ['objectives'], schema: ObjectivesSchema },
  { path: ['execution'], schema: ExecutionSchema },
  { path: ['when'], schema: WhenSchema },
] as const;
