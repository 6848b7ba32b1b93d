import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FAULT_STAGES, type BlockService, type FaultStage } from '../../src/blockstore/index.js';
import { AppError } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, objectsIn, readBack, sameBytes, type Deployment } from './deployment.js';

let d: Deployment;
let s: BlockService;

beforeEach(async () => {
  d = await makeDeployment();
  s = await d.open();
});
afterEach(async () => {
  await d.cleanup();
});

function codeOf(e: unknown): string {
  return e instanceof AppError ? e.code : `not an AppError: ${String(e)}`;
}

async function expectCode(p: Promise<unknown>, code: string, fragment?: string): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(codeOf(e)).toBe(code);
    if (fragment) expect((e as Error).message).toContain(fragment);
    return e as AppError;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

/** Everything a refused request must leave unchanged. */
function stateOf(service: BlockService) {
  return {
    volumes: service.listVolumes(true),
    migrations: service.migrations(),
    reservations: service.ctx.db.prepare('SELECT * FROM reservations').all(),
  };
}

describe('generic and driver-assisted migration of available volumes', () => {
  test.each([
    { name: 'chunked → chunked (file copy)', type: 'standard', host: 'ballast@capacity#hdd-a', to: 'ballast@capacity#hdd-b', path: 'generic', retype: null },
    { name: 'raw → raw, same back-end (driver-assisted rename)', type: 'gold', host: 'ballast@fast#ssd-a', to: 'ballast@fast#ssd-b', path: 'driver', retype: null },
    { name: 'raw → raw with force_host_copy (block copy)', type: 'gold', host: 'ballast@fast#ssd-a', to: 'ballast@fast#ssd-b', path: 'generic', force: true, retype: null },
    { name: 'any type: raw → chunked (cross-driver copy)', type: 'any', host: 'ballast@fast#ssd-a', to: 'ballast@capacity#hdd-a', path: 'generic', retype: null },
    { name: 'any type: chunked → raw', type: 'any', host: 'ballast@capacity#hdd-a', to: 'ballast@fast#ssd-b', path: 'generic', retype: null },
  ])('$name', async ({ type, host, to, path, force }) => {
    const v = await s.createVolume({ sizeGiB: 2, type, host, name: 'v' });
    expect(v.host).toBe(host);
    const { data, offset } = await fillVolume(s, d.dir, v.id);
    const phases: string[] = [];
    const m = await s.migrateVolume(v.id, to, { forceHostCopy: force === true, onProgress: (p) => phases.push(p.phase) });
    expect(m.outcome).toBe('success');
    expect(m.path).toBe(path);
    const after = s.getVolume(v.id);
    expect(after).toMatchObject({ id: v.id, host: to, status: 'available', migrationStatus: 'success', sizeGiB: 2 });
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
    // nothing left behind: no temporary row, no reservation, the old object gone, one object on the destination
    expect(s.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
    expect(s.ctx.db.prepare('SELECT COUNT(*) AS n FROM reservations').get()).toEqual({ n: 0 });
    const [srcBackend, srcPool] = host.split('@')[1]!.split('#') as [string, string];
    const [dstBackend, dstPool] = to.split('@')[1]!.split('#') as [string, string];
    expect(await objectsIn(d, srcBackend, srcPool)).toEqual([]);
    expect(await objectsIn(d, dstBackend, dstPool)).toHaveLength(1);
    if (path === 'generic') expect(phases).toEqual(expect.arrayContaining(['creating-dest', 'copying', 'verifying', 'completing', 'swapped', 'done']));
    else expect(phases).toEqual(['driver-moving', 'done']);
  });

  test('status sequence: starting → migrating (target:<id> row) → completing → success; lock_volume keeps maintenance', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'standard', host: 'ballast@capacity#hdd-a' });
    await fillVolume(s, d.dir, v.id, 1024 * 1024);
    const seen: Record<string, unknown> = {};
    const watcher = await d.open({
      faults: {
        at(stage) {
          const row = watcher.getVolume(v.id);
          const target = watcher.listVolumes(true).find((x) => x.id !== v.id);
          seen[stage] = { status: row.status, migstat: row.migrationStatus, target: target ? { status: target.status, migstat: target.migrationStatus, visible: watcher.listVolumes(false).some((x) => x.id === target.id) } : null };
        },
      },
    });
    const m = await watcher.acceptMigration(v.id, 'ballast@capacity#hdd-b', { lockVolume: true });
    expect(watcher.getVolume(v.id)).toMatchObject({ status: 'maintenance', migrationStatus: 'starting', previousStatus: 'available' });
    await watcher.runMigration(m.id);
    expect(seen['after-accept']).toEqual({ status: 'maintenance', migstat: 'migrating', target: null });
    expect(seen['mid-copy']).toEqual({ status: 'maintenance', migstat: 'migrating', target: { status: 'available', migstat: `target:${v.id}`, visible: false } });
    expect(seen['completing']).toMatchObject({ status: 'maintenance', migstat: 'completing' });
    expect(seen['after-swap']).toMatchObject({ status: 'available', migstat: 'success', target: { status: 'deleting', migstat: 'deleting' } });
    expect(watcher.getVolume(v.id)).toMatchObject({ status: 'available', migrationStatus: 'success', host: 'ballast@capacity#hdd-b' });
  });

  test('a pool-less host lands on the best pool of that back-end, never the current one', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const m = await s.migrateVolume(v.id, 'ballast@fast');
    expect(m.destHost).toBe('ballast@fast#ssd-b');
  });

  test('progress (bytes copied, total) is observable in the volume while it runs', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'standard', host: 'ballast@capacity#hdd-a' });
    await fillVolume(s, d.dir, v.id, 8 * 1024 * 1024, 0);
    const other = await d.open({
      faults: {
        at(stage) {
          if (stage !== 'verify') return;
          const m = other.latestMigration(v.id)!;
          expect(m.bytesTotal).toBeGreaterThanOrEqual(8 * 1024 * 1024);
          expect(m.bytesCopied).toBe(m.bytesTotal);
        },
      },
    });
    await other.migrateVolume(v.id, 'ballast@capacity#hdd-b');
  });
});

