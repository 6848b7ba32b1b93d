import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { Executor, realTimers, RunJournal } from '../../src/executor/index.js';
import type { CompiledWindow } from '../../src/policy/index.js';
import { MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, objectsIn, readBack, sameBytes, SMALL_CONFIG, type Deployment } from './deployment.js';
import { FAST_A, HDD_A, harness, move, planOf, settings, type Harness } from './executor-fixtures.js';

// Windows closing mid-run (on an injected clock), cancel mid-copy, the shared bandwidth cap.
const THROTTLED = SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 16MiB/s }');

let d: Deployment;
let s: BlockService;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await d?.cleanup();
});

async function setup(config: string, n: number, bytes: number) {
  d = await makeDeployment(config);
  s = await d.open();
  h = harness(d, s);
  const vols = [];
  for (let i = 0; i < n; i++) {
    const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: `v${i}` });
    vols.push({ v, ...(await fillVolume(s, d.dir, v.id, bytes, 0)) });
  }
  return vols;
}

/** Every volume in exactly one place with its data, nothing half-done left in the control plane. */
async function expectConsistent(vols: Awaited<ReturnType<typeof setup>>) {
  expect(s.listVolumes(true).map((v) => v.id).sort()).toEqual(vols.map((x) => x.v.id).sort());
  expect(s.migrations(1000).filter((m) => m.finishedAtMs === null)).toEqual([]);
  expect(s.ctx.db.prepare('SELECT COUNT(*) AS n FROM reservations').get()).toEqual({ n: 0 });
  for (const x of vols) {
    const v = s.getVolume(x.v.id);
    expect(['available']).toContain(v.status);
    expect(sameBytes(await readBack(s, d.dir, x.v.id, x.offset, x.data.length), x.data)).toBe('identical');
  }
  const onHdd = vols.filter((x) => s.getVolume(x.v.id).host === HDD_A).length;
  expect((await objectsIn(d, 'capacity', 'hdd-a')).length).toBe(onHdd);
}

const WINDOW: CompiledWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], startMinute: 60, endMinute: 120, timeZone: 'Europe/Paris' };
// 2026-11-22 is a Sunday; Paris is UTC+1 in November: the window is 00:00–01:00 UTC.
const INSIDE = Date.UTC(2026, 10, 22, 0, 30);
const AFTER = Date.UTC(2026, 10, 22, 1, 0, 30);
const NEXT_DAY = Date.UTC(2026, 10, 23, 0, 5);

describe('maintenance windows (injected clock)', () => {
  test.each([
    { name: 'running moves finish when the window closes', finish: true },
    { name: 'running moves are stopped and requeued when the window closes', finish: false },
  ])('$name; nothing starts outside; resume in the next window finishes the plan', async ({ finish }) => {
    const vols = await setup(SMALL_CONFIG, 5, 3 * MiB);
    let now = INSIDE;
    const clock = { nowMs: () => now };
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)), { nowMs: INSIDE, validMs: 3 * 86_400_000 });
    // 2 copies of 3 MiB share 4 MiB/s: each runs ~1.5 s, so the window closes mid-copy.
    const st = settings({ maxConcurrentTotal: 2, maxBandwidthBytesPerSec: 4 * MiB }, { windows: [WINDOW], outsideWindow: 'stop', finishRunningAtWindowClose: finish });
    let closedAtStarts = -1;
    const ex = h.start(plan, st, {
      clock,
      onEvent: (e, x) => {
        if (e.kind === 'transition' && e.to === 'running' && x.moves.filter((m) => m.state === 'running').length === 2) {
          now = AFTER; // the window closes once two moves run
          closedAtStarts = x.moves.filter((m) => m.startedAtMs !== null).length;
        }
      },
    });
    const first = await ex.execute();
    expect(first.state).toBe('paused');
    expect(closedAtStarts).toBe(2);
    const started = h.journal.transitions(first.runId).filter((t) => t.to === 'running');
    expect(started.every((t) => t.atMs === INSIDE)).toBe(true);
    expect(first.counts.done).toBe(finish ? 2 : 0);
    expect(first.counts.pending).toBe(finish ? 3 : 5);
    if (!finish) expect(first.remaining).toHaveLength(5);
    await expectConsistent(vols);

    now = NEXT_DAY;
    const resumed = await Executor.resume({ controlPlane: h.cp, journal: h.journal, clock, timers: realTimers, pid: process.pid }, first.runId, () => false);
    const second = await resumed.execute();
    expect(second).toMatchObject({ state: 'finished', counts: expect.objectContaining({ done: 5 }) });
    // no move done twice: one successful migration per volume in the control plane's own journal
    const ok = s.migrations(1000).filter((m) => m.outcome === 'success');
    expect(ok.map((m) => m.volumeId).sort()).toEqual(vols.map((x) => x.v.id).sort());
    await expectConsistent(vols);
  });
});

