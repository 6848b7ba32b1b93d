/**
 * One round of admission: which pending moves start now (their slots are taken at once, so each
 * choice counts for the next), which are skipped because their destination can never take them,
 * and what dispatch waits for. The executor runs the chosen moves and journals the skips.
 *
 * @module
 */
import type { Move, Plan } from '../model/index.js';
import { headroomBlocker, type SlotBook } from './admission.js';
import type { PoolCache } from './pool-cache.js';
import { TERMINAL } from './transitions.js';
import type { MoveRecord, RunSettings } from './types.js';

export interface Round {
  readonly start: MoveRecord[];
  readonly skip: [MoveRecord, string][];
  readonly waitingFor: string | null;
}

export class Dispatcher {
  constructor(
    private readonly plan: Plan,
    private readonly settings: RunSettings,
    private readonly slots: SlotBook,
    private readonly pools: PoolCache,
    private readonly byId: ReadonlyMap<string, MoveRecord>,
  ) {}

  /**
   * Chooses the moves to start now. `ends` counts the moves ended so far (pool numbers older than
   * the last end are re-read before a move is given up on); `launching` says whether starts are
   * still in progress (they may yet free or take room).
   */
  async round(moves: readonly MoveRecord[], nowMs: number, ends: number, launching: boolean): Promise<Round> {
    const start: MoveRecord[] = [];
    const skip: [MoveRecord, string][] = [];
    const noRoom: [MoveRecord, string][] = [];
    let waitingFor: string | null = null;
    for (const rec of moves) {
      if (rec.state !== 'pending' || rec.notBeforeMs > nowMs || this.slots.has(rec.move.id)) continue;
      const m = rec.move;
      if (m.dependsOn.some((d) => !TERMINAL.has(this.byId.get(d)?.state ?? 'done'))) continue;
      if (this.slots.limitBlocker(m, this.settings.limits) !== null) continue;
      await this.pools.refresh(nowMs, ends);
      if (this.pools.get(m.from)?.state === 'down') {
        waitingFor = `source pool ${m.from} is down`;
        continue;
      }
      let room = this.roomBlocker(m);
      if (room !== null && !this.roomMayFree(moves, m.to) && !this.pools.fresh(ends)) {
        // About to give up on it: decide on the pools as they are now, not as cached.
        await this.pools.refresh(nowMs, ends, true);
        room = this.roomBlocker(m);
      }
      if (room === null) {
        this.slots.add(m);
        start.push(rec);
      } else if (!this.roomMayFree(moves, m.to)) skip.push([rec, `destination no longer fits: ${room}`]);
      else noRoom.push([rec, room]);
    }
    // Nothing in flight and no retry due later: the moves waiting for room wait on each other
    // (a cycle of full pools); nothing will change, so they are skipped rather than waited on forever.
    const stuck = this.slots.size === 0 && !launching && !moves.some((r) => r.state === 'pending' && r.notBeforeMs > nowMs);
    if (stuck && noRoom.length > 0) {
      if (!this.pools.fresh(ends)) await this.pools.refresh(nowMs, ends, true); // decided next round, on fresh numbers
      else for (const [rec, room] of noRoom) skip.push([rec, `destination no longer fits: ${room} (only moves that wait for room themselves could free it)`]);
    }
    return { start, skip, waitingFor };
  }

  private roomBlocker(m: Move): string | null {
    return headroomBlocker(m, this.pools.get(m.to), {
      limitShare: this.plan.pools.find((p) => p.pool === m.to)?.limitShare ?? null,
      inFlightIntoGiB: this.slots.inFlightIntoGiB(m.to),
      startedSinceReadGiB: this.pools.startedSinceRead(m.to),
      emergencyShare: this.settings.emergencyShare,
      thin: this.pools.thin(m.newVolumeType),
    });
  }

  /** True while something in flight or pending could still free room on `pool`. */
  private roomMayFree(moves: readonly MoveRecord[], pool: string): boolean {
    return moves.some((r) => !TERMINAL.has(r.state) && (r.move.from === pool ? r.move.to !== pool : this.slots.has(r.move.id) && r.move.to === pool));
  }
}
