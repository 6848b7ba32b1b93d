/**
 * The truthful end of a run: what was done, skipped (and why), failed (with the error code) and
 * cancelled, and what remains for a resume.
 *
 * @module
 */
import { MOVE_STATES, type MoveState } from './transitions.js';
import type { MoveRecord, RunRecord, RunSummary } from './types.js';

export function summarize(run: RunRecord, moves: readonly MoveRecord[], nowMs: number): RunSummary {
  const counts = Object.fromEntries(MOVE_STATES.map((s) => [s, 0])) as Record<MoveState, number>;
  for (const r of moves) counts[r.state]++;
  const vol = (r: MoveRecord) => r.move.volumeName || r.move.volumeId;
  const of = (s: MoveState) => moves.filter((r) => r.state === s);
  return {
    runId: run.id,
    planId: run.planId,
    state: run.state,
    note: run.note,
    counts,
    done: of('done').map((r) => ({ moveId: r.move.id, volume: vol(r), to: r.move.to, attempts: r.attempts })),
    skipped: of('skipped').map((r) => ({ moveId: r.move.id, volume: vol(r), reason: r.reason ?? 'skipped' })),
    failed: of('failed').map((r) => ({ moveId: r.move.id, volume: vol(r), code: r.errorCode ?? 'MIGRATION_FAILED', reason: r.reason ?? 'failed', attempts: r.attempts })),
    cancelled: of('cancelled').map((r) => ({ moveId: r.move.id, volume: vol(r), reason: r.reason ?? 'cancelled' })),
    remaining: moves.filter((r) => !['done', 'skipped', 'failed', 'cancelled'].includes(r.state)).map((r) => ({ moveId: r.move.id, volume: vol(r), state: r.state })),
    bytesMoved: of('done').reduce((n, r) => n + r.bytesDone, 0),
    doneWithoutByteCounts: of('done').filter((r) => r.bytesTotal === 0 && r.bytesDone === 0 && r.move.sizeGiB > 0).length,
    elapsedMs: nowMs - run.createdAtMs,
  };
}
