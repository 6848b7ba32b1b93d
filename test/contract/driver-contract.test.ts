/**
 * The volume-driver contract: every driver passes the same cases, on real files in a temp dir.
 * Driver-specific behaviour (raw's move by rename, chunked's object layout) follows at the end.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackendSpec, MigrationTarget, PoolStats, VolumeDriver, VolumeHandle, VolumeLocator } from '../../src/blockstore/index.js';
import { builtinDrivers } from '../../drivers/index.js';
import {
  allocatedBytes,
  backendSpec,
  DRIVER_CASES,
  expectAppError,
  GiB,
  makeTempRoot,
  MiB,
  pattern,
  poolSpec,
  readExactly,
  type DriverCase,
} from './driver-fixtures.js';

describe.each(DRIVER_CASES)('driver contract: $name', (c: DriverCase) => {
  let root: string;
  let backend: BackendSpec;
  let driver: VolumeDriver;
  const open: VolumeHandle[] = [];

  const loc = (nameId: string, sizeGiB = 1, pool = 'p1'): VolumeLocator => ({ nameId, pool, sizeGiB });
  const poolPath = (pool: string): string => path.join(root, pool);
  const openVolume = async (vol: VolumeLocator): Promise<VolumeHandle> => {
    const h = await driver.openVolume(vol);
    open.push(h);
    return h;
  };
  const statsOf = async (pool: string): Promise<PoolStats> => {
    const s = (await driver.getPoolStats()).find((p) => p.pool_name === pool);
    expect(s, `stats of pool ${pool}`).toBeDefined();
    return s as PoolStats;
  };

  beforeEach(async () => {
    root = await makeTempRoot();
    backend = backendSpec(root, c);
    driver = c.factory(backend);
    await driver.setup();
  });

  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('is registered under its name and reports its copy mode', () => {
    expect(builtinDrivers[c.name]).toBe(c.factory);
    expect(driver.driverName).toBe(c.name);
    expect(driver.copyMode).toBe(c.copyMode);
    expect(driver.backend).toBe(backend);
  });

  it('setup creates every pool directory and is idempotent', async () => {
    await driver.setup();
    for (const pool of backend.pools) expect((await fs.stat(pool.dataPath)).isDirectory()).toBe(true);
  });

  describe('lifecycle', () => {
    it('creates, lists, finds and deletes a volume; delete is idempotent', async () => {
      const vol = loc('vol-a');
      expect(await driver.volumeExists(vol)).toBe(false);
      const { providerLocation } = await driver.createVolume(vol);
      expect(providerLocation).toContain('volume-vol-a');
      expect(await driver.volumeExists(vol)).toBe(true);
      await driver.createVolume(loc('vol-b'));
      expect(await driver.listVolumes('p1')).toEqual(['vol-a', 'vol-b']);
      expect(await driver.listVolumes('p2')).toEqual([]);

      await driver.deleteVolume(vol);
      expect(await driver.volumeExists(vol)).toBe(false);
      expect(await driver.listVolumes('p1')).toEqual(['vol-b']);
      await driver.deleteVolume(vol);
      await driver.deleteVolume(loc('never-existed'));
    });

    it('refuses to create a volume that exists, leaving it intact', async () => {
      const vol = loc('dup');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(100, 1), 0);
      await expectAppError(driver.createVolume(vol), 'DRIVER_ERROR');
      expect(await readExactly(h, 0, 100)).toEqual(pattern(100, 1));
    });

    it('leaves no temporary entries behind and never lists one', async () => {
      await driver.createVolume(loc('v1'));
      await driver.createSnapshot(loc('v1'), 's1');
      expect((await fs.readdir(poolPath('p1'))).filter((n) => n.startsWith('.'))).toEqual([]);
      // What a crash mid-create could leave:
      await fs.mkdir(path.join(poolPath('p1'), '.tmp-volume-ghost-0000'));
      await fs.writeFile(path.join(poolPath('p1'), '.tmp-volume-ghost.img-0000'), '');
      expect(await driver.listVolumes('p1')).toEqual(['v1']);
    });

    it('rejects ids that could escape the pool directory and unknown pools', async () => {
      for (const bad of ['../evil', 'a/b', '.hidden', '']) {
        await expectAppError(driver.createVolume(loc(bad)), 'DRIVER_ERROR');
      }
      await expectAppError(driver.createVolume(loc('ok', 1, 'no-such-pool')), 'DRIVER_ERROR');
      await expectAppError(driver.listVolumes('no-such-pool'), 'DRIVER_ERROR');
    });
  });

  describe('data', () => {
    it('reads never-written data as zeros', async () => {
      const vol = loc('zeros', 20);
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      expect(h.sizeBytes).toBe(20 * GiB);
      for (const offset of [0, 7 * GiB + 12345, 20 * GiB - MiB]) {
        expect((await readExactly(h, offset, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
      }
    });

    it('round-trips writes at unaligned offsets spanning object boundaries', async () => {
      const vol = loc('rt');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      const model = Buffer.alloc(8 * MiB);
      const writes = [
        { offset: 0, length: 1 },
        { offset: MiB - 100, length: 300 }, // crosses the 1 MiB boundary
        { offset: 3 * MiB - 7, length: 2 * MiB + 13 }, // spans whole objects
        { offset: 4 * MiB + 1, length: 4095 }, // overwrites part of the previous one
        { offset: 8 * MiB - 1, length: 1 },
      ];
      for (const [i, w] of writes.entries()) {
        const data = pattern(w.length, i + 10);
        await h.write(data, w.offset);
        data.copy(model, w.offset);
      }
      for (const w of writes) expect((await readExactly(h, w.offset, w.length)).equals(model.subarray(w.offset, w.offset + w.length))).toBe(true);
      expect((await readExactly(h, 0, model.length)).equals(model)).toBe(true);
      // after reopening too
      await h.close();
      const h2 = await openVolume(vol);
      expect((await readExactly(h2, 0, model.length)).equals(model)).toBe(true);
    });

    it('honours the length argument of read and write', async () => {
      const vol = loc('len');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(1000, 3), 10, 100);
      const buf = Buffer.alloc(1000, 0xee);
      expect(await h.read(buf, 10, 200)).toBe(200);
      expect(buf.subarray(0, 100).equals(pattern(1000, 3).subarray(0, 100))).toBe(true);
      expect(buf.subarray(100, 200).equals(Buffer.alloc(100))).toBe(true);
      expect(buf.subarray(200).equals(Buffer.alloc(800, 0xee))).toBe(true); // untouched
    });

    it.each([
      { what: 'straddling the end', back: 100, length: 4096, expected: 100 },
      { what: 'exactly at the end', back: 0, length: 4096, expected: 0 },
      { what: 'past the end', back: -MiB, length: 10, expected: 0 },
    ])('reads short only at the end: $what', async ({ back, length, expected }) => {
      const vol = loc('short');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(100, 5), GiB - 100);
      const buf = Buffer.alloc(length);
      expect(await h.read(buf, GiB - back)).toBe(expected);
      if (expected > 0) expect(buf.subarray(0, expected).equals(pattern(100, 5))).toBe(true);
    });

    it('fails a write past the end with IO_ERROR and writes nothing', async () => {
      const vol = loc('past');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      const before = await h.allocatedRanges();
      await expectAppError(h.write(pattern(200, 7), GiB - 100), 'IO_ERROR');
      await expectAppError(h.write(pattern(1, 7), GiB), 'IO_ERROR');
      expect((await readExactly(h, GiB - 100, 100)).equals(Buffer.alloc(100))).toBe(true);
      expect(await h.allocatedRanges()).toEqual(before);
      expect(driver.ioStats().volumes['past']?.writeOps ?? 0).toBe(0);
    });

    it('rejects invalid offsets and lengths with IO_ERROR', async () => {
      const vol = loc('args');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await expectAppError(h.read(Buffer.alloc(10), -1), 'IO_ERROR');
      await expectAppError(h.read(Buffer.alloc(10), 0, 11), 'IO_ERROR');
      await expectAppError(h.write(Buffer.alloc(10), 1.5), 'IO_ERROR');
    });

    it('writing zeros over data reads back zeros', async () => {
      const vol = loc('rezero');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(3 * MiB, 8), MiB);
      await h.write(Buffer.alloc(3 * MiB), MiB);
      expect((await readExactly(h, 0, 5 * MiB)).equals(Buffer.alloc(5 * MiB))).toBe(true);
    });

    it('flush makes data durable and is counted', async () => {
      const vol = loc('flush');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(MiB + 3, 9), MiB - 1);
      await h.flush();
      await h.flush();
      expect(driver.ioStats().volumes['flush']?.flushOps).toBe(2);
      await h.close();
      const h2 = await openVolume(vol);
      expect((await readExactly(h2, MiB - 1, MiB + 3)).equals(pattern(MiB + 3, 9))).toBe(true);
    });

    it.each(['read', 'write', 'flush'] as const)('%s on a closed handle fails with IO_ERROR', async (op) => {
      const vol = loc('closed');
      await driver.createVolume(vol);
      const h = await driver.openVolume(vol);
      await h.close();
      await h.close(); // idempotent
      const call = op === 'read' ? h.read(Buffer.alloc(1), 0) : op === 'write' ? h.write(Buffer.alloc(1), 0) : h.flush();
      await expectAppError(call, 'IO_ERROR');
    });

    it('exposes a block path only for block drivers', async () => {
      const vol = loc('bp');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      if (c.copyMode === 'block') {
        expect(h.blockPath).not.toBeNull();
        expect((await fs.stat(h.blockPath as string)).size).toBe(GiB);
      } else {
        expect(h.blockPath).toBeNull();
      }
    });
  });

  describe('extend', () => {
    it('keeps data and the new space reads as zeros', async () => {
      const vol = loc('ext');
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(500, 11), GiB - 500);
      await h.close();
      await driver.extendVolume(vol, 2);
      const h2 = await openVolume({ ...vol, sizeGiB: 2 });
      expect(h2.sizeBytes).toBe(2 * GiB);
      expect((await readExactly(h2, GiB - 500, 500)).equals(pattern(500, 11))).toBe(true);
      expect((await readExactly(h2, GiB, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
      expect((await readExactly(h2, 2 * GiB - MiB, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
      await h2.write(pattern(10, 12), 2 * GiB - 10);
      expect((await readExactly(h2, 2 * GiB - 10, 10)).equals(pattern(10, 12))).toBe(true);
    });

    it('is a no-op at the same size and refuses to shrink', async () => {
      const vol = loc('ext2', 2);
      await driver.createVolume(vol);
      await driver.extendVolume(vol, 2);
      await expectAppError(driver.extendVolume(vol, 1), 'DRIVER_ERROR');
      const h = await openVolume(vol);
      expect(h.sizeBytes).toBe(2 * GiB);
    });
  });

  describe('allocated ranges', () => {
    it('are sorted, disjoint and cover every written byte', async () => {
      const vol = loc('ranges', 4);
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      expect(await h.allocatedRanges()).toEqual([]);
      const writes = [
        { offset: 3 * GiB + 17, length: 2 * MiB },
        { offset: 5, length: 10 },
        { offset: GiB - 1, length: 2 },
        { offset: 4 * GiB - 1, length: 1 },
      ];
      for (const [i, w] of writes.entries()) await h.write(pattern(w.length, i + 20), w.offset);
      await h.flush();
      const ranges = await h.allocatedRanges();
      for (let i = 1; i < ranges.length; i++) {
        const prev = ranges[i - 1]!;
        expect(prev.offset + prev.length).toBeLessThanOrEqual(ranges[i]!.offset);
      }
      for (const r of ranges) {
        expect(r.length).toBeGreaterThan(0);
        expect(r.offset + r.length).toBeLessThanOrEqual(h.sizeBytes);
      }
      const covered = (byte: number): boolean => ranges.some((r) => byte >= r.offset && byte < r.offset + r.length);
      for (const w of writes) {
        expect(covered(w.offset), `first byte at ${w.offset}`).toBe(true);
        expect(covered(w.offset + w.length - 1), `last byte at ${w.offset + w.length - 1}`).toBe(true);
        // contiguous coverage of the whole write
        const r = ranges.find((x) => w.offset >= x.offset && w.offset < x.offset + x.length)!;
        const last = ranges.find((x) => w.offset + w.length - 1 >= x.offset && w.offset + w.length - 1 < x.offset + x.length)!;
        for (const x of ranges.slice(ranges.indexOf(r), ranges.indexOf(last))) {
          const next = ranges[ranges.indexOf(x) + 1]!;
          expect(x.offset + x.length, 'no gap inside a written range').toBe(next.offset);
        }
      }
    });

    it('stay small for a sparse 20 GiB volume: 8 MiB written reports <= 16 MiB', async () => {
      const vol = loc('sparse20', 20);
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(4 * MiB, 30), GiB + 512 * 1024);
      await h.write(pattern(4 * MiB, 31), 10 * GiB);
      await h.flush();
      const ranges = await h.allocatedRanges();
      const total = ranges.reduce((sum, r) => sum + r.length, 0);
      expect(total).toBeGreaterThanOrEqual(8 * MiB);
      expect(total).toBeLessThanOrEqual(16 * MiB);
    });
  });

  describe('snapshots', () => {
    it('keep the data of the moment they were taken after the volume is rewritten', async () => {
      const vol = loc('snapsrc', 2);
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(3 * MiB, 40), MiB - 5);
      await h.flush();
      await driver.createSnapshot(vol, 'snap-1');
      await h.write(pattern(3 * MiB, 41), MiB - 5);
      await h.write(pattern(100, 42), GiB);
      await h.flush();

      const s = await c.openSnapshot(poolPath('p1'), 'snap-1');
      open.push(s);
      expect(s.sizeBytes).toBe(2 * GiB);
      expect((await readExactly(s, MiB - 5, 3 * MiB)).equals(pattern(3 * MiB, 40))).toBe(true);
      expect((await readExactly(s, GiB, 100)).equals(Buffer.alloc(100))).toBe(true);
      expect((await readExactly(h, MiB - 5, 3 * MiB)).equals(pattern(3 * MiB, 41))).toBe(true);
    });

    it('of a sparse 20 GiB volume take about the data written, not the volume size', async () => {
      const vol = loc('snapbig', 20);
      await driver.createVolume(vol);
      const h = await openVolume(vol);
      await h.write(pattern(4 * MiB, 43), 15 * GiB);
      await h.flush();
      await driver.createSnapshot(vol, 'big');
      expect(await allocatedBytes(c.snapshotPath(poolPath('p1'), 'big'))).toBeLessThanOrEqual(8 * MiB);
    });

    it('are deleted idempotently; duplicates and missing volumes are refused', async () => {
      const vol = loc('snapdel');
      await driver.createVolume(vol);
      await driver.createSnapshot(vol, 's1');
      await expectAppError(driver.createSnapshot(vol, 's1'), 'DRIVER_ERROR');
      await expectAppError(driver.createSnapshot(loc('ghost'), 's2'), 'VOLUME_NOT_FOUND');
      await driver.deleteSnapshot(vol, 's1');
      await expect(fs.stat(c.snapshotPath(poolPath('p1'), 's1'))).rejects.toThrow();
      await driver.deleteSnapshot(vol, 's1');
      await driver.deleteSnapshot(vol, 'never');
      expect(await driver.listVolumes('p1')).toEqual(['snapdel']);
    });
  });

  describe('pool stats', () => {
    it('report every Cinder field, configured capabilities and the pool settings', async () => {
      const stats = await driver.getPoolStats();
      expect(stats.map((s) => s.pool_name)).toEqual(['p1', 'p2', 'thick']);
      const p1 = stats[0]!;
      expect(p1).toMatchObject({
        pool_name: 'p1',
        total_capacity_gb: 100,
        free_capacity_gb: 100,
        provisioned_capacity_gb: 0,
        max_over_subscription_ratio: 20,
        reserved_percentage: 5,
        thin_provisioning_support: true,
        thick_provisioning_support: false,
        QoS_support: false,
        multiattach: false,
        sparse_copy_volume: true,
        online_extend_support: true,
        volume_backend_name: `backend-${c.name}`,
        vendor_name: 'Ballast',
        driver_version: '1.0',
        storage_protocol: c.storageProtocol,
        total_volumes: 0,
        availability_zone: 'nova',
        tier: 'gold',
      });
      expect(p1.location_info.startsWith(`${c.locationInfoPrefix}host1@be-${c.name}:p1:`)).toBe(true);
      expect(stats[1]!['tier']).toBeUndefined();
      expect(stats[2]).toMatchObject({ thin_provisioning_support: false, thick_provisioning_support: true, total_capacity_gb: 50 });
    });

    it('computed fields win over configured capabilities of the same name', async () => {
      const lying = c.factory({
        ...backend,
        pools: [poolSpec(root, 'p1', { capabilities: { free_capacity_gb: 9999, tier: 'x' } })],
      });
      const [s] = await lying.getPoolStats();
      expect(s).toMatchObject({ free_capacity_gb: 100, tier: 'x' });
    });

    it('thin: provisioned grows on create, free shrinks only with data written', async () => {
      await driver.createVolume(loc('t1', 20));
      const afterCreate = await statsOf('p1');
      expect(afterCreate.provisioned_capacity_gb).toBe(20);
      expect(afterCreate.total_volumes).toBe(1);
      expect(afterCreate.free_capacity_gb).toBeGreaterThanOrEqual(99.99);

      const h = await openVolume(loc('t1', 20));
      await h.write(pattern(64 * MiB, 50), 5 * GiB);
      await h.flush();
      const afterWrite = await statsOf('p1');
      expect(afterWrite.provisioned_capacity_gb).toBe(20);
      const used = afterCreate.free_capacity_gb - afterWrite.free_capacity_gb;
      expect(used).toBeGreaterThanOrEqual(0.05); // 64 MiB = 0.0625 GiB
      expect(used).toBeLessThanOrEqual(0.08);

      await driver.createVolume(loc('t2', 3));
      expect(await statsOf('p1')).toMatchObject({ provisioned_capacity_gb: 23, total_volumes: 2 });
      await driver.deleteVolume(loc('t1', 20));
      const afterDelete = await statsOf('p1');
      expect(afterDelete).toMatchObject({ provisioned_capacity_gb: 3, total_volumes: 1 });
      expect(afterDelete.free_capacity_gb).toBeGreaterThanOrEqual(99.99);
    });

    it('thick: a volume counts its full size at create, whatever is written', async () => {
      const vol = loc('k1', 20, 'thick');
      await driver.createVolume(vol);
      expect(await statsOf('thick')).toMatchObject({ provisioned_capacity_gb: 20, free_capacity_gb: 30, total_volumes: 1 });
      const h = await openVolume(vol);
      await h.write(pattern(16 * MiB, 51), 0);
      await h.flush();
      expect(await statsOf('thick')).toMatchObject({ provisioned_capacity_gb: 20, free_capacity_gb: 30 });
      await driver.extendVolume(vol, 25);
      expect(await statsOf('thick')).toMatchObject({ provisioned_capacity_gb: 25, free_capacity_gb: 25 });
    });
  });

  describe('I/O accounting', () => {
    it('counts operations and bytes per pool and per volume, with a cumulative histogram', async () => {
      const a = loc('io-a');
      const b = loc('io-b', 1, 'p2');
      await driver.createVolume(a);
      await driver.createVolume(b);
      const ha = await openVolume(a);
      const hb = await openVolume(b);
      await ha.write(pattern(3000, 60), 100);
      await ha.write(pattern(MiB, 61), 2 * MiB - 10);
      await ha.read(Buffer.alloc(500), 0);
      await ha.read(Buffer.alloc(500), GiB - 200); // short: 200 bytes
      await ha.flush();
      await hb.write(pattern(10, 62), 0);

      const io = driver.ioStats();
      expect(io.volumes['io-a']).toMatchObject({ writeOps: 2, writeBytes: 3000 + MiB, readOps: 2, readBytes: 700, flushOps: 1 });
      expect(io.volumes['io-b']).toMatchObject({ writeOps: 1, writeBytes: 10, readOps: 0, flushOps: 0 });
      expect(io.pools['p1']).toMatchObject({ writeOps: 2, readOps: 2, flushOps: 1 });
      expect(io.pools['p2']).toMatchObject({ writeOps: 1, writeBytes: 10 });
      const counters = io.volumes['io-a']!;
      const buckets = counters.latencyBucketsMs;
      expect(buckets[buckets.length - 1]).toEqual({ le: Number.POSITIVE_INFINITY, count: 5 });
      for (let i = 1; i < buckets.length; i++) {
        expect(buckets[i]!.le).toBeGreaterThan(buckets[i - 1]!.le);
        expect(buckets[i]!.count).toBeGreaterThanOrEqual(buckets[i - 1]!.count);
      }
      expect(counters.readLatencyTotalMs).toBeGreaterThanOrEqual(0);
      expect(counters.writeLatencyTotalMs).toBeGreaterThanOrEqual(0);

      // counters only grow, and a snapshot is a copy
      await ha.read(Buffer.alloc(1), 0);
      expect(io.volumes['io-a']!.readOps).toBe(2);
      expect(driver.ioStats().volumes['io-a']!.readOps).toBe(3);
    });
  });

  describe('update_migrated_volume', () => {
    const source = { id: 'src-id', locator: loc('src-id') };
    const dest = { id: 'dst-id', locator: loc('dst-id', 1, 'p2') };

    it.each([
      { status: 'available', conflict: false, renamed: true },
      { status: 'in-use', conflict: false, renamed: false },
      { status: 'maintenance', conflict: false, renamed: false },
      { status: 'available', conflict: true, renamed: false },
    ] as const)('original status $status, source name taken: $conflict → renamed: $renamed', async ({ status, conflict, renamed }) => {
      await driver.createVolume(dest.locator);
      const h = await driver.openVolume(dest.locator);
      await h.write(pattern(5000, 70), MiB - 1000);
      await h.close();
      if (conflict) await driver.createVolume({ ...dest.locator, nameId: source.id });

      const update = await driver.updateMigratedVolume!(source, dest, status);
      if (renamed) {
        expect(update.nameIdOverride).toBeNull();
        expect(update.providerLocation).toContain('volume-src-id');
        expect(await driver.listVolumes('p2')).toEqual(['src-id']);
      } else {
        expect(update.nameIdOverride).toBe('dst-id');
        expect(update.providerLocation).toContain('volume-dst-id');
        expect(await driver.listVolumes('p2')).toEqual(conflict ? ['dst-id', 'src-id'] : ['dst-id']);
      }
      const h2 = await openVolume({ ...dest.locator, nameId: renamed ? source.id : dest.locator.nameId });
      expect((await readExactly(h2, MiB - 1000, 5000)).equals(pattern(5000, 70))).toBe(true);
    });

    it('fails with VOLUME_NOT_FOUND when the destination object is missing', async () => {
      await expectAppError(driver.updateMigratedVolume!(source, dest, 'available'), 'VOLUME_NOT_FOUND');
    });
  });

  describe('retype', () => {
    it.each([
      { what: 'no extra specs', diff: {}, expected: true },
      { what: 'unrelated key changes', diff: { 'capabilities:tier': ['gold', 'silver'] }, expected: true },
      { what: 'blocking key unchanged', diff: { BLOCKING: ['1', '1'] }, expected: true },
      { what: 'blocking key changes', diff: { BLOCKING: ['1', '2'] }, expected: false },
      { what: 'blocking key added', diff: { BLOCKING: [null, '2'] }, expected: false },
    ] as const)('$what → $expected', async ({ diff, expected }) => {
      const extraSpecs = Object.fromEntries(
        Object.entries(diff).map(([k, v]) => [k === 'BLOCKING' ? c.retypeBlockingSpec : k, v as readonly [string | null, string | null]]),
      );
      const vol = loc('rt');
      await driver.createVolume(vol);
      expect(await driver.retype!(vol, {}, { extraSpecs })).toBe(expected);
    });
  });

  describe('driver-assisted move', () => {
    const target = (over: Partial<MigrationTarget> = {}): MigrationTarget => ({
      host: `host1@be-${c.name}#p2`,
      backendName: `be-${c.name}`,
      pool: 'p2',
      driver: c.name,
      capabilities: {} as PoolStats,
      ...over,
    });

    it(c.assistedMove ? 'moves between pools of its back-end without copying' : 'declines (no driver-assisted move)', async () => {
      const vol = loc('mv', 2);
      await driver.createVolume(vol);
      const h = await driver.openVolume(vol);
      await h.write(pattern(2 * MiB, 80), GiB - MiB);
      await h.close();
      const result = await driver.migrateVolume!(vol, 'available', target());
      expect(result.moved).toBe(c.assistedMove);
      const where = c.assistedMove ? 'p2' : 'p1';
      expect(await driver.listVolumes(where)).toEqual(['mv']);
      const h2 = await openVolume({ ...vol, pool: where });
      expect((await readExactly(h2, GiB - MiB, 2 * MiB)).equals(pattern(2 * MiB, 80))).toBe(true);
    });
  });

  describe('missing volumes', () => {
    const ghost = (): VolumeLocator => loc('ghost');
    it.each([
      ['openVolume', () => driver.openVolume(ghost())],
      ['extendVolume', () => driver.extendVolume(ghost(), 2)],
      ['createSnapshot', () => driver.createSnapshot(ghost(), 's')],
    ] as const)('%s fails with VOLUME_NOT_FOUND naming the volume and pool', async (_name, call) => {
      const err = await expectAppError(call(), 'VOLUME_NOT_FOUND');
      expect(err.message).toContain('volume-ghost');
      expect(err.message).toContain(`host1@be-${c.name}#p1`);
    });

    it('exists is false, delete and snapshot delete succeed', async () => {
      expect(await driver.volumeExists(ghost())).toBe(false);
      await driver.deleteVolume(ghost());
      await driver.deleteSnapshot(ghost(), 'none');
    });
  });
});

/** Whether /dev/shm is a file system other than the temp dir's (to test a cross-device decline). */
const SECOND_FS = ((): boolean => {
  try {
    return fsSync.statSync('/dev/shm').dev !== fsSync.statSync(os.tmpdir()).dev;
  } catch {
    return false;
  }
})();