describe('migration preconditions: each refused with its error, nothing changed', () => {
  test.each([
    { name: 'unknown volume', vol: 'nope', host: 'ballast@fast#ssd-b', code: 'VOLUME_NOT_FOUND', msg: 'Volume nope could not be found' },
    { name: 'malformed host (no back-end)', host: 'ballast', code: 'INVALID_HOST', msg: "missing '@backend'" },
    { name: 'malformed host (two #)', host: 'ballast@fast#a#b', code: 'INVALID_HOST', msg: "more than one '#'" },
    { name: 'unknown back-end', host: 'ballast@nope#ssd-a', code: 'INVALID_HOST', msg: "No available service named 'ballast@nope'" },
    { name: 'unknown host part', host: 'other@fast#ssd-a', code: 'INVALID_HOST', msg: "No available service named 'other@fast'" },
    { name: 'unknown pool', host: 'ballast@fast#ssd-z', code: 'INVALID_HOST', msg: "No pool named 'ssd-z'" },
    { name: 'same host', host: 'ballast@fast#ssd-a', code: 'INVALID_VOLUME', msg: 'destination host/cluster must be different' },
    { name: 'has a snapshot', host: 'ballast@fast#ssd-b', setup: 'snapshot', code: 'INVALID_VOLUME', msg: 'has 1 snapshot' },
    { name: 'in a group', host: 'ballast@fast#ssd-b', setup: 'group', code: 'INVALID_VOLUME', msg: 'part of group' },
    { name: 'replicated', host: 'ballast@fast#ssd-b', setup: 'replicated', code: 'INVALID_VOLUME', msg: 'replication_status is enabled' },
    { name: 'status error', host: 'ballast@fast#ssd-b', setup: 'error', code: 'INVALID_VOLUME', msg: 'status is error' },
    { name: 'already migrating', host: 'ballast@fast#ssd-b', setup: 'migrating', code: 'INVALID_VOLUME', msg: 'migration_status is starting' },
    { name: 'attached (in-use): live moves not yet available', host: 'ballast@fast#ssd-b', setup: 'attach', code: 'IN_USE_NOT_SUPPORTED', msg: 'is in-use' },
    { name: 'type does not match destination (CapabilitiesFilter)', host: 'ballast@capacity#hdd-a', code: 'NO_VALID_BACKEND', msg: 'CapabilitiesFilter' },
  ])('$name → $code', async ({ vol, host, setup, code, msg }) => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    if (setup === 'snapshot') await s.createSnapshot(v.id);
    if (setup === 'group') s.ctx.repo.updateVolume(v.id, { groupId: 'g1' }, 0);
    if (setup === 'replicated') s.ctx.repo.updateVolume(v.id, { replicationStatus: 'enabled' }, 0);
    if (setup === 'error') s.ctx.repo.updateVolume(v.id, { status: 'error' }, 0);
    if (setup === 'attach') s.attachVolume(v.id, { instanceUuid: 'vm-1' });
    if (setup === 'migrating') await s.acceptMigration(v.id, 'ballast@fast#ssd-b');
    const before = stateOf(s);
    await expectCode(s.acceptMigration(vol ?? v.id, host), code, msg);
    expect(stateOf(s)).toEqual(before);
  });

  test('destination without capacity (CapacityFilter on a thick pool) → NO_VALID_BACKEND', async () => {
    const big = await s.createVolume({ sizeGiB: 8, type: 'standard', host: 'ballast@capacity#hdd-b' });
    const v = await s.createVolume({ sizeGiB: 3, type: 'standard', host: 'ballast@capacity#hdd-a' });
    const before = stateOf(s);
    await expectCode(s.acceptMigration(v.id, 'ballast@capacity#hdd-b'), 'NO_VALID_BACKEND', 'CapacityFilter');
    expect(stateOf(s)).toEqual(before);
    expect(big.host).toBe('ballast@capacity#hdd-b');
  });
});

