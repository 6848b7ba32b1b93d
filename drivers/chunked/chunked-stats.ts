/**
 * get_pools capabilities of one chunked pool, measured from the directories on disk. Thin pools
 * count the bytes really allocated (objects and metadata of volumes and snapshots); thick pools
 * count every volume at its full size, whatever its objects hold.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BackendSpec, PoolSpec, PoolStats } from '../../src/blockstore/index.js';
import { GiB, round2 } from '../../src/shared/index.js';
import { nameIdOfVolumeDir, readMeta, snapshotIdOfDir } from './chunk-layout.js';
import { errnoOf, pathExists } from '../common/fs-util.js';

/** Driver version reported in get_pools. */
export const CHUNKED_DRIVER_VERSION = '1.0';

/** What is on disk in a pool directory. */
export interface ChunkedPoolUsage {
  readonly volumes: number;
  /** Sum of volume sizes (bytes, from their metadata). */
  readonly provisionedBytes: number;
  /** Bytes really allocated (st_blocks × 512) by the files of volumes and snapshots. */
  readonly allocatedBytes: number;
}

/**
 * Measures a pool directory. A volume or snapshot deleted while measuring is skipped; a volume
 * whose metadata cannot be read is an error (a real name always holds a complete volume).
 */
export async function measureChunkedPool(dataPath: string): Promise<ChunkedPoolUsage> {
  let volumes = 0;
  let provisionedBytes = 0;
  let allocatedBytes = 0;
  for (const entry of await fsp.readdir(dataPath, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const isVolume = nameIdOfVolumeDir(entry.name) !== null;
    if (!isVolume && snapshotIdOfDir(entry.name) === null) continue;
    const dir = path.join(dataPath, entry.name);
    try {
      if (isVolume) {
        const meta = await readMeta(dir);
        volumes++;
        provisionedBytes += meta.sizeBytes;
      }
      allocatedBytes += await allocatedBytesOf(dir);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' && !(await pathExists(dir))) continue;
      throw e;
    }
  }
  return { volumes, provisionedBytes, allocatedBytes };
}

async function allocatedBytesOf(dir: string): Promise<number> {
  let total = 0;
  for (const name of await fsp.readdir(dir)) {
    try {
      total += (await fsp.stat(path.join(dir, name))).blocks * 512;
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e; // an object removed meanwhile
    }
  }
  return total;
}

/** The Cinder pool dict of a chunked pool. Computed keys win over configured extra capabilities. */
export function chunkedPoolStats(backend: BackendSpec, pool: PoolSpec, chunkSizeMiB: number, usage: ChunkedPoolUsage): PoolStats {
  const total = pool.sizeGiB;
  const used = pool.provisioning === 'thick' ? usage.provisionedBytes / GiB : usage.allocatedBytes / GiB;
  return {
    ...pool.capabilities,
    pool_name: pool.name,
    total_capacity_gb: total,
    free_capacity_gb: Math.max(0, round2(total - used)),
    provisioned_capacity_gb: round2(usage.provisionedBytes / GiB),
    max_over_subscription_ratio: pool.maxOverSubscriptionRatio,
    reserved_percentage: pool.reservedPercentage,
    thin_provisioning_support: pool.provisioning === 'thin',
    thick_provisioning_support: pool.provisioning === 'thick',
    QoS_support: false,
    multiattach: false,
    sparse_copy_volume: true,
    online_extend_support: true,
    location_info: `chunked:${backend.host}@${backend.name}:${pool.name}:${chunkSizeMiB}`,
    volume_backend_name: backend.volumeBackendName,
    vendor_name: 'Ballast',
    driver_version: CHUNKED_DRIVER_VERSION,
    storage_protocol: 'chunked',
    total_volumes: usage.volumes,
    availability_zone: pool.availabilityZone,
  };
}
