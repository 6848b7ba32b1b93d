/**
 * `ballast init DIR`: a ready, commented `ballast.yaml` for an embedded deployment.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../shared/index.js';
import { CONFIG_FILE_NAME } from './load.js';

const TEMPLATE = `# Ballast configuration for an embedded deployment.
#
# Ballast runs a small Cinder-compatible block-storage service in-process. This file says where
# that service keeps its state and volume data, which back-ends and pools it offers, and which
# volume types users can ask for. The words are Cinder's: a back-end is a section of cinder.conf
# listed in enabled_backends, a pool is what get_pools reports, and a volume type matches pools
# through its extra specs. Every pool is addressed as host@backend#pool, e.g. ballast@fast#ssd-a.
#
# Relative paths are resolved against the directory of this file.

# Format version of this file. Leave it as is.
apiVersion: ballast/v1

# Where Ballast keeps its state database and, unless a pool says otherwise, the volume data
# (one directory per pool: <dataDir>/<backend>/<pool>).
dataDir: ./data

# The "host" part of host@backend#pool, as the host option of cinder.conf.
host: ballast

# The SQLite database holding volumes, types, migrations and the journal; relative to dataDir.
stateDb: state.db

# Host-side ("generic") copy, used when a migration cannot be done by the driver itself.
copy:
  # Memory used by each running copy, in MiB (Cinder's volume_dd_blocksize is 1 MiB).
  bufferMiB: 4
  # Throughput cap of each copy: bytes per second or a rate such as 200MiB/s; 0 means no cap
  # (Cinder's volume_copy_bps_limit).
  bpsLimit: 0

# Back-ends, as the sections of cinder.conf named in enabled_backends.
backends:
  # Fast storage: each volume is a sparse raw image file (block device-like, as LVM).
  - name: fast                  # back-end name: letters, digits and . _ : - only
    driver: raw                 # volume driver: raw or chunked
    volumeBackendName: fast     # reported as volume_backend_name; volume types select it by this name
    options: {}                 # driver-specific options (none needed for raw)
    pools:
      - name: ssd-a
        # Capacity Ballast accounts for this pool (total_capacity_gb), in whole GiB: write 100GiB,
        # 1TiB, 2048MiB or a plain number of GiB. Volume files are sparse, so nothing is taken
        # from the disk up front: only data actually written uses space.
        size: 100GiB
        # thin: space is used as data is written, and the pool may promise more than its size
        # (see maxOverSubscriptionRatio); thick: a volume counts its full size when created.
        provisioning: thin
        # Thin pools may promise up to this many times their size (Cinder's
        # max_over_subscription_ratio: a number of at least 1, or auto; Cinder's default is 20).
        maxOverSubscriptionRatio: 20
        # Share of the pool kept free of new volumes, 0 to 100 (Cinder's reserved_percentage).
        reservedPercentage: 0
        # Availability zone of the pool; volumes created in a zone only land on its pools.
        availabilityZone: nova
        # Extra capabilities reported for the pool; volume types can require them in their extra
        # specs as "capabilities:<key>" (values: strings, numbers or booleans).
        capabilities:
          tier: gold
        # Optional: where this pool's data lives (absolute, or relative to this file).
        # Default: <dataDir>/<backend>/<pool>.
        # path: /srv/ballast/fast/ssd-a
      - name: ssd-b
        size: 100GiB
        provisioning: thin
        maxOverSubscriptionRatio: 20
        reservedPercentage: 0
        availabilityZone: nova
        capabilities:
          tier: gold

  # Capacity storage: each volume is a set of fixed-size chunk files (object-store-like, as RBD).
  - name: capacity
    driver: chunked
    volumeBackendName: capacity
    # Driver-specific options. chunked takes chunkSizeMiB: the size of each chunk file, in MiB
    # (4 when left out).
    options: {}
    pools:
      - name: hdd-a
        size: 200GiB
        provisioning: thin
        maxOverSubscriptionRatio: 20
        # Keep 5% of the pool free for growth of what is already there.
        reservedPercentage: 5
        availabilityZone: nova
      - name: hdd-b
        size: 200GiB
        # Thick: no over-subscription; every volume counts its full size.
        provisioning: thick
        reservedPercentage: 0
        availabilityZone: nova

# Volume types users choose from (cinder type-create + type-key set). The scheduler places a
# volume only on pools whose capabilities match every extra spec of its type; extra spec values
# are strings, and may use Cinder's operators, e.g. "<is> True", ">= 10", "<or> a <or> b".
volumeTypes:
  - name: gold
    description: Fast SSD-backed volumes.
    extraSpecs:
      volume_backend_name: fast
  - name: standard
    description: General-purpose HDD-backed volumes.
    extraSpecs:
      volume_backend_name: capacity

# Type used when a volume is created without one (Cinder's default_volume_type).
defaultVolumeType: standard

# Telemetry: capacity, performance and cost samples, the history plans are made from.
# Every key has a default; docs/telemetry.md describes them all.
telemetry:
  # Where samples are kept: sqlite (a file under dataDir, nothing to install) or influx
  # (InfluxDB 1.x; see the influx: block below).
  store: sqlite
  # Price catalogue (per GiB-month, optionally per IOPS-month, by pool, back-end or volume type),
  # relative to this file. 'ballast init' writes an example; remove the line to leave pools unpriced.
  prices: prices.yaml
  # Samples older than retention are deleted; raw samples older than downsampleAfter are kept as
  # one sample (mean, max, count) per downsampleBucket.
  # retention: 90d
  # downsampleAfter: 7d
  # downsampleBucket: 1h
  # Window of the performance aggregates of an inventory, and of the growth estimate.
  # window: 24h
  # growthWindow: 7d
  # An inventory is refused when a pool has no capacity sample newer than this.
  # maxAge: 15m
  # Schedules of the collectors in the daemon (cron, 5 fields, or 6 with seconds first).
  # schedules:
  #   capacity: "*/5 * * * *"
  #   performance: "* * * * *"
  #   cost: "0 * * * *"
  #   maintenance: "17 * * * *"
  # InfluxDB 1.x, when store is influx: database and retention policy are created if missing.
  # influx:
  #   url: http://127.0.0.1:8086
  #   database: ballast
  #   retentionPolicy: ballast
  # Performance data your own agents already write to InfluxDB, mapped onto Ballast's metrics.
  # external:
  #   url: http://127.0.0.1:8086
  #   database: telegraf
  #   measurement: storage_pool
  #   entity: pool
  #   keyTag: pool
  #   fields: { perf.iops: iops, perf.bytes_per_sec: bytes_per_sec }