describe('a failure injected at each stage ends with the volume on its source, data intact', () => {
  const beforeSwap = FAULT_STAGES.filter((st) => !['after-swap', 'delete-source', 'driver-migrate'].includes(st));
  test.each(beforeSwap.map((stage) => ({ stage })))('fail at $stage → rolled back', async ({ stage }) => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: 'ballast@fast#ssd-a' });
    const { data, offset } = await fillVolume(s, d.dir, v.id);
    const faulty = await d.open({ faults: { at: (st) => { if (st === stage) throw new AppError('DRIVER_ERROR', `injected at ${st}`); } } });
    const err = await expectCode(faulty.migrateVolume(v.id, 'ballast@capacity#hdd-a', { lockVolume: true }), 'MIGRATION_FAILED', `injected at ${stage}`);
    expect(err.message).toContain('data intact');
    expect(faulty.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'available', migrationStatus: 'error', nameIdOverride: null });
    expect(sameBytes(await readBack(faulty, d.dir, v.id, offset, data.length), data)).toBe('identical');
    expect(faulty.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
    expect(await objectsIn(d, 'capacity', 'hdd-a')).toEqual([]);
    expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([v.id]);
    expect(faulty.ctx.db.prepare('SELECT COUNT(*) AS n FROM reservations').get()).toEqual({ n: 0 });
    expect(faulty.latestMigration(v.id)).toMatchObject({ phase: 'failed', outcome: 'error' });
    // and it can be migrated afterwards (error is not a stuck state)
    const again = await s.migrateVolume(v.id, 'ballast@capacity#hdd-a');
    expect(again.outcome).toBe('success');
  });

  test('fail in the driver-assisted move → error, no fallback, volume on its source', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const { data, offset } = await fillVolume(s, d.dir, v.id);
    const faulty = await d.open({ faults: { at: (st) => { if (st === 'driver-migrate') throw new AppError('DRIVER_ERROR', 'injected'); if (st === 'create-dest') throw new Error('generic fallback must not run'); } } });
    await expectCode(faulty.migrateVolume(v.id, 'ballast@fast#ssd-b'), 'MIGRATION_FAILED', 'injected');
    expect(faulty.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'available', migrationStatus: 'error' });
    expect(sameBytes(await readBack(faulty, d.dir, v.id, offset, data.length), data)).toBe('identical');
  });

  test.each([{ stage: 'after-swap' as FaultStage }, { stage: 'delete-source' as FaultStage }])(
    'fail at $stage (after the swap) → the move stands; a restart deletes the old data',
    async ({ stage }) => {
      const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: 'ballast@fast#ssd-a' });
      const { data, offset } = await fillVolume(s, d.dir, v.id);
      const faulty = await d.open({ faults: { at: (st) => { if (st === stage) throw new AppError('DRIVER_ERROR', 'injected'); } } });
      const m = await faulty.migrateVolume(v.id, 'ballast@capacity#hdd-a');
      expect(m.phase).toBe('swapped');
      expect(faulty.getVolume(v.id)).toMatchObject({ host: 'ballast@capacity#hdd-a', status: 'available', migrationStatus: 'success' });
      expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([v.id]);
      faulty.close();
      s.close();
      const restarted = await d.open();
      expect(restarted.recovery).toEqual([expect.objectContaining({ volumeId: v.id, action: 'rolled-forward' })]);
      expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([]);
      expect(restarted.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
      expect(sameBytes(await readBack(restarted, d.dir, v.id, offset, data.length), data)).toBe('identical');
    },
  );

  test('cancel (AbortSignal) mid-copy → CANCELLED, rolled back', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'standard', host: 'ballast@capacity#hdd-a' });
    const { data, offset } = await fillVolume(s, d.dir, v.id, 16 * 1024 * 1024, 0);
    const ac = new AbortController();
    const p = s.migrateVolume(v.id, 'ballast@capacity#hdd-b', { signal: ac.signal, onProgress: (pr) => { if (pr.phase === 'copying') ac.abort(); } });
    await expectCode(p, 'CANCELLED', 'data intact');
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@capacity#hdd-a', status: 'available', migrationStatus: 'error' });
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
    expect(await objectsIn(d, 'capacity', 'hdd-b')).toEqual([]);
  });
});

