/**
 * The schema of `ballast.yaml`, the configuration of an embedded deployment: the single source of
 * its shape, its defaults and its per-field rules. Cross-field rules (duplicates, references,
 * drivers) live in `checks.ts`; turning the parsed document into the compiled form in `load.ts`.
 *
 * @module
 */
import { z } from 'zod';
import { telemetrySchema } from './telemetry-schema.js';
import { apiSchema } from './api-schema.js';
import { controlPlaneSchema, requireBackendsForEmbedded } from './control-plane-schema.js';

/** The only `apiVersion` this loader understands. */
export const CONFIG_API_VERSION = 'ballast/v1';

/** Largest pool accepted, in GiB (1 PiB): keeps every byte count a safe integer with room to spare. */
export const MAX_POOL_SIZE_GIB = 1024 * 1024;

// Same rule as host strings (src/model/host.ts): names must be safe in paths, URLs and host@backend#pool.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME_RULE = 'must start with a letter or digit and use only A-Z a-z 0-9 . _ : - (at most 128 characters)';

const name = (what: string) =>
  z.string().refine((s) => NAME_RE.test(s), { error: `${what} ${NAME_RULE}` });

const text = (what: string) =>
  z.string().refine((s) => s.trim().length > 0 && s.length <= 255, { error: `${what} must be a non-empty string of at most 255 characters` });

const path = (what: string) => z.string().refine((s) => s.trim().length > 0, { error: `${what} must be a non-empty path` });

/** Binary units for sizes, in GiB. */
const SIZE_UNITS_GIB: Readonly<Record<string, number>> = { mib: 1 / 1024, gib: 1, tib: 1024, pib: 1024 * 1024 };
/** Binary units for rates, in bytes. */
const RATE_UNITS_BYTES: Readonly<Record<string, number>> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const DECIMAL_UNIT_RE = /^([kmgtp])(b)?$/i;
const QUANTITY_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)$/;

/** Result of parsing a quantity: the value in the target unit, or why it was refused. */
export type ParsedQuantity = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly message: string };

/**
 * Parses a pool size: a number of GiB, or a string with a binary unit (`512MiB`, `100GiB`, `1TiB`).
 * The result must be a whole number of GiB, at least 1.
 */
export function parseSizeGiB(input: number | string): ParsedQuantity {
  let gib: number;
  if (typeof input === 'number') {
    gib = input;
  } else {
    const m = QUANTITY_RE.exec(input.trim());
    if (!m) return { ok: false, message: "size must be a number of GiB or a quantity with a unit, e.g. 100GiB or 1TiB" };
    const [, num = '', unit = ''] = m;
    const factor = unit === '' ? 1 : SIZE_UNITS_GIB[unit.toLowerCase()];
    if (factor === undefined) {
      const decimal = DECIMAL_UNIT_RE.exec(unit);
      const hint = decimal ? `; write ${decimal[1]!.toUpperCase()}iB (binary units, as Cinder's _gb values are GiB)` : '';
      return { ok: false, message: `unknown size unit '${unit}': expected GiB or TiB (also MiB, PiB)${hint}` };
    }
    gib = Number(num) * factor;
  }
  const rounded = Math.round(gib);
  if (!Number.isFinite(gib) || Math.abs(gib - rounded) > 1e-9) {
    return { ok: false, message: 'size must be a whole number of GiB (e.g. 100GiB, 2048MiB, 1.5TiB)' };
  }
  if (rounded < 1) return { ok: false, message: 'size must be at least 1 GiB' };
  if (rounded > MAX_POOL_SIZE_GIB) return { ok: false, message: `size must be at most ${MAX_POOL_SIZE_GIB} GiB (1 PiB)` };
  return { ok: true, value: rounded };
}

/**
 * Parses a copy rate limit: a number of bytes per second, or a string with a binary unit
 * (`200MiB/s`, `1GiB/s`, `512KiB/s`); 0 means no limit.
 */
