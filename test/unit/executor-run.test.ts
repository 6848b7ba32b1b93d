import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { AppError, MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, readBack, sameBytes, type Deployment } from '../integration/deployment.js';
import { every, FAST_A, FAST_B, HDD_A, harness, liveCounts, move, planOf, settings, type Harness } from '../integration/executor-fixtures.js';

// The executor on the real embedded control plane: real volumes, real data, real journal.
let d: Deployment;
let s: BlockService;
let h: Harness;

beforeEach(async () => {
  d = await makeDeployment();
  s = await d.open();
  h = harness(d, s);
});
afterEach(async () => {
  await h.close();
  await d.cleanup();
});

async function volumes(n: number, host: string, sizeGiB = 1, bytes = 2 * MiB) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const v = await s.createVolume({ sizeGiB, type: 'any', host, name: `v${i}` });
    out.push({ v, ...(await fillVolume(s, d.dir, v.id, bytes, 4096 * i)) });
  }
  return out;
}

describe('admission under limits', () => {
  test.each([
    { name: 'total 2', limits: { maxConcurrentTotal: 2 }, overlap: true },
    { name: 'one per destination pool', limits: { maxConcurrentPerDestPool: 1 }, overlap: true },
    { name: 'one per source pool', limits: { maxConcurrentPerSourcePool: 1 }, overlap: false },
    { name: 'two per back-end', limits: { maxConcurrentPerBackend: 2 }, overlap: true },
  ])('$name: never exceeded (sampled in the control plane during the run), every move done, data intact', async ({ limits, overlap }) => {
    const vols = await volumes(8, FAST_A);
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, i % 2 === 0 ? HDD_A : FAST_B)));
    const st = settings(limits);
    let max = { total: 0, src: 0, dst: 0, backend: 0, samples: 0 };
    const stop = every(2, () => {
      const c = liveCounts(s);
      max = {
        total: Math.max(max.total, c.total),
        src: Math.max(max.src, ...c.bySource.values(), 0),
        dst: Math.max(max.dst, ...c.byDest.values(), 0),
        backend: Math.max(max.backend, ...c.byBackend.values(), 0),
        samples: max.samples + 1,
      };
    });
    const summary = await h.start(plan, st).execute();
    stop();
    expect(summary.counts.done, JSON.stringify(summary)).toBe(8);
    expect(max.samples).toBeGreaterThan(5);
    expect(max.total).toBeLessThanOrEqual(st.limits.maxConcurrentTotal);
    if (overlap) expect(max.total, 'moves overlap: admission is concurrent').toBeGreaterThanOrEqual(2);
    expect(max.src).toBeLessThanOrEqual(st.limits.maxConcurrentPerSourcePool);
    expect(max.dst).toBeLessThanOrEqual(st.limits.maxConcurrentPerDestPool);
    expect(max.backend).toBeLessThanOrEqual(st.limits.maxConcurrentPerBackend);
    for (const [i, x] of vols.entries()) {
      expect(s.getVolume(x.v.id).host).toBe(i % 2 === 0 ? HDD_A : FAST_B);
      expect(sameBytes(await readBack(s, d.dir, x.v.id, x.offset, x.data.length), x.data)).toBe('identical');
    }
    expect(s.listVolumes(true)).toHaveLength(8);
  });
});