`;

const PRICES_TEMPLATE = `# Ballast price catalogue: what storage costs, per pool. Used by the cost collector and by
# inventories (costPerGiBMonth). Prices are per month, in one currency (ISO 4217 code).
# A pool takes the first matching entry of the most specific kind: pool, then backend, then
# volumeType. Selectors may use globs (* and ?); one that matches no pool is an error.
apiVersion: ballast/v1
kind: PriceCatalogue
currency: EUR
prices:
  # The thick HDD pool costs a little less than the thin one.
  - pool: "ballast@capacity#hdd-b"
    perGiBMonth: 0.02
  # Every other pool of the capacity back-end (its volume_backend_name).
  - backend: capacity
    perGiBMonth: "0.03 EUR/GiB-month"
  # SSD pools: a price per GiB-month (here per TiB-month) and per provisioned IOPS-month.
  - backend: fast
    perGiBMonth: "122.88 EUR/TiB-month"
    perIopsMonth: "0.005 EUR/IOPS-month"
`;

/** The example price catalogue `ballast init` writes beside the configuration (`prices.yaml`). */
export function renderInitPrices(): string {
  return PRICES_TEMPLATE;
}

/** A ready, commented `ballast.yaml` for an embedded deployment with data in `./data` beside it. */
export function renderInitConfig(): string {
  return TEMPLATE;
}

/** Options of {@link writeInitConfig}. */
export interface WriteInitConfigOptions {
  /** Overwrite an existing `ballast.yaml`. */
  readonly force?: boolean;
}

/**
 * Creates `dir` (and parents) and writes `dir/ballast.yaml` from {@link renderInitConfig}, and
 * `dir/prices.yaml` from {@link renderInitPrices} unless one is there.
 * Returns the absolute path written.
 *
 * @throws AppError `INVALID_INPUT` when the file exists (without `force`) or `dir` cannot be used.
 */
export async function writeInitConfig(dir: string, opts: WriteInitConfigOptions = {}): Promise<string> {
  const absDir = resolve(dir);
  const file = join(absDir, CONFIG_FILE_NAME);
  try {
    await mkdir(absDir, { recursive: true });
  } catch (e) {
    throw new AppError('INVALID_INPUT', `cannot create directory ${absDir}: ${(e as Error).message}`, { cause: e, details: { path: absDir } });
  }
  try {
    await writeFile(file, renderInitConfig(), { encoding: 'utf8', flag: opts.force === true ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AppError('INVALID_INPUT', `${file} already exists; use --force to overwrite it`, { cause: e, details: { path: file } });
    }
    throw new AppError('INVALID_INPUT', `cannot write ${file}: ${(e as Error).message}`, { cause: e, details: { path: file } });
  }
  // The example price catalogue the config names; one already there is the user's: kept.
  const prices = join(absDir, 'prices.yaml');
  try {
    await writeFile(prices, renderInitPrices(), { encoding: 'utf8', flag: opts.force === true ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AppError('INVALID_INPUT', `cannot write ${prices}: ${(e as Error).message}`, { cause: e, details: { path: prices } });
    }
  }
  return file;
}