export function parseRateBytesPerSec(input: number | string): ParsedQuantity {
  let bytes: number;
  if (typeof input === 'number') {
    bytes = input;
  } else {
    const m = QUANTITY_RE.exec(input.trim().replace(/\s*\/\s*s$/i, ''));
    if (!m) return { ok: false, message: 'rate must be bytes per second or a quantity such as 200MiB/s (0 = no limit)' };
    const [, num = '', unit = ''] = m;
    const factor = unit === '' ? 1 : RATE_UNITS_BYTES[unit.toLowerCase()];
    if (factor === undefined) {
      const decimal = DECIMAL_UNIT_RE.exec(unit);
      const hint = decimal ? `; write ${decimal[1]!.toUpperCase()}iB/s (binary units)` : '';
      return { ok: false, message: `unknown rate unit '${unit}': expected B/s, KiB/s, MiB/s or GiB/s${hint}` };
    }
    bytes = Number(num) * factor;
  }
  if (!Number.isFinite(bytes) || bytes < 0) return { ok: false, message: 'rate must be 0 (no limit) or a positive number of bytes per second' };
  const whole = Math.floor(bytes);
  if (!Number.isSafeInteger(whole)) return { ok: false, message: 'rate is too large' };
  return { ok: true, value: whole };
}

/** `number | string` whose string form is parsed by `parse`; type errors get one clear message. */
const quantity = (expected: string, parse: (v: number | string) => ParsedQuantity) =>
  z
    .union([z.number(), z.string()], {
      error: (iss) => (iss.input === undefined ? `required: expected ${expected}` : `expected ${expected}`),
    })
    .transform((v, ctx) => {
      const r = parse(v);
      if (r.ok) return r.value;
      ctx.issues.push({ code: 'custom', message: r.message, input: v });
      return z.NEVER;
    });

const overSubscriptionRatio = z
  .union([z.number(), z.string()], { error: "expected a number ≥ 1 or 'auto'" })
  .transform((v, ctx): number | 'auto' => {
    if (v === 'auto') return 'auto';
    // Cinder's option regex: ^(auto|\d*\.\d+|\d+)$
    const n = typeof v === 'number' ? v : /^(\d*\.\d+|\d+)$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (Number.isFinite(n) && n >= 1) return n;
    ctx.issues.push({
      code: 'custom',
      message: "maxOverSubscriptionRatio must be 'auto' or a number ≥ 1 (Cinder refuses thin placement below 1)",
      input: v,
    });
    return z.NEVER;
  });

const capabilityValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'capability values must be a string, number or boolean',
});

const extraSpecValue = z.custom<string>((v) => typeof v === 'string' && v.length <= 255, {
  error: 'extra spec values are strings of at most 255 characters: quote numbers and booleans, e.g. "1000" or "<is> True"',
});

/** One pool of a back-end (`host@backend#pool`). */
export const poolSchema = z
  .object({
    name: name('pool name').describe('Pool name: the `pool` part of host@backend#pool.'),
    size: quantity('a size such as 100GiB or 1TiB, or a number of GiB', parseSizeGiB).describe(
      "Capacity accounted for the pool (total_capacity_gb), in whole GiB: a number of GiB or a string with a binary unit ('100GiB', '1TiB', '2048MiB'). Volume files are sparse: this is accounting, not space taken up front.",
    ),
    provisioning: z
      .enum(['thin', 'thick'])
      .default('thin')
      .describe('thin: space is allocated on write and over-subscription applies; thick: a volume counts its full size when created.'),
    maxOverSubscriptionRatio: overSubscriptionRatio
      .default(20)
      .describe("Cinder's max_over_subscription_ratio for thin pools: a number ≥ 1 or 'auto' (default 20.0, as Cinder)."),
    reservedPercentage: z
      .number()
      .refine((n) => Number.isInteger(n) && n >= 0 && n <= 100, { error: 'reservedPercentage must be a whole number from 0 to 100' })
      .default(0)
      .describe("Cinder's reserved_percentage: share of the pool kept free of placements, 0..100 (default 0)."),
    availabilityZone: text('availabilityZone').default('nova').describe('Availability zone of the pool (default "nova", as Cinder).'),
    capabilities: z
      .record(z.string().min(1), capabilityValue)
      .default({})
      .describe('Extra capabilities reported in get_pools and matched by volume types\' extra specs, e.g. { tier: gold }.'),
    path: path('path')
      .optional()
      .describe("Directory holding the pool's data: absolute, or relative to this file's directory (default <dataDir>/<backend>/<pool>)."),
  })
  .strict()
  .describe('A pool of a back-end.');