describe('progress events', () => {
  test('counts add up to the plan, bytes and rates are reported while copying, the last event shows everything done', async () => {
    // 24 MiB at 16 MiB/s: 1.5 s per copy, so the service's journal reports bytes a few times
    const vols = await volumes(2, FAST_A, 1, 24 * MiB);
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)));
    const summary = await h.start(plan, settings({ maxConcurrentTotal: 1, maxBandwidthBytesPerSec: 16 * MiB })).execute();
    expect(summary.counts.done).toBe(2);
    const progress = h.events.flatMap((e) => (e.kind === 'progress' ? [e.progress] : []));
    for (const p of progress) expect(Object.values(p.counts).reduce((a, b) => a + b, 0)).toBe(2);
    expect(progress.some((p) => p.active.some((a) => a.bytesDone > 0 && a.bytesDone < a.bytesTotal && a.rateBytesPerSec > 0 && a.etaMs !== null))).toBe(true);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ counts: expect.objectContaining({ done: 2 }), active: [] });
    expect(last.bytesDone).toBe(last.bytesTotal);
    const transitions = h.events.flatMap((e) => (e.kind === 'transition' && e.moveId === 'm001' ? [e.to] : []));
    expect(transitions).toEqual(['prechecking', 'running', 'verifying', 'done']);
  });
});

describe('dependency order and headroom', () => {
  test.each([
    { name: 'with dependsOn', dependsOn: ['m001'] },
    { name: 'without dependsOn (headroom alone holds it)', dependsOn: [] },
  ])('$name: the move into a full pool waits for the move out; the pool never passes its limit', async ({ dependsOn }) => {
    // ssd-b (20 GiB) holds a 10 GiB volume: 50%, its limit. Y (8 GiB) may come in only after X left.
    const x = await s.createVolume({ sizeGiB: 10, type: 'any', host: FAST_B, name: 'x' });
    const y = await s.createVolume({ sizeGiB: 8, type: 'any', host: FAST_A, name: 'y' });
    await fillVolume(s, d.dir, x.id, 8 * MiB, 0);
    const plan = planOf(
      [move('m001', x.id, FAST_B, HDD_A, { sizeGiB: 10 }), move('m002', y.id, FAST_A, FAST_B, { sizeGiB: 8, dependsOn })],
      { pools: [{ pool: FAST_B, capacityGiB: 20, usedBeforeGiB: 10, usedAfterGiB: 8, peakShare: 0.5, limitShare: 0.5 }] },
    );
    let peak = 0;
    const sample = async () => {
      const pools = await h.cp.listPools();
      const b = pools.find((p) => p.name === FAST_B)!;
      peak = Math.max(peak, b.capacity.provisionedCapacityGb / 20); // allocated + in-flight reservations
    };
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        await sample();
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const summary = await h.start(plan, settings({ maxConcurrentTotal: 4 })).execute();
    sampling = false;
    await loop;
    expect(summary.counts.done, JSON.stringify(summary)).toBe(2);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(0.5);
    const order = h.journal.transitions(summary.runId).filter((t) => t.to === 'running' || t.to === 'done').map((t) => `${t.moveId}:${t.to}`);
    expect(order).toEqual(['m001:running', 'm001:done', 'm002:running', 'm002:done']);
  });

  test('a move whose destination can never fit is skipped with the numbers, unrelated moves go on', async () => {
    const big = await s.createVolume({ sizeGiB: 15, type: 'any', host: FAST_A, name: 'big' });
    const small = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: 'small' });
    const plan = planOf([move('m001', big.id, FAST_A, FAST_B, { sizeGiB: 15 }), move('m002', small.id, FAST_A, HDD_A)], {
      pools: [{ pool: FAST_B, capacityGiB: 20, usedBeforeGiB: 0, usedAfterGiB: 15, peakShare: 0.75, limitShare: 0.6 }],
    });
    const summary = await h.start(plan, settings()).execute();
    expect(summary.counts).toMatchObject({ done: 1, skipped: 1 });
    expect(summary.skipped[0]!.reason).toMatch(/destination no longer fits: \[headroom\] pool ballast@fast#ssd-b: 75\.0% > 60\.0%/);
    expect(s.getVolume(big.id).host).toBe(FAST_A);
  });
});

