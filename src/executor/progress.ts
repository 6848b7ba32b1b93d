/**
 * Progress: bytes, rate and ETA per move and for the run, from the control plane's byte counts
 * sampled by the executor. Rates are smoothed (exponential moving average) so bars don't jitter.
 *
 * @module
 */
import { MOVE_STATES, TERMINAL, type MoveState } from './transitions.js';
import type { MoveProgressView, MoveRecord, RunProgress } from './types.js';

interface Sample {
  atMs: number;
  bytes: number;
  rate: number;
}

const ALPHA = 0.3;

export class ProgressTracker {
  private readonly samples = new Map<string, Sample>();
  private runSample: Sample | null = null;

  /** Records a move's bytes done at `atMs`; updates its smoothed rate. */
  observe(moveId: string, bytesDone: number, atMs: number): void {
    const s = this.samples.get(moveId);
    if (!s) {
      this.samples.set(moveId, { atMs, bytes: bytesDone, rate: 0 });
      return;
    }
    const dt = atMs - s.atMs;
    if (dt <= 0) return;
    const inst = Math.max(0, ((bytesDone - s.bytes) / dt) * 1000);
    s.rate = s.rate === 0 ? inst : ALPHA * inst + (1 - ALPHA) * s.rate;
    s.atMs = atMs;
    s.bytes = bytesDone;
  }

  forget(moveId: string): void {
    this.samples.delete(moveId);
  }

  /** The run's progress now. */
  view(runId: string, moves: readonly MoveRecord[], nowMs: number, waitingFor: string | null): RunProgress {
    const counts = Object.fromEntries(MOVE_STATES.map((s) => [s, 0])) as Record<MoveState, number>;
    let bytesDone = 0;
    let bytesTotal = 0;
    const active: MoveProgressView[] = [];
    for (const r of moves) {
      counts[r.state]++;
      if (r.state === 'skipped' || r.state === 'cancelled') continue;
      if (r.state === 'failed' && r.bytesDone === 0) continue;
      bytesTotal += r.bytesTotal;
      bytesDone += r.state === 'done' ? r.bytesTotal : Math.min(r.bytesDone, r.bytesTotal);
      if (!TERMINAL.has(r.state) && r.state !== 'pending') {
        const rate = this.samples.get(r.move.id)?.rate ?? 0;
        const left = Math.max(0, r.bytesTotal - r.bytesDone);
        active.push({
          moveId: r.move.id,
          volumeName: r.move.volumeName || r.move.volumeId,
          state: r.state,
          bytesDone: r.bytesDone,
          bytesTotal: r.bytesTotal,
          rateBytesPerSec: rate,
          etaMs: rate > 0 ? (left / rate) * 1000 : null,
        });
      }
    }
    const prev = this.runSample;
    let rate = prev?.rate ?? 0;
    if (!prev) this.runSample = { atMs: nowMs, bytes: bytesDone, rate: 0 };
    else if (nowMs > prev.atMs) {
      const inst = Math.max(0, ((bytesDone - prev.bytes) / (nowMs - prev.atMs)) * 1000);
      rate = prev.rate === 0 ? inst : ALPHA * inst + (1 - ALPHA) * prev.rate;
      this.runSample = { atMs: nowMs, bytes: bytesDone, rate };
    }
    const left = Math.max(0, bytesTotal - bytesDone);
    return { runId, counts, bytesDone, bytesTotal, rateBytesPerSec: rate, etaMs: left === 0 ? 0 : rate > 0 ? (left / rate) * 1000 : null, active, waitingFor };
  }
}
