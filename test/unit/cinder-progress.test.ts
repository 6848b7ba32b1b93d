// The Cinder move poller as a state table: (operation, volume at acceptance, volume now, earlier
// polls, time) → running | done | failed, including the transient states real Cinder shows
// (realcinder/README.md): brief None after the host changed, an old success/error from the previous
// move, a 202 that does nothing, a type that pins another back-end.
import { describe, expect, test } from 'vitest';
import { assessMove, FRESH_MEMORY, hostMatches, type AcceptedMove, type PollContext, type PollMemory, type VolumeObservation } from '../../src/controlplane/index.js';
import { decodeMoveRef, encodeMoveRef } from '../../src/controlplane/index.js';

const A = 'rc@nfs-a#nfs-a';
const B = 'rc@nfs-b#nfs-b';
const obs = (status: string, ms: VolumeObservation['migrationStatus'], host: string, type = 'type-x', attached = false): VolumeObservation => ({
  status,
  migrationStatus: ms,
  host,
  volumeType: type,
  volumeTypeId: `${type}-id`,
  attached,
});
const migrate = (baseline: VolumeObservation, target = B): AcceptedMove => ({ op: 'migrate', volumeId: 'v1', target, migrationPolicy: null, baseline });
const retype = (baseline: VolumeObservation, policy: 'never' | 'on-demand', target = 'type-b'): AcceptedMove => ({ op: 'retype', volumeId: 'v1', target, migrationPolicy: policy, baseline });
const ctx = (elapsedMs: number, extra: Partial<PollContext> = {}): PollContext => ({
  acceptedAtMs: 1_000_000,
  nowMs: 1_000_000 + elapsedMs,
  startGraceMs: 60_000,
  settleMs: 30_000,
  pinnedBackend: null,
  targetBackendName: null,
  ...extra,
});
const mem = (m: Partial<PollMemory> = {}): PollMemory => ({ ...FRESH_MEMORY, ...m });

interface Row {
  readonly name: string;
  readonly move: AcceptedMove;
  readonly now: VolumeObservation | null;
  readonly memory?: PollMemory;
  readonly elapsedMs?: number;
  readonly ctx?: Partial<PollContext>;
  readonly state: 'running' | 'done' | 'failed';
  readonly code?: string;
  readonly text?: RegExp;
}

const fresh = obs('available', null, A);
const oldSuccess = obs('available', 'success', A);
const oldError = obs('available', 'error', A);