describe('precheck against live state', () => {
  test.each([
    { name: 'already in place', act: async (id: string) => void (await s.migrateVolume(id, HDD_A)), want: /already in place/ },
    { name: 'got a snapshot', act: async (id: string) => void (await s.createSnapshot(id)), want: /got 1 snapshot/ },
    { name: 'got attached', act: async (id: string) => void (await s.attachVolume(id)), want: /got attached/ },
    { name: 'was extended', act: async (id: string) => void (await s.extendVolume(id, 2)), want: /size changed/ },
    { name: 'moved elsewhere', act: async (id: string) => void (await s.migrateVolume(id, FAST_B)), want: /moved since the plan: it is on ballast@fast#ssd-b/ },
    { name: 'deleted', act: async (id: string) => void (await s.deleteVolume(id)), want: /no longer exists/ },
  ])('$name → skipped with the reason, the others done', async ({ act, want }) => {
    const [a, b] = await volumes(2, FAST_A);
    await act(a!.v.id);
    const summary = await h.start(planOf([move('m001', a!.v.id, FAST_A, HDD_A), move('m002', b!.v.id, FAST_A, HDD_A)]), settings()).execute();
    expect(summary.counts).toMatchObject({ done: 1, skipped: 1, failed: 0 });
    expect(summary.skipped[0]).toMatchObject({ moveId: 'm001' });
    expect(summary.skipped[0]!.reason).toMatch(want);
    expect(s.getVolume(b!.v.id).host).toBe(HDD_A);
  });
});

describe('failures: retries by error code', () => {
  async function withFaults(codeFor: (attempt: number) => AppError | null) {
    await h.close();
    s.close();
    const attempts = new Map<string, number>();
    s = await d.open({
      faults: {
        at: (stage, info) => {
          if (stage !== 'create-dest') return;
          const vol = s.migration(info.migrationId)!.volumeId;
          if (vol !== target) return;
          const n = (attempts.get(vol) ?? 0) + 1;
          attempts.set(vol, n);
          const err = codeFor(n);
          if (err) throw err;
        },
      },
    });
    h = harness(d, s);
    return attempts;
  }
  let target = '';

  test.each([
    { name: 'retryable DRIVER_ERROR twice, then ok → done on attempt 3', fail: (n: number) => (n <= 2 ? new AppError('DRIVER_ERROR', 'flaky') : null), want: 'done', attempts: 3, code: null },
    { name: 'retryable IO_ERROR every time → failed after maxAttempts', fail: () => new AppError('IO_ERROR', 'disk'), want: 'failed', attempts: 3, code: 'IO_ERROR' },
    { name: 'not retryable DATA_TOO_LARGE → failed at once', fail: () => new AppError('DATA_TOO_LARGE', 'no'), want: 'failed', attempts: 1, code: 'DATA_TOO_LARGE' },
  ])('$name; the unrelated move is done', async ({ fail, want, attempts, code }) => {
    const [a, b] = await volumes(2, FAST_A);
    target = a!.v.id;
    const seen = await withFaults(fail);
    const summary = await h.start(planOf([move('m001', a!.v.id, FAST_A, HDD_A), move('m002', b!.v.id, FAST_A, HDD_A)]), settings({}, { maxAttempts: 3, breakerFailures: 0 })).execute();
    expect(seen.get(a!.v.id)).toBe(attempts);
    const rec = h.journal.load(summary.runId).moves.find((m) => m.move.id === 'm001')!;
    expect(rec).toMatchObject({ state: want, attempts, errorCode: code ?? rec.errorCode });
    if (code) expect(summary.failed[0]).toMatchObject({ moveId: 'm001', code, attempts });
    expect(s.getVolume(a!.v.id).host).toBe(want === 'done' ? HDD_A : FAST_A);
    expect(sameBytes(await readBack(s, d.dir, a!.v.id, a!.offset, a!.data.length), a!.data)).toBe('identical');
    expect(s.getVolume(b!.v.id).host).toBe(HDD_A);
  });

  test('the circuit breaker pauses dispatch after repeated failures, then lets moves go on', async () => {
    const vols = await volumes(4, FAST_A);
    target = vols[0]!.v.id;
    await withFaults(() => new AppError('DATA_TOO_LARGE', 'no'));
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)));
    const summary = await h.start(plan, settings({ maxConcurrentTotal: 1 }, { breakerFailures: 1, breakerCooldownMs: 300 })).execute();
    expect(summary.counts).toMatchObject({ done: 3, failed: 1 });
    const waits = h.events.filter((e) => e.kind === 'progress' && e.progress.waitingFor?.startsWith('circuit breaker open'));
    expect(waits.length).toBeGreaterThan(0);
    // nothing started while the breaker was open: the next move started >= cooldown after the failure
    const t = h.journal.transitions(summary.runId);
    const failedAt = t.find((x) => x.to === 'failed')!.atMs;
    const nextStart = t.find((x) => x.to === 'running' && x.moveId === 'm002')!.atMs;
    expect(nextStart - failedAt).toBeGreaterThanOrEqual(300);
  });
});