describe('outside the windows, waiting (outsideWindow: wait)', () => {
  test('nothing starts until the window opens; then the run goes on by itself', async () => {
    const vols = await setup(SMALL_CONFIG, 2, 1 * MiB);
    let now = AFTER;
    const clock = { nowMs: () => now };
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)), { nowMs: AFTER, validMs: 3 * 86_400_000 });
    const ex = h.start(plan, settings({}, { windows: [WINDOW], outsideWindow: 'wait' }), { clock });
    const running = ex.execute();
    await new Promise((r) => setTimeout(r, 300));
    expect(ex.progress()).toMatchObject({ waitingFor: 'maintenance window closed', counts: expect.objectContaining({ pending: 2 }) });
    expect(h.journal.transitions(ex.run.id)).toEqual([]);
    now = NEXT_DAY;
    ex.wake();
    const summary = await running;
    expect(summary.counts.done).toBe(2);
    expect(h.journal.transitions(summary.runId).filter((t) => t.to === 'running').every((t) => t.atMs === NEXT_DAY)).toBe(true);
    await expectConsistent(vols);
  });
});

describe('cancel', () => {
  test.each([
    { name: 'in process (Executor.cancel)', via: 'api' as const },
    { name: 'from another process (journal request, as `ballast run cancel`)', via: 'journal' as const },
  ])('$name mid-copy: copies stop and roll back, the rest never start, everything consistent', async ({ via }) => {
    const vols = await setup(THROTTLED, 4, 24 * MiB);
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)));
    const other = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    let asked = false;
    const ex = h.start(plan, settings({ maxConcurrentTotal: 2 }), {
      onEvent: (e, x) => {
        if (!asked && e.kind === 'progress' && e.progress.active.some((a) => a.bytesDone >= 2 * MiB)) {
          asked = true;
          if (via === 'api') x.cancel('operator said stop');
          else other.requestCancel(x.run.id, Date.now());
        }
      },
    });
    const t0 = Date.now();
    const summary = await ex.execute();
    other.close();
    expect(asked).toBe(true);
    expect(summary.state).toBe('cancelled');
    expect(summary.counts).toMatchObject({ done: 0, cancelled: 4, pending: 0, running: 0 });
    // the copies really stopped mid-way (rolled back as cancelled), not finished and then undone
    const stopped = s.migrations(100).filter((m) => m.errorCode === 'CANCELLED');
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    for (const m of stopped) expect(m.bytesCopied).toBeLessThan(24 * MiB);
    expect(s.migrations(100).filter((m) => m.outcome === 'success')).toEqual([]);
    // copying all four (96 MiB at 16 MiB/s after a 16 MiB burst) would take 5 s
    expect(Date.now() - t0).toBeLessThan(4500);
    for (const x of vols) expect(s.getVolume(x.v.id)).toMatchObject({ host: FAST_A });
    await expectConsistent(vols);
    expect(h.journal.listRuns()[0]).toMatchObject({ id: summary.runId, state: 'cancelled' });
  });
});

describe('shared bandwidth cap', () => {
  test('the policy cap is handed to the control plane and shared by the running copies', async () => {
    const vols = await setup(SMALL_CONFIG, 3, 8 * MiB);
    const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, HDD_A)));
    const t0 = Date.now();
    const summary = await h.start(plan, settings({ maxConcurrentTotal: 3, maxBandwidthBytesPerSec: 16 * MiB })).execute();
    const elapsed = Date.now() - t0;
    expect(summary.counts.done).toBe(3);
    // 24 MiB through a 16 MiB/s bucket that starts with 1 s of burst: at least 0.5 s
    expect(elapsed).toBeGreaterThanOrEqual(500);
    await expectConsistent(vols);
  });
});