describe('raw: driver-assisted move by rename', () => {
  const raw = DRIVER_CASES.find((c) => c.name === 'raw')!;
  let root: string;
  let backend: BackendSpec;
  let driver: VolumeDriver;
  const vol: VolumeLocator = { nameId: 'mv', pool: 'p1', sizeGiB: 1 };
  const target = (over: Partial<MigrationTarget> = {}): MigrationTarget => ({
    host: 'host1@be-raw#p2',
    backendName: 'be-raw',
    pool: 'p2',
    driver: 'raw',
    capabilities: {} as PoolStats,
    ...over,
  });

  beforeEach(async () => {
    root = await makeTempRoot();
    backend = backendSpec(root, raw);
    driver = raw.factory(backend);
    await driver.setup();
    await driver.createVolume(vol);
    const h = await driver.openVolume(vol);
    await h.write(pattern(MiB, 90), 12345);
    await h.close();
  });

  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('renames the image into the target pool: same inode, data intact, stats follow', async () => {
    const before = await fs.stat(path.join(root, 'p1', 'volume-mv.img'));
    const result = await driver.migrateVolume!(vol, 'maintenance', target());
    expect(result).toEqual({ moved: true, providerLocation: path.join(root, 'p2', 'volume-mv.img') });
    const after = await fs.stat(path.join(root, 'p2', 'volume-mv.img'));
    expect(after.ino).toBe(before.ino); // no data copy
    expect(await driver.listVolumes('p1')).toEqual([]);
    expect(await driver.listVolumes('p2')).toEqual(['mv']);
    const h = await driver.openVolume({ ...vol, pool: 'p2' });
    expect((await readExactly(h, 12345, MiB)).equals(pattern(MiB, 90))).toBe(true);
    await h.close();
    const stats = await driver.getPoolStats();
    expect(stats.find((s) => s.pool_name === 'p2')).toMatchObject({ total_volumes: 1, provisioned_capacity_gb: 1 });
    expect(stats.find((s) => s.pool_name === 'p1')).toMatchObject({ total_volumes: 0, provisioned_capacity_gb: 0 });
  });

  it.each([
    { why: 'another back-end', over: { backendName: 'other', host: 'host1@other#p2' }, status: 'available' },
    { why: 'another driver', over: { driver: 'chunked' }, status: 'available' },
    { why: 'a pool this back-end does not have', over: { pool: 'elsewhere' }, status: 'available' },
    { why: 'an attached volume', over: {}, status: 'in-use' },
  ] as const)('declines for $why', async ({ over, status }) => {
    expect(await driver.migrateVolume!(vol, status, target(over))).toEqual({ moved: false });
    expect(await driver.listVolumes('p1')).toEqual(['mv']);
  });

  it('declines a volume with snapshots', async () => {
    await driver.createSnapshot(vol, 'keep');
    expect(await driver.migrateVolume!(vol, 'available', target())).toEqual({ moved: false });
    await driver.deleteSnapshot(vol, 'keep');
    expect((await driver.migrateVolume!(vol, 'available', target())).moved).toBe(true);
  });

  it('declines between different file systems (/dev/shm vs the temp dir)', async () => {
    // Debian machines (and CI) mount /dev/shm as its own tmpfs; fail loudly where it is not.
    expect(SECOND_FS, '/dev/shm must be a file system other than the temp dir for this test').toBe(true);
    const shmRoot = await fs.mkdtemp('/dev/shm/ballast-driver-contract-');
    try {
      const split = raw.factory({ ...backend, pools: [backend.pools[0]!, poolSpec(shmRoot, 'p2')] });
      await split.setup();
      expect(await split.migrateVolume!(vol, 'available', target())).toEqual({ moved: false });
      expect(await split.listVolumes('p1')).toEqual(['mv']);
    } finally {
      await fs.rm(shmRoot, { recursive: true, force: true });
    }
  });

  it('refuses (DRIVER_ERROR) when the destination file exists, and overwrites nothing', async () => {
    await driver.createVolume({ ...vol, pool: 'p2' });
    await expectAppError(driver.migrateVolume!(vol, 'available', target()), 'DRIVER_ERROR');
    const h = await driver.openVolume(vol);
    expect((await readExactly(h, 12345, MiB)).equals(pattern(MiB, 90))).toBe(true);
    await h.close();
    const other = await driver.openVolume({ ...vol, pool: 'p2' });
    expect(await other.allocatedRanges()).toEqual([]);
    await other.close();
  });

  it('refuses a move to the pool the volume is in, and a missing volume', async () => {
    await expectAppError(driver.migrateVolume!(vol, 'available', target({ pool: 'p1' })), 'DRIVER_ERROR');
    await expectAppError(driver.migrateVolume!({ ...vol, nameId: 'ghost' }, 'available', target()), 'VOLUME_NOT_FOUND');
  });
});