describe('retype moves', () => {
  test('a retype in place is done and verified; its handle reads back in another control plane (after a restart)', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: FAST_A, name: 'r' });
    const plan = planOf([move('m001', v.id, FAST_A, FAST_A, { kind: 'retype-in-place', newVolumeType: 'gold-plus' })]);
    const summary = await h.start(plan, settings()).execute();
    expect(summary.counts.done, JSON.stringify(summary)).toBe(1);
    expect(s.typeById(s.getVolume(v.id).volumeTypeId)!.name).toBe('gold-plus');
    const rec = h.journal.load(summary.runId).moves[0]!;
    const fresh = new EmbeddedControlPlane(s, { name: 'fresh' });
    expect(await fresh.moveProgress(rec.handle!)).toMatchObject({ state: 'done', detail: 'retyped in place' });
    expect(await fresh.cancelMove(rec.handle!)).toMatchObject({ cancelled: false });
  });

  test('a retype the policy does not allow to migrate fails at once with RETYPE_NOT_ALLOWED', async () => {
    const v = await s.createVolume({ sizeGiB: 1, type: 'gold', host: FAST_A, name: 'r' });
    const plan = planOf([move('m001', v.id, FAST_A, HDD_A, { kind: 'generic-copy', newVolumeType: 'standard' })]);
    const summary = await h.start(plan, settings({}, { retypeMigrationPolicy: 'never' })).execute();
    expect(summary.failed).toEqual([expect.objectContaining({ moveId: 'm001', code: 'RETYPE_NOT_ALLOWED', attempts: 1 })]);
    expect(s.getVolume(v.id)).toMatchObject({ host: FAST_A, status: 'available' });
  });
});

describe('no deadlock', () => {
  test('two moves that each wait for the other to make room are skipped with the reason, not waited on forever', async () => {
    const x = await s.createVolume({ sizeGiB: 10, type: 'any', host: FAST_B, name: 'x' });
    const y = await s.createVolume({ sizeGiB: 10, type: 'any', host: FAST_A, name: 'y' });
    const limit = (pool: string) => ({ pool, capacityGiB: 20, usedBeforeGiB: 10, usedAfterGiB: 10, peakShare: 0.5, limitShare: 0.5 });
    const plan = planOf([move('m001', x.id, FAST_B, FAST_A, { sizeGiB: 10 }), move('m002', y.id, FAST_A, FAST_B, { sizeGiB: 10 })], { pools: [limit(FAST_A), limit(FAST_B)] });
    const summary = await h.start(plan, settings()).execute();
    expect(summary.counts).toMatchObject({ skipped: 2, done: 0 });
    for (const sk of summary.skipped) expect(sk.reason).toMatch(/destination no longer fits: \[headroom\] .* \(only moves that wait for room themselves could free it\)/);
    expect(s.getVolume(x.id).host).toBe(FAST_B);
  });
});