const rows: Row[] = [
  // migrate: the observed sequence available/starting → migrating → completing → None on B (brief) → success on B
  { name: 'migrate: starting', move: migrate(fresh), now: obs('available', 'starting', A), state: 'running' },
  { name: 'migrate: migrating', move: migrate(fresh), now: obs('available', 'migrating', A), state: 'running' },
  { name: 'migrate: completing', move: migrate(fresh), now: obs('available', 'completing', A), state: 'running' },
  { name: 'migrate: brief None on the destination is not done', move: migrate(fresh), now: obs('available', null, B), memory: mem({ seenActive: true }), state: 'running', text: /waiting for migration_status success/ },
  { name: 'migrate: success on the destination', move: migrate(fresh), now: obs('available', 'success', B), state: 'done' },
  { name: 'migrate: success on the destination, pool-less target', move: migrate(fresh, 'rc@nfs-b'), now: obs('available', 'success', B), state: 'done' },
  { name: 'migrate: lock_volume keeps maintenance until the end', move: migrate(fresh), now: obs('maintenance', 'success', B), state: 'running' },
  { name: 'migrate: None on destination for longer than settle → done', move: migrate(fresh), now: obs('available', null, B), memory: mem({ seenActive: true, settlingSinceMs: 1_000_000 }), elapsedMs: 31_000, state: 'done', text: /stayed None/ },
  // old success left from the previous move
  { name: 'migrate: old success, nothing yet, within grace', move: migrate(oldSuccess), now: oldSuccess, elapsedMs: 5_000, state: 'running', text: /waiting for Cinder to start/ },
  { name: 'migrate: old success, nothing after grace', move: migrate(oldSuccess), now: oldSuccess, elapsedMs: 61_000, state: 'failed', code: 'CINDER_MOVE_NOT_STARTED' },
  { name: 'migrate: success but on the source after it ran', move: migrate(oldSuccess), now: oldSuccess, memory: mem({ seenActive: true, seenMigrating: true }), state: 'failed', code: 'MIGRATION_FAILED', text: /but the volume is on rc@nfs-a/ },
  // errors
  { name: 'migrate: error after running', move: migrate(fresh), now: obs('available', 'error', A), state: 'failed', code: 'MIGRATION_FAILED' },
  { name: 'migrate: old error within grace is not yet a verdict', move: migrate(oldError), now: oldError, elapsedMs: 2_000, state: 'running' },
  { name: 'migrate: old error after grace', move: migrate(oldError), now: oldError, elapsedMs: 61_000, state: 'failed', code: 'MIGRATION_FAILED' },
  { name: 'migrate: error after running again from an old error', move: migrate(oldError), now: oldError, memory: mem({ seenActive: true, seenMigrating: true }), state: 'failed', code: 'MIGRATION_FAILED' },
  {
    name: 'migrate: pinned type → the reason and the way out',
    move: migrate(fresh),
    now: obs('available', 'error', A, 'type-a'),
    ctx: { pinnedBackend: 'nfs-a', targetBackendName: 'nfs-b' },
    state: 'failed',
    code: 'MIGRATION_FAILED',
    text: /type 'type-a' pins volume_backend_name=nfs-a and rc@nfs-b#nfs-b reports nfs-b.*retype/,
  },
  { name: 'migrate: attached volume → Nova hint', move: migrate(fresh), now: obs('in-use', 'error', A, 'type-x', true), state: 'failed', code: 'MIGRATION_FAILED', text: /attached.*Nova/ },
  { name: 'migrate: volume error status', move: migrate(fresh), now: obs('error', null, A), state: 'failed', code: 'MIGRATION_FAILED' },
  { name: 'migrate: reset to None on the source after running', move: migrate(fresh), now: fresh, memory: mem({ seenActive: true, seenMigrating: true }), state: 'failed', code: 'MIGRATION_FAILED', text: /went back to None/ },
  { name: 'migrate: volume gone', move: migrate(fresh), now: null, state: 'failed', code: 'VOLUME_NOT_FOUND' },
  // retype: retyping/None/A → retyping/starting → … → available/None/B type-b (brief) → available/success/B type-b
  { name: 'retype: retyping', move: retype(fresh, 'on-demand'), now: obs('retyping', null, A), state: 'running' },
  { name: 'retype: migrating', move: retype(fresh, 'on-demand'), now: obs('retyping', 'migrating', A), state: 'running' },
  { name: 'retype: brief None with the new type on B', move: retype(fresh, 'on-demand'), now: obs('available', null, B, 'type-b'), memory: mem({ seenActive: true }), state: 'running' },
  { name: 'retype: success with the new type on B', move: retype(fresh, 'on-demand'), now: obs('available', 'success', B, 'type-b'), state: 'done', text: /retyped and migrated/ },
  { name: 'retype: in place (same host, new type)', move: retype(fresh, 'never'), now: obs('available', null, A, 'type-b'), state: 'done', text: /in place/ },
  { name: 'retype: in place, old success kept', move: retype(oldSuccess, 'never'), now: obs('available', 'success', A, 'type-b'), state: 'done' },
  { name: 'retype: matched by type id', move: retype(fresh, 'never', 'type-b-id'), now: obs('available', null, A, 'type-b'), state: 'done' },
  // the 202 that does nothing (never across back-ends)
  { name: 'retype never: back to available, old type, after retyping', move: retype(fresh, 'never'), now: fresh, memory: mem({ seenActive: true }), state: 'failed', code: 'RETYPE_NOT_ALLOWED', text: /migration_policy never/ },
  { name: 'retype never: no sign within grace', move: retype(fresh, 'never'), now: fresh, elapsedMs: 10_000, state: 'running' },
  { name: 'retype never: no sign after grace', move: retype(fresh, 'never'), now: fresh, elapsedMs: 60_000, state: 'failed', code: 'RETYPE_NOT_ALLOWED' },
  { name: 'retype never: an old error is not the retype failing', move: retype(oldError, 'never'), now: oldError, memory: mem({ seenActive: true }), state: 'failed', code: 'RETYPE_NOT_ALLOWED' },
  { name: 'retype on-demand: migration error', move: retype(fresh, 'on-demand'), now: obs('available', 'error', A), memory: mem({ seenActive: true, seenMigrating: true }), state: 'failed', code: 'MIGRATION_FAILED' },
  { name: 'retype on-demand: ended without the new type', move: retype(fresh, 'on-demand'), now: fresh, memory: mem({ seenActive: true }), state: 'failed', code: 'MIGRATION_FAILED', text: /without changing the type/ },
  { name: 'retype on-demand: nothing after grace', move: retype(oldSuccess, 'on-demand'), now: oldSuccess, elapsedMs: 61_000, state: 'failed', code: 'CINDER_MOVE_NOT_STARTED' },
];

describe('assessMove state table', () => {
  test.each(rows)('$name', (r) => {
    const a = assessMove(r.move, r.now, r.memory ?? FRESH_MEMORY, ctx(r.elapsedMs ?? 1_000, r.ctx));
    expect(a.progress.state).toBe(r.state);
    expect(a.progress.bytesDone).toBeNull();
    expect(a.progress.error?.code).toBe(r.code);
    if (r.text) expect(`${a.progress.detail} ${a.progress.error?.message ?? ''}`).toMatch(r.text);
  });

  test('memory carries across polls: the observed retype sequence ends done, never early', () => {
    const move = retype(fresh, 'on-demand');
    const seq = [
      obs('retyping', null, A),
      obs('retyping', 'starting', A),
      obs('retyping', 'migrating', A),
      obs('retyping', 'completing', A),
      obs('available', null, B, 'type-b'),
      obs('available', 'success', B, 'type-b'),
    ];
    let memory = FRESH_MEMORY;
    const states = seq.map((o, i) => {
      const a = assessMove(move, o, memory, ctx(500 * (i + 1)));
      memory = a.memory;
      return a.progress.state;
    });
    expect(states).toEqual(['running', 'running', 'running', 'running', 'running', 'done']);
    expect(memory.seenMigrating).toBe(true);
  });
});

describe('hostMatches and move references', () => {
  test.each([
    [A, A, true],
    [A, B, false],
    [A, 'rc@nfs-a', true],
    [A, 'rc@nfs-a#other', false],
    [null, A, false],
  ] as const)('%s vs %s → %s', (host, target, want) => {
    expect(hostMatches(host, target)).toBe(want);
  });

  test('a reference round-trips, and a foreign one is refused', () => {
    const m = retype(oldSuccess, 'on-demand');
    expect(decodeMoveRef(encodeMoveRef(m), 'v1')).toEqual(m);
    expect(() => decodeMoveRef('mig-123', 'v1')).toThrow(/not a Cinder move/);
    expect(() => decodeMoveRef(encodeMoveRef(m), 'v2')).toThrow(/names volume v1/);
  });
});
