import { describe, expect, test } from 'vitest';
import {
  assertTransition,
  Breaker,
  canTransition,
  guardPlan,
  headroomBlocker,
  MOVE_STATES,
  nextOpening,
  outcomeOf,
  precheck,
  renderProgressLines,
  renderSummary,
  SlotBook,
  summarize,
  TERMINAL,
  TRANSITIONS,
  verifyMoved,
  windowOpen,
  type ExecutorLimits,
  type MoveRecord,
} from '../../src/executor/index.js';
import type { FleetPool, FleetVolume, Move } from '../../src/model/index.js';
import type { CompiledWindow } from '../../src/policy/index.js';
import { AppError } from '../../src/shared/index.js';
import { move, planOf } from '../integration/executor-fixtures.js';

const A = 'h@fast#a';
const B = 'h@fast#b';
const C = 'h@slow#c';

describe('transition table', () => {
  test('terminal states have no way out; every other state can end', () => {
    for (const s of MOVE_STATES) {
      if (TERMINAL.has(s)) expect(TRANSITIONS[s]).toEqual([]);
      else expect(TRANSITIONS[s].some((t) => TERMINAL.has(t))).toBe(true);
    }
  });
  test.each([
    { from: 'pending', to: 'running', ok: false },
    { from: 'pending', to: 'prechecking', ok: true },
    { from: 'running', to: 'done', ok: false },
    { from: 'running', to: 'verifying', ok: true },
    { from: 'verifying', to: 'done', ok: true },
    { from: 'done', to: 'pending', ok: false },
    { from: 'failed', to: 'pending', ok: false },
  ] as const)('$from → $to allowed: $ok', ({ from, to, ok }) => {
    expect(canTransition(from, to)).toBe(ok);
    if (!ok) expect(() => assertTransition('m001', from, to)).toThrow(/m001: transition/);
  });
});

// 2026-11-23 is a Monday.
const at = (iso: string) => Date.parse(iso);
const win = (over: Partial<CompiledWindow>): CompiledWindow => ({ days: ['mon'], startMinute: 60, endMinute: 300, timeZone: 'UTC', ...over });

describe('maintenance windows (time zones through Intl)', () => {
  test.each([
    { name: 'inside, UTC', w: win({}), t: '2026-11-23T02:00:00Z', open: true },
    { name: 'before start', w: win({}), t: '2026-11-23T00:59:00Z', open: false },
    { name: 'end is exclusive', w: win({}), t: '2026-11-23T05:00:00Z', open: false },
    { name: 'wrong day', w: win({}), t: '2026-11-24T02:00:00Z', open: false },
    { name: 'Paris 01:00-05:00 is 00:00-04:00 UTC in winter', w: win({ timeZone: 'Europe/Paris' }), t: '2026-11-23T00:30:00Z', open: true },
    { name: 'Paris in summer is UTC+2', w: win({ timeZone: 'Europe/Paris' }), t: '2026-07-19T23:30:00Z', open: true },
    { name: 'New York Monday 01:30 local is Monday 06:30 UTC', w: win({ timeZone: 'America/New_York' }), t: '2026-11-23T06:30:00Z', open: true },
    { name: 'overnight 22:00-02:00 after midnight belongs to the start day', w: win({ startMinute: 1320, endMinute: 120 }), t: '2026-11-24T01:00:00Z', open: true },
    { name: 'overnight window, not on the previous day', w: win({ startMinute: 1320, endMinute: 120 }), t: '2026-11-23T01:00:00Z', open: false },
    { name: 'whole day (end 24:00)', w: win({ startMinute: 0, endMinute: 1440 }), t: '2026-11-23T23:59:00Z', open: true },
  ])('$name → open: $open', ({ w, t, open }) => {
    expect(windowOpen(at(t), [w])).toBe(open);
  });
  test('no windows: always open; next opening of a closed window is minute-exact', () => {
    expect(windowOpen(0, [])).toBe(true);
    expect(nextOpening(at('2026-11-23T05:10:30Z'), [win({})])).toBe(at('2026-11-30T01:00:00Z'));
    expect(nextOpening(at('2026-11-23T00:10:30Z'), [win({ timeZone: 'Europe/Paris' })])).toBe(at('2026-11-23T00:10:30Z'));
  });
});