describe('chunked: object layout', () => {
  const chunked = DRIVER_CASES.find((c) => c.name === 'chunked')!;
  let root: string;

  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('defaults to 4 MiB objects named by zero-padded hex index, and removes all-zero objects', async () => {
    const driver = chunked.factory(backendSpec(root, { ...chunked, options: {} }));
    await driver.setup();
    const vol: VolumeLocator = { nameId: 'objs', pool: 'p1', sizeGiB: 1 };
    await driver.createVolume(vol);
    const dir = path.join(root, 'p1', 'volume-objs');
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ sizeBytes: GiB, chunkSizeBytes: 4 * MiB });
    expect(typeof meta['createdAt']).toBe('string');

    const h = await driver.openVolume(vol);
    await h.write(pattern(10, 1), 3 * 4 * MiB + 5);
    await h.write(pattern(10, 2), 17 * 4 * MiB);
    expect((await fs.readdir(dir)).sort()).toEqual(['0000000000000003', '0000000000000011', 'meta.json']);
    expect(await h.allocatedRanges()).toEqual([
      { offset: 12 * MiB, length: 4 * MiB },
      { offset: 68 * MiB, length: 4 * MiB },
    ]);
    await h.write(Buffer.alloc(4 * MiB), 12 * MiB); // a whole object of zeros
    await h.write(Buffer.alloc(5), 68 * MiB); // a partial zero write keeps its object
    await h.flush();
    expect((await fs.readdir(dir)).sort()).toEqual(['0000000000000011', 'meta.json']);
    await h.close();
  });

  it('rejects an invalid chunk size option', () => {
    for (const bad of [0, -1, 'big', 1e-9]) {
      expect(() => chunked.factory(backendSpec(root, { ...chunked, options: { chunkSizeMiB: bad } }))).toThrow(/chunkSizeMiB/);
    }
  });

  it('keeps the object size a volume was created with when the option changes', async () => {
    const small = chunked.factory(backendSpec(root, chunked));
    await small.setup();
    const vol: VolumeLocator = { nameId: 'keep', pool: 'p1', sizeGiB: 1 };
    await small.createVolume(vol);
    const h = await small.openVolume(vol);
    await h.write(pattern(3 * MiB, 3), MiB / 2);
    await h.close();
    const big = chunked.factory(backendSpec(root, { ...chunked, options: { chunkSizeMiB: 8 } }));
    const h2 = await big.openVolume(vol);
    expect((await readExactly(h2, MiB / 2, 3 * MiB)).equals(pattern(3 * MiB, 3))).toBe(true);
    expect((await h2.allocatedRanges())[0]).toEqual({ offset: 0, length: 4 * MiB });
    await h2.close();
  });
});