/** One back-end (`host@backend`), as a Cinder back-end section. */
export const backendSchema = z
  .object({
    name: name('back-end name').describe('Back-end name: the `backend` part of host@backend#pool.'),
    driver: z.string().min(1).describe('Volume driver of the back-end (raw, chunked).'),
    volumeBackendName: text('volumeBackendName')
      .optional()
      .describe('Reported as volume_backend_name and matched by volume types (default: the back-end name).'),
    options: z.record(z.string(), z.unknown()).default({}).describe('Driver-specific options, e.g. chunkSizeMiB for chunked.'),
    pools: z.array(poolSchema).min(1, { error: 'a back-end needs at least one pool' }).describe('Pools of the back-end.'),
  })
  .strict()
  .describe('A back-end and its pools.');

/** One volume type, as `cinder type-create` + `type-key set`. */
export const volumeTypeSchema = z
  .object({
    name: text('volume type name').describe('Volume type name, as users pass it to create and retype.'),
    description: z.string().max(255).default('').describe('Free text shown with the type.'),
    extraSpecs: z
      .record(z.string().min(1).max(255), extraSpecValue)
      .default({})
      .describe('Extra specs (strings) matched against pool capabilities by the scheduler, e.g. volume_backend_name, "capabilities:tier".'),
  })
  .strict()
  .describe('A volume type.');

/** Generic (host-side) copy settings for migrations. */
export const copySchema = z
  .object({
    bufferMiB: z
      .number()
      .refine((n) => Number.isInteger(n) && n >= 1 && n <= 1024, { error: 'bufferMiB must be a whole number from 1 to 1024' })
      .default(4)
      .describe('Buffer per copy, in MiB (default 4).'),
    bpsLimit: quantity('bytes per second or a rate such as 200MiB/s', parseRateBytesPerSec)
      .default(0)
      .describe("Cap on each copy's throughput: bytes per second or a rate such as '200MiB/s'; 0 = no limit (Cinder's volume_copy_bps_limit)."),
  })
  .strict()
  .describe('Generic copy settings.');

/** The whole `ballast.yaml`. */
export const configSchema = z
  .object({
    apiVersion: z.literal(CONFIG_API_VERSION).describe(`Format version of this file: always ${CONFIG_API_VERSION}.`),
    dataDir: path('dataDir').default('./data').describe("Directory for state and volume data; relative paths resolve against this file's directory."),
    host: name('host').default('ballast').describe('The `host` part of host@backend#pool (default "ballast").'),
    stateDb: path('stateDb').default('state.db').describe('SQLite state database, relative to dataDir unless absolute (default state.db).'),
    copy: copySchema.prefault({}).describe('Generic copy settings for migrations (buffer size, throughput cap).'),
    backends: z.array(backendSchema).default([]).describe('Back-ends (Cinder enabled_backends); at least one unless controlPlane is cinder.'),
    volumeTypes: z.array(volumeTypeSchema).default([]).describe('Volume types users can choose from.'),
    defaultVolumeType: text('defaultVolumeType')
      .nullable()
      .default(null)
      .describe('Type used when a volume is created without one (Cinder default_volume_type); must name a type.'),
    telemetry: telemetrySchema.prefault({}).describe('Telemetry: store (sqlite or influx), retention, windows, price catalogue, collector schedules.'),
    api: apiSchema.prefault({}).describe('The HTTP API of `ballast serve` (listen address, tokens, noauth, body limit).'),
    controlPlane: controlPlaneSchema.prefault('embedded').describe('The control plane: embedded (default, the back-ends above) or cinder (OpenStack Cinder, see docs/openstack.md).'),
  })
  .strict()
  .superRefine(requireBackendsForEmbedded)
  .describe('Configuration of an embedded Ballast deployment.');

/** What an operator writes (optional fields, unit strings). */
export type ConfigInput = z.input<typeof configSchema>;
/** The document after validation and defaults (units parsed, paths not yet resolved). */
export type ConfigDocument = z.output<typeof configSchema>;
