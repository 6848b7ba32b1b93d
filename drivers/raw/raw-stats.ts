/**
 * get_pools capabilities of one raw pool, measured from the files on disk.
 *
 * Thick pools: Node cannot fallocate(2), so a thick volume's file is as sparse as a thin one's.
 * Thickness is a matter of accounting: a thick pool's free space is its size minus the sizes of
 * its volumes (what they would take fully allocated), whatever the disk really holds.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BackendSpec, PoolSpec, PoolStats } from '../../src/blockstore/index.js';
import { GiB, round2 } from '../../src/shared/index.js';
import { isSnapshotFile, nameIdOfVolumeFile } from './raw-layout.js';

/** Driver version reported in get_pools. */
export const RAW_DRIVER_VERSION = '1.0';

/** What is on disk in a pool directory. */
export interface RawPoolUsage {
  readonly volumes: number;
  /** Sum of volume sizes (bytes). */
  readonly provisionedBytes: number;
  /** Bytes really allocated (st_blocks × 512) by volumes and snapshots. */
  readonly allocatedBytes: number;
  /** st_dev of the pool directory. */
  readonly device: number;
}

/** Measures a pool directory. Entries that vanish while measuring (a concurrent delete) are skipped. */
export async function measureRawPool(dataPath: string): Promise<RawPoolUsage> {
  const device = (await fsp.stat(dataPath)).dev;
  let volumes = 0;
  let provisionedBytes = 0;
  let allocatedBytes = 0;
  for (const entry of await fsp.readdir(dataPath, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const isVolume = nameIdOfVolumeFile(entry.name) !== null;
    if (!isVolume && !isSnapshotFile(entry.name)) continue;
    let st;
    try {
      st = await fsp.stat(path.join(dataPath, entry.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    allocatedBytes += st.blocks * 512;
    if (isVolume) {
      volumes++;
      provisionedBytes += st.size;
    }
  }
  return { volumes, provisionedBytes, allocatedBytes, device };
}

/** The Cinder pool dict of a raw pool. Computed keys win over configured extra capabilities. */
export function rawPoolStats(backend: BackendSpec, pool: PoolSpec, usage: RawPoolUsage): PoolStats {
  const total = pool.sizeGiB;
  const provisioned = round2(usage.provisionedBytes / GiB);
  const used = pool.provisioning === 'thick' ? usage.provisionedBytes / GiB : usage.allocatedBytes / GiB;
  return {
    ...pool.capabilities,
    pool_name: pool.name,
    total_capacity_gb: total,
    free_capacity_gb: Math.max(0, round2(total - used)),
    provisioned_capacity_gb: provisioned,
    max_over_subscription_ratio: pool.maxOverSubscriptionRatio,
    reserved_percentage: pool.reservedPercentage,
    thin_provisioning_support: pool.provisioning === 'thin',
    thick_provisioning_support: pool.provisioning === 'thick',
    QoS_support: false,
    multiattach: false,
    sparse_copy_volume: true,
    online_extend_support: true,
    location_info: `raw:${backend.host}@${backend.name}:${pool.name}:${usage.device}`,
    volume_backend_name: backend.volumeBackendName,
    vendor_name: 'Ballast',
    driver_version: RAW_DRIVER_VERSION,
    storage_protocol: 'file',
    total_volumes: usage.volumes,
    availability_zone: pool.availabilityZone,
  };
}