describe('concurrent migrations into one pool', () => {
  test('two moves that each fit but not together: one is accepted, the other refused (reservation)', async () => {
    // hdd-b is thick, 10 GiB: two 6 GiB volumes cannot both land there.
    const a = await s.createVolume({ sizeGiB: 6, type: 'standard', host: 'ballast@capacity#hdd-a' });
    const b = await s.createVolume({ sizeGiB: 6, type: 'standard', host: 'ballast@capacity#hdd-a' });
    const other = await d.open(); // a second service instance on the same state: as a second process
    const results = await Promise.allSettled([s.migrateVolume(a.id, 'ballast@capacity#hdd-b'), other.migrateVolume(b.id, 'ballast@capacity#hdd-b')]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(codeOf(refused[0]!.reason)).toBe('NO_VALID_BACKEND');
    const onB = s.listVolumes().filter((v) => v.host === 'ballast@capacity#hdd-b');
    expect(onB.reduce((sum, v) => sum + v.sizeGiB, 0)).toBeLessThanOrEqual(10);
  });

  test('in-flight reservations show in pool stats while a move runs', async () => {
    const a = await s.createVolume({ sizeGiB: 6, type: 'standard', host: 'ballast@capacity#hdd-a' });
    const m = await s.acceptMigration(a.id, 'ballast@capacity#hdd-b');
    const pool = (await s.listPools()).find((p) => p.host === 'ballast@capacity#hdd-b')!;
    expect(pool.reservedInFlightGiB).toBe(6);
    await s.runMigration(m.id);
    const after = (await s.listPools()).find((p) => p.host === 'ballast@capacity#hdd-b')!;
    expect(after.reservedInFlightGiB).toBe(0);
    expect(after.allocatedGiB).toBe(6);
  });
});

describe('retype', () => {
  test('in place: the current pool supports the new type and the driver agrees', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const r = await s.retype(v.id, 'gold-plus', 'never');
    expect(r.kind).toBe('in-place');
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'available', volumeTypeId: s.listTypes().find((t) => t.name === 'gold-plus')!.id, migrationStatus: null });
  });

  test('never: a retype that needs a migration is refused and nothing changes', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const before = stateOf(s);
    await expectCode(s.retype(v.id, 'standard', 'never'), 'RETYPE_NOT_ALLOWED', 'migration not allowed');
    expect(stateOf(s)).toEqual(before);
  });

  test('never: the driver declines in place → "Retype requires migration but is not allowed."', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const before = stateOf(s);
    await expectCode(s.retype(v.id, 'gold-prealloc', 'never'), 'RETYPE_NOT_ALLOWED', 'Retype requires migration but is not allowed.');
    expect(stateOf(s)).toEqual(before);
  });

  test('on-demand: migrates to a pool of the new type, data intact, type changed', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const { data, offset } = await fillVolume(s, d.dir, v.id);
    const r = await s.retype(v.id, 'standard', 'on-demand');
    if (r.kind !== 'migration') throw new Error('expected a migration');
    expect(s.getVolume(v.id)).toMatchObject({ status: 'retyping', migrationStatus: 'starting' });
    const m = await s.runMigration(r.migration.id);
    expect(m.outcome).toBe('success');
    const after = s.getVolume(v.id);
    expect(after.host.startsWith('ballast@capacity#')).toBe(true);
    expect(after).toMatchObject({ status: 'available', migrationStatus: 'success', volumeTypeId: s.listTypes().find((t) => t.name === 'standard')!.id });
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
  });

  test('on-demand with the driver declining in place → generic migration within the same pool', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const { data, offset } = await fillVolume(s, d.dir, v.id);
    const r = await s.retype(v.id, 'gold-prealloc', 'on-demand');
    if (r.kind !== 'migration') throw new Error('expected a migration');
    const m = await s.runMigration(r.migration.id);
    expect(m).toMatchObject({ outcome: 'success', path: 'generic' });
    const after = s.getVolume(v.id);
    expect(after.host).toBe('ballast@fast#ssd-a');
    expect(after.nameIdOverride).not.toBeNull(); // the new object could not take the source's name
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
    expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([after.nameIdOverride]);
  });

  test.each([
    { name: 'unknown type', type: 'nope', code: 'VOLUME_TYPE_NOT_FOUND' },
    { name: 'same type', type: 'gold', code: 'INVALID_VOLUME' },
  ])('refused: $name → $code', async ({ type, code }) => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const before = stateOf(s);
    await expectCode(s.retype(v.id, type, 'on-demand'), code);
    expect(stateOf(s)).toEqual(before);
  });

  test('a failed retype migration restores the status and keeps the old type', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    const faulty = await d.open({ faults: { at: (st) => { if (st === 'verify') throw new AppError('DRIVER_ERROR', 'injected'); } } });
    const r = await faulty.retype(v.id, 'standard', 'on-demand');
    if (r.kind !== 'migration') throw new Error('expected a migration');
    await expectCode(faulty.runMigration(r.migration.id), 'MIGRATION_FAILED');
    expect(faulty.getVolume(v.id)).toMatchObject({ status: 'available', migrationStatus: 'error', volumeTypeId: v.volumeTypeId, host: v.host });
  });
});
