/**
 * The simulated control plane: timing (bandwidth, link, overhead, sharing, live copy), Cinder's
 * status transitions, capacity reservation, refusals, seeded failures, cancel, pool failure.
 */
import { describe, expect, test } from 'vitest';
import type { MoveHandle, MoveRequest } from '../../src/model/index.js';
import { AppError } from '../../src/shared/index.js';
import { SimClock, SimFleet, SimulatedControlPlane, soloMoveMs, type TimingModel } from '../../src/simulator/index.js';
import { GiB, inventory, MiB, pool, T0, volume } from './simulator-fixtures.js';

const TIMING: TimingModel = {
  defaultPool: { readBytesPerSec: 100 * MiB, writeBytesPerSec: 100 * MiB },
  pools: {},
  linkBytesPerSec: 1024 * MiB,
  moveOverheadMs: 10_000,
  liveWriteBytesPerSec: 20 * MiB,
  failureProbability: 0,
  failureProbabilityByBackend: {},
};

const A = 'ballast@cap#a';
const B = 'ballast@cap#b';
const F = 'ballast@fast#f';

function setup(timing: Partial<TimingModel> = {}, vols = [volume(1, A, 100), volume(2, A, 50), volume(3, B, 10)], seed = 1) {
  const inv = inventory([pool('cap', 'a', 1000), pool('cap', 'b', 1000), pool('fast', 'f', 1000)], vols);
  const clock = new SimClock(T0);
  const fleet = SimFleet.fromInventory(inv);
  const cp = new SimulatedControlPlane(fleet, clock, { ...TIMING, ...timing }, { name: 'test', seed });
  return { clock, fleet, cp };
}

const migrate = (volumeId: string, host: string, lockVolume = false): MoveRequest => ({ op: 'migrate', volumeId, host, forceHostCopy: false, lockVolume });

async function finish(clock: SimClock, cp: SimulatedControlPlane, h: MoveHandle): Promise<number> {
  for (;;) {
    const p = await cp.moveProgress(h);
    if (p.state !== 'running') return clock.nowMs() - T0;
    if (!clock.fireNext()) throw new Error('no event while running');
  }
}

describe('timing', () => {
  test.each([
    // name, timing override, volume, destination, expected ms
    ['same back-end: pool bandwidth, no link', {}, 'vol-001', B, 10_000 + 1024_000],
    ['across back-ends: the link is not the bottleneck', {}, 'vol-001', F, 10_000 + 1024_000],
    ['across back-ends: a slow link is', { linkBytesPerSec: 50 * MiB }, 'vol-001', F, 10_000 + 2048_000],
    ['destination writes slower than the source reads', { pools: { [B]: { readBytesPerSec: 100 * MiB, writeBytesPerSec: 25 * MiB } } }, 'vol-001', B, 10_000 + 4096_000],
    ['no overhead', { moveOverheadMs: 0 }, 'vol-002', B, 512_000],
  ] as const)('%s', async (_name, timing, vol, dest, expected) => {
    const { clock, cp } = setup(timing);
    const h = await cp.startMove(migrate(vol, dest));
    const took = await finish(clock, cp, h);
    expect(Math.abs(took - expected)).toBeLessThanOrEqual(2);
    const sizeGiB = vol === 'vol-001' ? 100 : 50;
    const resources = dest === F ? [`read:${A}`, `write:${F}`, 'link'] : [`read:${A}`, `write:${B}`];
    expect(Math.abs(soloMoveMs(sizeGiB * GiB, resources, false, { ...TIMING, ...timing }) - expected)).toBeLessThanOrEqual(2);
  });

  test('two copies share the source pool max-min fairly; the survivor speeds up when one ends', async () => {
    const { clock, cp } = setup({ moveOverheadMs: 0 });
    const h1 = await cp.startMove(migrate('vol-001', B)); // 100 GiB
    const h2 = await cp.startMove(migrate('vol-002', F)); // 50 GiB
    // Both read from A at 50 MiB/s: 50 GiB done at 1024 s; then 50 GiB left of vol-001 at 100 MiB/s: 512 s more.
    expect(await finish(clock, cp, h2)).toBeCloseTo(1024_000, -1);
    expect(await finish(clock, cp, h1)).toBeCloseTo(1536_000, -1);
  });

  test('the executor cap (setCopyBandwidth) is shared by every copy', async () => {
    const { clock, cp } = setup({ moveOverheadMs: 0 });
    await cp.setCopyBandwidth(10 * MiB);
    const h = await cp.startMove(migrate('vol-002', B));
    expect(await finish(clock, cp, h)).toBeCloseTo(5120_000, -1);
  });

  test('a live copy advances at its rate less what the consumer writes', async () => {
    const { clock, cp } = setup({ moveOverheadMs: 0 }, [volume(1, A, 100, { attached: true, status: 'in-use' })]);
    const h = await cp.startMove(migrate('vol-001', B));
    expect(await finish(clock, cp, h)).toBeCloseTo(1280_000, -1); // 100 GiB at 80 MiB/s
    expect(cp.moveLog()[0]!.kind).toBe('live-copy');
  });

  test('a live copy whose consumer writes as fast as it copies never converges: it fails', async () => {
    const { clock, cp, fleet } = setup({ liveWriteBytesPerSec: 100 * MiB }, [volume(1, A, 100, { attached: true, status: 'in-use' })]);
    const h = await cp.startMove(migrate('vol-001', B));
    await finish(clock, cp, h);
    const p = await cp.moveProgress(h);
    expect(p.state).toBe('failed');
    expect(p.error?.code).toBe('MIGRATION_FAILED');
    expect(p.error?.message).toContain('cannot converge');
    expect(fleet.pool(B).allocatedGiB).toBe(0);
    expect(fleet.volumes.get('vol-001')!.status).toBe('in-use');
  });

  test('a retype in place moves no data and takes only the overhead', async () => {
    const { clock, cp, fleet } = setup({}, [volume(1, F, 100)]);
    const h = await cp.startMove({ op: 'retype', volumeId: 'vol-001', newVolumeType: 'gold', migrationPolicy: 'never' });
    expect(await finish(clock, cp, h)).toBe(10_000);
    expect(fleet.volumes.get('vol-001')!.volumeType).toBe('gold');
    expect(cp.moveLog()[0]!.kind).toBe('retype-in-place');
  });
});

