// Cinder JSON → port types, as tables. The bodies are the shapes real Cinder 21 returns
// (realcinder/README.md and captured answers), plus the variants older releases and other drivers send.
import { describe, expect, test } from 'vitest';
import {
  capacityValue,
  countSnapshots,
  mapPools,
  mapVolume,
  mapVolumeTypes,
  migrationStatus,
  poolCapacityFromCapabilities,
  poolVolumeFacts,
  volumeServices,
  volumeStatus,
} from '../../src/controlplane/index.js';

const GET_POOLS = {
  pools: [
    {
      name: 'realcinder@nfs-b#nfs-b',
      capabilities: {
        volume_backend_name: 'nfs-b', vendor_name: 'Open Source', driver_version: '1.4.0', storage_protocol: 'NFS',
        total_capacity_gb: 19.518142700195312, free_capacity_gb: 19.50249481201172, reserved_percentage: 0, QoS_support: false,
        sparse_copy_volume: true, provisioned_capacity_gb: 0.0, max_over_subscription_ratio: 1.0, thin_provisioning_support: true,
        thick_provisioning_support: false, allocated_capacity_gb: 4, filter_function: null, goodness_function: null, timestamp: '2026-11-22T04:01:36.486563',
      },
    },
    {
      name: 'realcinder@nfs-a#nfs-a',
      capabilities: {
        volume_backend_name: 'nfs-a', storage_protocol: 'NFS', total_capacity_gb: 19.518142700195312, free_capacity_gb: 19.50249481201172,
        reserved_percentage: 0, provisioned_capacity_gb: 2.0, max_over_subscription_ratio: 1.0, thin_provisioning_support: true,
        thick_provisioning_support: false, allocated_capacity_gb: 6, rated_iops: 5000,
      },
    },
    { name: 'node2@ceph#rbd', capabilities: { total_capacity_gb: 'infinite', free_capacity_gb: 'unknown', max_over_subscription_ratio: 'auto', thin_provisioning_support: 'True' } },
  ],
};

const SERVICES = {
  services: [
    { binary: 'cinder-volume', host: 'realcinder@nfs-a', zone: 'az1', status: 'enabled', state: 'up' },
    { binary: 'cinder-scheduler', host: 'realcinder', zone: 'nova', status: 'enabled', state: 'up' },
    { binary: 'cinder-volume', host: 'realcinder@nfs-b', zone: 'az2', status: 'disabled', state: 'up' },
  ],
};

describe('pools from get_pools and os-services', () => {
  const rows = [
    { id: 'v1', size: 3, availability_zone: 'az-ceph', 'os-vol-host-attr:host': 'node2@ceph#rbd' },
    { id: 'v2', size: 2, availability_zone: 'az1', 'os-vol-host-attr:host': 'realcinder@nfs-a#nfs-a' },
    { id: 'v3', size: 1, availability_zone: 'az1', 'os-vol-host-attr:host': 'realcinder@nfs-a#nfs-a', migration_status: 'target:v9' },
    { id: 'v4', size: 5, 'os-vol-host-attr:host': null },
  ];
  const pools = mapPools(GET_POOLS, volumeServices(SERVICES), poolVolumeFacts(rows));

  test('sorted by name, with back-end, AZ and state from the service', () => {
    expect(pools.map((p) => [p.name, p.backend, p.volumeBackendName, p.availabilityZone, p.state])).toEqual([
      ['node2@ceph#rbd', 'node2@ceph', 'ceph', 'az-ceph', 'down'], // no service listed: zone from its volumes, down
      ['realcinder@nfs-a#nfs-a', 'realcinder@nfs-a', 'nfs-a', 'az1', 'up'],
      ['realcinder@nfs-b#nfs-b', 'realcinder@nfs-b', 'nfs-b', 'az2', 'down'], // disabled: Cinder will not place there
    ]);
  });

  test('capacity, allocated, rated and primitive capabilities', () => {
    const a = pools.find((p) => p.name === 'realcinder@nfs-a#nfs-a')!;
    expect(a.capacity).toEqual({
      totalCapacityGb: 19.518142700195312,
      freeCapacityGb: 19.50249481201172,
      provisionedCapacityGb: 2,
      maxOverSubscriptionRatio: 1,
      reservedPercentage: 0,
      thinProvisioningSupport: true,
      thickProvisioningSupport: false,
    });
    // Cinder says 6 (it keeps the size of volumes moved away); the volumes on the pool sum to 3 (a migration target counts).
    expect([a.allocatedGiB, a.capabilities['allocated_capacity_gb'], a.ratedIops, a.ratedThroughputBytesPerSec]).toEqual([3, 6, 5000, null]);
    expect(pools.find((p) => p.name === 'realcinder@nfs-b#nfs-b')!.allocatedGiB).toBe(0);
    expect(mapPools(GET_POOLS, volumeServices(SERVICES)).find((p) => p.name === 'realcinder@nfs-a#nfs-a')!.allocatedGiB).toBe(6);
    const b = pools.find((p) => p.name === 'realcinder@nfs-b#nfs-b')!;
    expect(Object.keys(b.capabilities)).not.toContain('filter_function');
    expect(b.capabilities['QoS_support']).toBe(false);
    expect(Object.keys(b.capabilities)).toEqual([...Object.keys(b.capabilities)].sort());
  });

  test.each([
    ['infinite/unknown/auto, thin as a string', { total_capacity_gb: 'infinite', free_capacity_gb: 'unknown', max_over_subscription_ratio: 'auto', thin_provisioning_support: 'True' }, { totalCapacityGb: 'infinite', freeCapacityGb: 'unknown', provisionedCapacityGb: 0, maxOverSubscriptionRatio: 'auto', reservedPercentage: 0, thinProvisioningSupport: true, thickProvisioningSupport: false }],
    ['defaults: provisioned from allocated, ratio 20, reserved 0', { total_capacity_gb: '100', free_capacity_gb: 40, allocated_capacity_gb: 55 }, { totalCapacityGb: 100, freeCapacityGb: 40, provisionedCapacityGb: 55, maxOverSubscriptionRatio: 20, reservedPercentage: 0, thinProvisioningSupport: false, thickProvisioningSupport: false }],
    ['string ratio and reserved', { max_over_subscription_ratio: '1.5', reserved_percentage: '10' }, { totalCapacityGb: null, freeCapacityGb: null, provisionedCapacityGb: 0, maxOverSubscriptionRatio: 1.5, reservedPercentage: 10, thinProvisioningSupport: false, thickProvisioningSupport: false }],
  ])('capacity: %s', (_name, caps, want) => {
    expect(poolCapacityFromCapabilities(caps)).toEqual(want);
  });

  test.each([
    [12.5, 12.5],
    ['7', 7],
    ['Infinite', 'infinite'],
    ['garbage', null],
    [undefined, null],
  ] as const)('capacity value %s → %s', (v, want) => {
    expect(capacityValue(v)).toEqual(want);
  });
});