const LIMITS: ExecutorLimits = {
  maxConcurrentTotal: 3,
  maxConcurrentPerSourcePool: 2,
  maxConcurrentPerDestPool: 1,
  maxConcurrentPerBackend: 2,
  maxConcurrentInUse: 1,
  maxBytesInFlight: 3 * 1024 ** 3,
  maxBandwidthBytesPerSec: null,
};

describe('admission: every limit at once', () => {
  test.each([
    { name: 'free', running: [], next: move('m9', 'v9', A, C), want: null },
    { name: 'destination busy', running: [move('m1', 'v1', A, C)], next: move('m9', 'v9', B, C), want: /destination pool h@slow#c: 1\/1/ },
    { name: 'source busy', running: [move('m1', 'v1', A, B), move('m2', 'v2', A, C)], next: move('m9', 'v9', A, 'h@x#d'), want: /source pool h@fast#a: 2\/2/ },
    { name: 'back-end busy', running: [move('m1', 'v1', A, B), move('m2', 'v2', B, A)], next: move('m9', 'v9', A, C), want: /back-end h@fast: 2\/2/ },
    { name: 'in-use', running: [move('m1', 'v1', A, C, { attached: true, kind: 'live-copy' })], next: move('m9', 'v9', B, 'h@x#d', { attached: true, kind: 'live-copy' }), want: /in-use moves 1\/1/ },
    { name: 'bytes in flight', running: [move('m1', 'v1', A, C, { sizeGiB: 2 })], next: move('m9', 'v9', 'h@y#e', 'h@x#d', { sizeGiB: 2 }), want: /bytes in flight/ },
    { name: 'a big move alone may run', running: [], next: move('m9', 'v9', A, C, { sizeGiB: 10 }), want: null },
    {
      name: 'total',
      running: [move('m1', 'v1', 'h@p#1', 'h@q#1'), move('m2', 'v2', 'h@r#1', 'h@s#1'), move('m3', 'v3', 'h@t#1', 'h@u#1')],
      next: move('m9', 'v9', A, C),
      want: /total concurrency 3\/3/,
    },
  ])('$name', ({ running, next, want }) => {
    const book = new SlotBook();
    for (const m of running) book.add(m);
    const got = book.limitBlocker(next, LIMITS);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
    for (const m of running) book.remove(m.id);
    expect(book.snapshot()).toEqual({ total: 0, inUse: 0, bytes: 0, bySource: {}, byDest: {}, byBackend: {} });
  });
});

function pool(name: string, totalGiB: number, allocatedGiB: number, over: Partial<FleetPool> = {}): FleetPool {
  return {
    name,
    backend: name.split('#')[0]!,
    volumeBackendName: 'x',
    availabilityZone: 'nova',
    capacity: { totalCapacityGb: totalGiB, freeCapacityGb: totalGiB - allocatedGiB, provisionedCapacityGb: allocatedGiB, maxOverSubscriptionRatio: 1, reservedPercentage: 0, thinProvisioningSupport: true, thickProvisioningSupport: false },
    allocatedGiB,
    capabilities: {},
    ratedIops: null,
    ratedThroughputBytesPerSec: null,
    state: 'up',
    ...over,
  };
}

describe('headroom counting in-flight reservations', () => {
  const opts = { limitShare: 0.8, inFlightIntoGiB: 0, emergencyShare: 0.98, thin: true };
  test.each([
    { name: 'fits', p: pool(C, 100, 50), m: move('m1', 'v', A, C, { sizeGiB: 30 }), o: {}, want: null },
    { name: 'over the limit', p: pool(C, 100, 50), m: move('m1', 'v', A, C, { sizeGiB: 31 }), o: {}, want: /\[headroom\] pool h@slow#c: 81\.0% > 80\.0%/ },
    { name: 'in flight counts', p: pool(C, 100, 50), m: move('m1', 'v', A, C, { sizeGiB: 20 }), o: { inFlightIntoGiB: 11 }, want: /with 11 GiB in flight/ },
    { name: 'emergency share caps an absent limit', p: pool(C, 100, 90), m: move('m1', 'v', A, C, { sizeGiB: 9 }), o: { limitShare: null }, want: /> 98\.0%/ },
    { name: 'pool down', p: pool(C, 100, 0, { state: 'down' }), m: move('m1', 'v', A, C), o: {}, want: /is down/ },
    { name: 'retype in place takes no room', p: pool(A, 100, 100), m: move('m1', 'v', A, A, { kind: 'retype-in-place', newVolumeType: 't' }), o: {}, want: null },
  ])('$name', ({ p, m, o, want }) => {
    const got = headroomBlocker(m, p, { ...opts, ...o });
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });
  test('missing pool', () => expect(headroomBlocker(move('m1', 'v', A, C), undefined, opts)).toMatch(/does not exist/));
});

function vol(over: Partial<FleetVolume> = {}): FleetVolume {
  return {
    id: 'v',
    name: 'v',
    sizeGiB: 1,
    pool: A,
    volumeTypeId: 't1',
    volumeType: 'std',
    projectId: 'p',
    availabilityZone: 'nova',
    metadata: {},
    status: 'available',
    migrationStatus: null,
    attached: false,
    multiattach: false,
    snapshotCount: 0,
    groupId: null,
    replicated: false,
    ...over,
  };
}

describe('precheck and verify (live state, never the plan)', () => {
  const m: Move = move('m1', 'v', A, C);
  test.each([
    { name: 'runs', v: vol(), want: 'run' },
    { name: 'gone', v: null, want: /no longer exists/ },
    { name: 'in place', v: vol({ pool: C }), want: /already in place/ },
    { name: 'migrating', v: vol({ migrationStatus: 'migrating' }), want: /being moved by someone else/ },
    { name: 'moved', v: vol({ pool: B }), want: /moved since the plan/ },
    { name: 'status', v: vol({ status: 'error' }), want: /status is error/ },
    { name: 'extended', v: vol({ sizeGiB: 2 }), want: /size changed/ },
    { name: 'snapshot', v: vol({ snapshotCount: 2 }), want: /got 2 snapshots/ },
    { name: 'group', v: vol({ groupId: 'g' }), want: /group g/ },
    { name: 'replicated', v: vol({ replicated: true }), want: /replicated/ },
    { name: 'attached', v: vol({ attached: true, status: 'in-use' }), want: /got attached/ },
  ])('$name', ({ v, want }) => {
    const r = precheck(v, m);
    if (want === 'run') expect(r.kind).toBe('run');
    else expect(r.kind === 'skip' ? r.reason : 'ran').toMatch(want);
  });
  test.each([
    { name: 'on the destination, settled', v: vol({ pool: C, migrationStatus: 'success' }), mv: m, ok: true },
    { name: 'still on the source', v: vol({ migrationStatus: 'error' }), mv: m, ok: false },
    { name: 'still migrating', v: vol({ pool: C, migrationStatus: 'completing' }), mv: m, ok: false },
    { name: 'left in maintenance', v: vol({ pool: C, migrationStatus: 'success', status: 'maintenance' }), mv: m, ok: false },
    { name: 'retype in place: the type changed', v: vol({ volumeType: 'gold' }), mv: move('m1', 'v', A, A, { kind: 'retype-in-place', newVolumeType: 'gold' }), ok: true },
    { name: 'retype in place: type unchanged', v: vol(), mv: move('m1', 'v', A, A, { kind: 'retype-in-place', newVolumeType: 'gold' }), ok: false },
  ])('verify: $name → $ok', ({ v, mv, ok }) => {
    expect(verifyMoved(v, mv).ok).toBe(ok);
  });
});

describe('circuit breaker', () => {
  test('trips when N different moves failed within the window; retries of one move do not; closes after the cool-down or a success', () => {
    const b = new Breaker(3, 1000, 500);
    b.failure(0, 'm1');
    b.failure(50, 'm1');
    b.failure(100, 'm1');
    expect(b.openUntil(100)).toBeNull(); // one move retried three times
    b.failure(150, 'm2');
    b.failure(2000, 'm3'); // m1 and m2 are out of the window
    expect(b.openUntil(2000)).toBeNull();
    b.failure(2100, 'm4');
    b.failure(2200, 'm5');
    expect(b.openUntil(2200)).toBe(2700);
    expect(b.describe(2200)).toBe('3 moves failed within 1 s; dispatch resumes in 1 s');
    expect(b.openUntil(2700)).toBeNull();
    b.failure(3000, 'm6');
    b.success();
    expect(b.openUntil(3000)).toBeNull();
  });
});

describe('plan guard', () => {
  const pools = [pool(A, 10, 0), pool(C, 10, 0)];
  test.each([
    { name: 'ok', plan: planOf([move('m001', 'v', A, C)], { nowMs: 1000 }), now: 2000, force: false, want: null },
    { name: 'expired', plan: planOf([move('m001', 'v', A, C)], { nowMs: 1000, validMs: 10 }), now: 2000, force: false, want: 'PLAN_EXPIRED' },
    { name: 'expired but forced', plan: planOf([move('m001', 'v', A, C)], { nowMs: 1000, validMs: 10 }), now: 2000, force: true, want: null },
    { name: 'unknown pool', plan: planOf([move('m001', 'v', A, 'h@gone#x')], { nowMs: 1000 }), now: 2000, force: false, want: 'PLAN_INVALID' },
    { name: 'dangling dependency', plan: planOf([move('m001', 'v', A, C, { dependsOn: ['m002'] })], { nowMs: 1000 }), now: 2000, force: false, want: 'PLAN_INVALID' },
  ])('$name', ({ plan, now, force, want }) => {
    let code: string | null = null;
    try {
      guardPlan(plan, pools, now, { force });
    } catch (e) {
      code = e instanceof AppError ? e.code : 'not an AppError';
    }
    expect(code).toBe(want);
  });
});

test('plan guard notes pools whose allocation moved since the plan’s inventory', () => {
  const plan = planOf([move('m001', 'v', A, C)], { nowMs: 1000, pools: [{ pool: C, capacityGiB: 100, usedBeforeGiB: 10, usedAfterGiB: 11, peakShare: 0.11, limitShare: 0.8 }] });
  expect(guardPlan(plan, [pool(A, 100, 0), pool(C, 100, 13)], 2000)).toEqual([]);
  expect(guardPlan(plan, [pool(A, 100, 0), pool(C, 100, 40)], 2000)).toEqual([
    "pool h@slow#c: 40 GiB allocated now, 10 GiB in the plan's inventory inv-test: the fleet changed since; every move is re-checked before it starts",
  ]);
});

describe('summary', () => {
  test('says what was done, skipped, failed and cancelled, with reasons and codes', () => {
    const rec = (m: Move, state: MoveRecord['state'], reason: string | null, errorCode: string | null = null): MoveRecord => ({
      runId: 'r',
      move: m,
      state,
      attempts: state === 'failed' ? 3 : 1,
      handle: null,
      reason,
      errorCode,
      bytesDone: 10,
      bytesTotal: 10,
      notBeforeMs: 0,
      startedAtMs: 0,
      finishedAtMs: 0,
    });
    const moves = [
      rec(move('m001', 'a', A, C, { volumeName: 'a' }), 'done', null),
      rec(move('m002', 'b', A, C, { volumeName: 'b' }), 'skipped', 'already in place (h@slow#c)'),
      rec(move('m003', 'c', A, C, { volumeName: 'c' }), 'failed', 'failed after 3 attempts: disk', 'IO_ERROR'),
      rec(move('m004', 'd', A, C, { volumeName: 'd' }), 'cancelled', 'operator'),
    ];
    const s = summarize({ id: 'r', planId: 'p', createdAtMs: 0, state: 'finished', ownerPid: null, cancelRequested: false, updatedAtMs: 0, finishedAtMs: 0, note: null }, moves, 65_000);
    expect(renderSummary(s)).toBe(
      [
        'run r (plan p): finished',
        '  done 1, skipped 1, failed 1, cancelled 1, not ended 0; 10 B copied in 1m05s',
        '  skipped   m002 b: already in place (h@slow#c)',
        '  failed    m003 c [IO_ERROR] after 3 attempt(s): failed after 3 attempts: disk',
        '  cancelled m004 d: operator',
      ].join('\n'),
    );
    // A control plane without byte counts (Cinder): the done move is said so, not counted as 0 B silently.
    const cinder = { ...rec(move('m005', 'e', A, C, { volumeName: 'e' }), 'done', null), bytesDone: 0, bytesTotal: 0 };
    const s2 = summarize({ id: 'r', planId: 'p', createdAtMs: 0, state: 'finished', ownerPid: null, cancelRequested: false, updatedAtMs: 0, finishedAtMs: 0, note: null }, [moves[0]!, cinder], 65_000);
    expect(renderSummary(s2).split('\n')[1]).toBe('  done 2, skipped 0, failed 0, cancelled 0, not ended 0; 10 B copied (+ 1 moves whose control plane reports no byte counts) in 1m05s');
  });
});

describe('what an ended move means', () => {
  const p = (state: 'done' | 'failed' | 'cancelled', error: { code: string; message: string; retryable: boolean } | null = null) => ({ state, bytesDone: 0, bytesTotal: 0, detail: 'd', error });
  const ctx = { why: undefined, reattached: false, cancelling: false, cancelNote: null, moveTimeoutMs: 1000 };
  test.each([
    { name: 'done → verify', prog: p('done'), c: {}, want: { kind: 'verify' } },
    { name: 'retryable failure', prog: p('failed', { code: 'IO_ERROR', message: 'x', retryable: true }), c: {}, want: { kind: 'attempt-failed', code: 'IO_ERROR', retryable: true } },
    { name: 'final failure', prog: p('failed', { code: 'INVALID_VOLUME', message: 'x', retryable: false }), c: {}, want: { kind: 'attempt-failed', code: 'INVALID_VOLUME', retryable: false } },
    { name: 'stopped for a timeout', prog: p('cancelled'), c: { why: 'timeout' }, want: { kind: 'attempt-failed', code: 'MOVE_TIMEOUT', retryable: true } },
    { name: 'stopped at window close', prog: p('cancelled'), c: { why: 'requeue' }, want: { kind: 'requeue' } },
    { name: 'cancelled by the run', prog: p('cancelled'), c: { why: 'cancel', cancelNote: 'op' }, want: { kind: 'cancelled', reason: 'op' } },
    { name: 'rolled back after a restart', prog: p('failed', { code: 'X', message: 'x', retryable: false }), c: { reattached: true }, want: { kind: 'requeue' } },
    { name: 'cancelled by someone else', prog: p('cancelled'), c: {}, want: { kind: 'cancelled', reason: 'cancelled outside the executor (d)' } },
  ] as const)('$name', ({ prog, c, want }) => {
    expect(outcomeOf(prog, { ...ctx, ...c })).toMatchObject(want);
  });
});

describe('progress lines', () => {
  test('one line per active move and the run line, deterministic', () => {
    const counts = { pending: 2, prechecking: 0, running: 1, verifying: 0, done: 1, skipped: 0, failed: 0, cancelled: 0 };
    const lines = renderProgressLines({
      runId: 'r',
      counts,
      bytesDone: 3 * 1024 ** 2,
      bytesTotal: 8 * 1024 ** 2,
      rateBytesPerSec: 1024 ** 2,
      etaMs: 5000,
      active: [{ moveId: 'm002', volumeName: 'db', state: 'running', bytesDone: 1024 ** 2, bytesTotal: 4 * 1024 ** 2, rateBytesPerSec: 1024 ** 2, etaMs: 3000 }],
      waitingFor: null,
    });
    expect(lines).toEqual([
      'm002 db           running     [#####---------------]  25% 1.00 MiB/4.00 MiB 1.00 MiB/s ETA 3s',
      'run [########------------]  38% 3.00 MiB/8.00 MiB 1.00 MiB/s ETA 5s | done 1 skipped 0 failed 0 cancelled 0 running 1 pending 2',
    ]);
  });
});