describe('statuses and capacity', () => {
  test("Cinder's migration_status: starting -> migrating -> completing -> success; capacity reserved while in flight", async () => {
    const { clock, cp, fleet } = setup();
    const seen: string[] = [];
    const h = await cp.startMove(migrate('vol-001', B, true));
    const status = () => {
      const v = fleet.volumes.get('vol-001')!;
      return `${v.migrationStatus}/${v.status}/${v.pool}/A=${fleet.pool(A).allocatedGiB}/B=${fleet.pool(B).allocatedGiB}`;
    };
    seen.push(status());
    while (clock.fireNext()) {
      const s = status();
      if (s !== seen[seen.length - 1]) seen.push(s);
    }
    expect(seen).toEqual([
      `starting/maintenance/${A}/A=150/B=110`,
      `migrating/maintenance/${A}/A=150/B=110`,
      `completing/maintenance/${A}/A=150/B=110`,
      `success/available/${B}/A=50/B=110`,
    ]);
    const p = await cp.moveProgress(h);
    expect(p).toMatchObject({ state: 'done', bytesDone: 100 * GiB, bytesTotal: 100 * GiB, error: null });
  });

  test.each([
    ['an unknown volume', migrate('nope', B), 'VOLUME_NOT_FOUND'],
    ['an unknown pool', migrate('vol-001', 'ballast@cap#zz'), 'INVALID_HOST'],
    ['a malformed host', migrate('vol-001', 'not a host'), 'INVALID_HOST'],
    ['its own pool', migrate('vol-001', A), 'INVALID_HOST'],
    ['a pool without room', migrate('vol-001', 'ballast@cap#small'), 'NO_VALID_BACKEND'],
    ['a pool its type does not fit', migrate('vol-004', B), 'NO_VALID_BACKEND'],
    ['a volume with snapshots', migrate('vol-005', B), 'INVALID_VOLUME'],
    ['a volume in error', migrate('vol-006', B), 'INVALID_VOLUME'],
    ['a retype needing a move under policy never', { op: 'retype', volumeId: 'vol-001', newVolumeType: 'gold', migrationPolicy: 'never' } as const, 'RETYPE_NOT_ALLOWED'],
    ['a retype to an unknown type', { op: 'retype', volumeId: 'vol-001', newVolumeType: 'platinum', migrationPolicy: 'on-demand' } as const, 'VOLUME_TYPE_NOT_FOUND'],
  ])('refuses a move of %s, changing nothing', async (_name, req, code) => {
    const inv = inventory(
      [pool('cap', 'a', 1000), pool('cap', 'b', 1000), pool('cap', 'small', 50), pool('fast', 'f', 1000)],
      [volume(1, A, 100), volume(4, F, 10, { volumeType: 'gold', volumeTypeId: 'type-gold' }), volume(5, A, 10, { snapshotCount: 1 }), volume(6, A, 10, { status: 'error' })],
    );
    const clock = new SimClock(T0);
    const fleet = SimFleet.fromInventory(inv);
    const cp = new SimulatedControlPlane(fleet, clock, TIMING, { name: 't', seed: 1 });
    const before = JSON.stringify([fleet.listPools(), fleet.listVolumes()]);
    const err = await cp.startMove(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    expect(JSON.stringify([fleet.listPools(), fleet.listVolumes()])).toBe(before);
    expect(clock.pending).toBe(0);
  });

  test('a volume already moving is refused until its move ends', async () => {
    const { clock, cp } = setup();
    const h = await cp.startMove(migrate('vol-001', B));
    await expect(cp.startMove(migrate('vol-001', F))).rejects.toMatchObject({ code: 'INVALID_VOLUME' });
    await finish(clock, cp, h);
    await expect(cp.startMove(migrate('vol-001', F))).resolves.toMatchObject({ volumeId: 'vol-001' });
  });

  test('a retype on-demand goes where the scheduler would put it: a compatible pool with the most free space', async () => {
    const { clock, cp, fleet } = setup({}, [volume(1, A, 100)]);
    const h = await cp.startMove({ op: 'retype', volumeId: 'vol-001', newVolumeType: 'gold', migrationPolicy: 'on-demand' });
    await finish(clock, cp, h);
    expect(fleet.volumes.get('vol-001')).toMatchObject({ pool: F, volumeType: 'gold', volumeTypeId: 'type-gold' });
  });
});

describe('failures and cancel', () => {
  test('with probability 1 every move fails partway: the volume stays on its source, the reservation is released', async () => {
    const { clock, cp, fleet } = setup({ failureProbability: 1 });
    const h = await cp.startMove(migrate('vol-001', B));
    await finish(clock, cp, h);
    const p = await cp.moveProgress(h);
    expect(p.state).toBe('failed');
    expect(p.error).toMatchObject({ code: 'MIGRATION_FAILED', retryable: true });
    expect(p.bytesDone!).toBeLessThan(100 * GiB);
    expect(fleet.volumes.get('vol-001')).toMatchObject({ pool: A, migrationStatus: 'error', status: 'available' });
    expect([fleet.pool(A).allocatedGiB, fleet.pool(B).allocatedGiB]).toEqual([150, 10]);
  });

  test('per back-end failure probability overrides the global one', async () => {
    const { clock, cp } = setup({ failureProbability: 1, failureProbabilityByBackend: { 'ballast@fast': 0 } });
    const h = await cp.startMove(migrate('vol-001', F));
    await finish(clock, cp, h);
    expect((await cp.moveProgress(h)).state).toBe('done');
  });

  test('failures are drawn from the seed: the same seed gives the same outcomes, another seed others', async () => {
    const outcomes = async (seed: number): Promise<string> => {
      const vols = Array.from({ length: 24 }, (_, i) => volume(i + 1, A, 10));
      const { clock, cp } = setup({ failureProbability: 0.5 }, vols, seed);
      const hs = [];
      for (const v of vols) hs.push(await cp.startMove(migrate(v.id, B)));
      while (clock.fireNext());
      return (await Promise.all(hs.map((h) => cp.moveProgress(h)))).map((p) => (p.state === 'done' ? '.' : 'x')).join('');
    };
    const a = await outcomes(7);
    expect(await outcomes(7)).toBe(a);
    expect(a).toContain('x');
    expect(a).toContain('.');
    expect(await outcomes(8)).not.toBe(a);
  });

  test.each([
    ['while starting', 1_000, true],
    ['while copying', 100_000, true],
    ['while completing', 10_000 / 2 + 1024_000 + 1_000, false],
    ['after it ended', 2_000_000, false],
  ])('cancel %s', async (_name, atMs, cancelled) => {
    const { clock, cp, fleet } = setup();
    const h = await cp.startMove(migrate('vol-001', B, true));
    await clock.advanceTo(T0 + atMs);
    const r = await cp.cancelMove(h);
    expect(r.cancelled).toBe(cancelled);
    while (clock.fireNext());
    const v = fleet.volumes.get('vol-001')!;
    if (cancelled) {
      expect((await cp.moveProgress(h)).state).toBe('cancelled');
      expect(v).toMatchObject({ pool: A, migrationStatus: null, status: 'available' });
      expect(fleet.pool(B).allocatedGiB).toBe(10);
    } else {
      expect((await cp.moveProgress(h)).state).toBe('done');
      expect(v.pool).toBe(B);
    }
  });

  test('a pool that fails ends the moves touching it and puts its volumes in error', async () => {
    const { clock, cp, fleet } = setup();
    const h = await cp.startMove(migrate('vol-001', B));
    await clock.advanceTo(T0 + 60_000);
    const hit = cp.failPool(B);
    expect(hit.map((v) => v.id)).toEqual(['vol-003']);
    const p = await cp.moveProgress(h);
    expect(p.error?.code).toBe('DRIVER_ERROR');
    expect(fleet.volumes.get('vol-001')!.pool).toBe(A);
    await expect(cp.startMove(migrate('vol-002', B))).rejects.toMatchObject({ code: 'NO_VALID_BACKEND' });
    expect((await cp.listPools()).find((x) => x.name === B)!.state).toBe('down');
  });
});
