/**
 * The `telemetry:` section of `ballast.yaml`: which store holds the samples (embedded SQLite or
 * InfluxDB 1.x), retention and downsampling, the windows the inventory uses, the price catalogue,
 * the collectors' cron schedules, and an optional mapping of an external InfluxDB measurement.
 * Every key has a default, so a file without the section keeps working.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `500ms`, `30s`, `15m`, `24h`, `7d`, `2w` into ms; null when malformed. */
export function parseDurationMs(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_MS[m[2]!]!;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

const duration = (what: string, def: string) =>
  z
    .string({ error: `${what} must be a duration such as 30s, 15m, 24h or 7d` })
    .refine((s) => parseDurationMs(s) !== null, { error: `${what} must be a duration such as 30s, 15m, 24h or 7d (units ms, s, m, h, d, w)` })
    .default(def);

// 5 fields (minute …) or 6 (second minute …), as node-cron; the daemon validates fully at start.
const CRON_FIELD = /^[0-9*/,?LW#A-Za-z-]+$/;
const cron = (def: string) =>
  z
    .string()
    .refine((s) => {
      const f = s.trim().split(/\s+/);
      return (f.length === 5 || f.length === 6) && f.every((x) => CRON_FIELD.test(x));
    }, { error: "a cron schedule has 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. '*/5 * * * *'" })
    .default(def);

const positiveInt = (what: string, def: number) =>
  z.number().refine((n) => Number.isInteger(n) && n >= 1, { error: `${what} must be a whole number ≥ 1` }).default(def);

const influxSchema = z
  .object({
    url: z.url({ error: 'url must be an http(s) URL such as http://127.0.0.1:8086' }).default('http://127.0.0.1:8086').describe('InfluxDB 1.x HTTP endpoint.'),
    database: z.string().min(1).default('ballast').describe('Database (created when missing).'),
    retentionPolicy: z.string().min(1).default('ballast').describe('Retention policy the samples are written to (created when missing).'),
    username: z.string().optional().describe('User, when InfluxDB has authentication enabled.'),
    password: z.string().optional().describe('Password of that user.'),
    batchSize: positiveInt('batchSize', 5000).describe('Samples per HTTP write.'),
    maxBufferedPoints: positiveInt('maxBufferedPoints', 200_000).describe('Samples kept in memory while InfluxDB is unreachable; beyond, writes fail.'),
    requestTimeout: duration('requestTimeout', '10s').describe('Bound of one request; a slower server counts as down.'),
  })
  .strict();

const externalSchema = z
  .object({
    url: z.url({ error: 'url must be an http(s) URL' }).describe('InfluxDB 1.x endpoint holding the external data.'),
    database: z.string().min(1).describe('Database of the external measurement.'),
    retentionPolicy: z.string().min(1).optional().describe('Retention policy (default: the database default).'),
    measurement: z.string().min(1).describe('Measurement written by your agents.'),
    entity: z.enum(['pool', 'volume']).default('pool').describe('What the series describe.'),
    keyTag: z.string().min(1).describe('Tag holding the pool (host@backend#pool) or the volume id.'),
    fields: z.record(z.string().min(1), z.string().min(1)).refine((r) => Object.keys(r).length > 0, { error: 'map at least one metric' }).describe("Ballast metric → field, e.g. { 'perf.iops': iops }."),
    username: z.string().optional(),
    password: z.string().optional(),
    lookback: duration('lookback', '1h').describe('How far back the first collection reads.'),
    requestTimeout: duration('requestTimeout', '10s'),
  })
  .strict();

/** Schema of the `telemetry:` section. */
export const telemetrySchema = z
  .object({
    store: z.enum(['sqlite', 'influx']).default('sqlite').describe('Where samples are kept: sqlite (embedded, default) or influx (InfluxDB 1.x).'),
    sqlite: z
      .object({ path: z.string().min(1).default('telemetry.db').describe('Database file, relative to dataDir unless absolute.') })
      .strict()
      .prefault({}),
    influx: influxSchema.prefault({}),
    retention: duration('retention', '90d').describe('Samples older than this are deleted.'),
    downsampleAfter: duration('downsampleAfter', '7d').describe('Raw samples older than this are replaced by one per bucket.'),
    downsampleBucket: duration('downsampleBucket', '1h').describe('Bucket of downsampled samples.'),
    window: duration('window', '24h').describe('Window of the performance aggregates of an inventory.'),
    growthWindow: duration('growthWindow', '7d').describe('Window of the growth estimate.'),
    maxAge: duration('maxAge', '15m').describe('An inventory is refused when a pool has no capacity sample this recent.'),
    fullThresholdPct: z.number().gt(0).lte(100).default(85).describe('Fill level (% of usable capacity) at which the forecast counts a pool as full.'),
    prices: z.string().min(1).nullable().default(null).describe("Price catalogue file, relative to this file's directory (none: pools are unpriced)."),
    schedules: z
      .object({
        capacity: cron('*/5 * * * *'),
        performance: cron('* * * * *'),
        cost: cron('0 * * * *'),
        external: cron('* * * * *'),
        maintenance: cron('17 * * * *'),
      })
      .strict()
      .prefault({})
      .describe('node-cron schedules of the collectors in the daemon (5 or 6 fields).'),
    external: externalSchema.nullable().default(null).describe('An external InfluxDB measurement mapped onto Ballast metrics.'),
  })
  .strict()
  .describe('Telemetry: store, retention, windows, prices, schedules.');

/** Retention of the store, in ms. */
export interface TelemetryRetention {
  readonly retentionMs: number;
  readonly downsampleAfterMs: number;
  readonly downsampleBucketMs: number;
}

/** The compiled `telemetry:` section (structurally what src/telemetry's options expect). */
export interface TelemetryConfig {
  readonly store:
    | { readonly kind: 'sqlite'; readonly path: string; readonly retention: TelemetryRetention }
    | {
        readonly kind: 'influx';
        readonly url: string;
        readonly database: string;
        readonly retentionPolicy: string;
        readonly username?: string;
        readonly password?: string;
        readonly batchSize: number;
        readonly maxBufferedPoints: number;
        readonly requestTimeoutMs: number;
        readonly retention: TelemetryRetention;
      };
  readonly windowMs: number;
  readonly growthWindowMs: number;
  readonly maxAgeMs: number;
  readonly fullThresholdShare: number;
  /** Absolute path of the price catalogue, or null. */
  readonly pricesFile: string | null;
  readonly schedules: Readonly<Record<'capacity' | 'performance' | 'cost' | 'external' | 'maintenance', string>>;
  readonly external: {
    readonly url: string;
    readonly database: string;
    readonly retentionPolicy?: string;
    readonly measurement: string;
    readonly entity: 'pool' | 'volume';
    readonly keyTag: string;
    readonly fields: Readonly<Record<string, string>>;
    readonly username?: string;
    readonly password?: string;
    readonly lookbackMs: number;
    readonly requestTimeoutMs: number;
  } | null;
}

const ms = (s: string): number => parseDurationMs(s)!;

/** Compiles the validated section: durations in ms, paths absolute. */
export function compileTelemetry(t: z.output<typeof telemetrySchema>, dataDir: string, configDir: string): TelemetryConfig {
  const retention = { retentionMs: ms(t.retention), downsampleAfterMs: ms(t.downsampleAfter), downsampleBucketMs: ms(t.downsampleBucket) };
  const i = t.influx;
  const e = t.external;
  return {
    store:
      t.store === 'sqlite'
        ? { kind: 'sqlite', path: isAbsolute(t.sqlite.path) ? t.sqlite.path : resolve(dataDir, t.sqlite.path), retention }
        : {
            kind: 'influx',
            url: i.url,
            database: i.database,
            retentionPolicy: i.retentionPolicy,
            ...(i.username !== undefined ? { username: i.username } : {}),
            ...(i.password !== undefined ? { password: i.password } : {}),
            batchSize: i.batchSize,
            maxBufferedPoints: i.maxBufferedPoints,
            requestTimeoutMs: ms(i.requestTimeout),
            retention,
          },
    windowMs: ms(t.window),
    growthWindowMs: ms(t.growthWindow),
    maxAgeMs: ms(t.maxAge),
    fullThresholdShare: t.fullThresholdPct / 100,
    pricesFile: t.prices === null ? null : resolve(configDir, t.prices),
    schedules: { ...t.schedules },
    external:
      e === null
        ? null
        : {
            url: e.url,
            database: e.database,
            ...(e.retentionPolicy !== undefined ? { retentionPolicy: e.retentionPolicy } : {}),
            measurement: e.measurement,
            entity: e.entity,
            keyTag: e.keyTag,
            fields: { ...e.fields },
            ...(e.username !== undefined ? { username: e.username } : {}),
            ...(e.password !== undefined ? { password: e.password } : {}),
            lookbackMs: ms(e.lookback),
            requestTimeoutMs: ms(e.requestTimeout),
          },
  };
}