const VOLUME = {
  id: '0b2a89b6-4e6b-40d5-8727-df8e26ab9ec8', status: 'available', size: 1, availability_zone: 'nova', name: 'probe2', volume_type: '__DEFAULT__',
  metadata: { tier: 'gold', n: 3 }, replication_status: null, consistencygroup_id: null, multiattach: false, attachments: [], migration_status: null,
  group_id: null, volume_type_id: 'd8c18614-b297-4681-9866-8cb2203bdd62', consumes_quota: true, 'os-vol-tenant-attr:tenant_id': '0123456789abcdef0123456789abcdef',
  'os-vol-mig-status-attr:migstat': null, 'os-vol-mig-status-attr:name_id': null, 'os-vol-host-attr:host': 'realcinder@nfs-b#nfs-b',
};

describe('volumes from volumes/detail', () => {
  test('a 3.65 volume maps field by field', () => {
    expect(mapVolume(VOLUME, 2, new Map())).toEqual({
      id: VOLUME.id, name: 'probe2', sizeGiB: 1, pool: 'realcinder@nfs-b#nfs-b', volumeTypeId: 'd8c18614-b297-4681-9866-8cb2203bdd62', volumeType: '__DEFAULT__',
      projectId: '0123456789abcdef0123456789abcdef', availabilityZone: 'nova', metadata: { n: '3', tier: 'gold' }, status: 'available', migrationStatus: null,
      attached: false, multiattach: false, snapshotCount: 2, groupId: null, replicated: false,
    });
  });

  test.each([
    ['migration target row', { migration_status: 'target:abc' }, null],
    ['temporary row outside quota', { consumes_quota: false }, null],
    ['never scheduled', { 'os-vol-host-attr:host': null }, null],
  ])('hidden: %s', (_n, patch, want) => {
    expect(mapVolume({ ...VOLUME, ...patch }, 0, new Map())).toEqual(want);
  });

  test.each([
    ['before 3.63: type id from the types list', { volume_type_id: undefined, volume_type: 'type-a' }, { volumeTypeId: 'id-a', volumeType: 'type-a' }],
    ['attached', { status: 'in-use', attachments: [{ server_id: 's1' }] }, { attached: true, status: 'in-use' }],
    ['replicated', { replication_status: 'enabled' }, { replicated: true }],
    ['not-capable is not replicated', { replication_status: 'not-capable' }, { replicated: false }],
    ['old consistency group', { consistencygroup_id: 'cg1' }, { groupId: 'cg1' }],
    ['migration status from the admin attribute', { migration_status: undefined, 'os-vol-mig-status-attr:migstat': 'migrating' }, { migrationStatus: 'migrating' }],
  ])('%s', (_n, patch, want) => {
    expect(mapVolume({ ...VOLUME, ...patch }, 0, new Map([['type-a', 'id-a']]))).toMatchObject(want);
  });

  test.each([
    ['available', 'available'],
    ['backing-up', 'maintenance'],
    ['reserved', 'attaching'],
    ['error_extending', 'error'],
    ['something-new', 'maintenance'],
  ])('status %s → %s', (raw, want) => {
    expect(volumeStatus(raw)).toBe(want);
  });

  test.each([
    [null, null],
    ['None', null],
    ['success', 'success'],
    ['target:x', 'target:x'],
    ['weird', 'error'],
  ] as const)('migration_status %s → %s', (raw, want) => {
    expect(migrationStatus(raw)).toBe(want);
  });

  test('snapshots are counted per volume', () => {
    expect([...countSnapshots([{ volume_id: 'a' }, { volume_id: 'b' }, { volume_id: 'a' }, {}]).entries()]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });
});

describe('types', () => {
  test('sorted by name, extra specs as strings', () => {
    const body = {
      volume_types: [
        { id: 't-b', name: 'type-b', extra_specs: { volume_backend_name: 'nfs-b', 'capabilities:iops': 100, z: null } },
        { id: 't-d', name: '__DEFAULT__', extra_specs: {} },
        { name: 'no-id' },
      ],
    };
    expect(mapVolumeTypes(body)).toEqual([
      { id: 't-d', name: '__DEFAULT__', extraSpecs: {} },
      { id: 't-b', name: 'type-b', extraSpecs: { 'capabilities:iops': '100', volume_backend_name: 'nfs-b' } },
    ]);
  });
});
