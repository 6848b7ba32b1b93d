/**
 * The control plane as the daemon's executor sees it: every call goes through, except that while
 * the daemon is stopping, the precheck read of a move that is about to start fails with the
 * retryable DAEMON_STOPPING. The executor then puts the move back to pending without counting an
 * attempt, so no new move starts, running ones finish, and the run is left resumable.
 *
 * @module
 */
import type { ControlPlane, FleetPool, FleetVolume, InventoryVolumeType, IoCounterSample, MoveHandle, MoveProgress, MoveRequest } from '../model/index.js';
import { AppError } from '../shared/index.js';

/** The switch the daemon flips when it stops, and the volumes whose moves are in their precheck. */
export interface StartGate {
  draining: boolean;
  readonly prechecking: Set<string>;
}

/** A ControlPlane that refuses prechecks while draining (see the module comment). */
export class GatedControlPlane implements ControlPlane {
  constructor(
    private readonly inner: ControlPlane,
    private readonly gate: StartGate,
  ) {}

  get kind(): ControlPlane['kind'] {
    return this.inner.kind;
  }

  get name(): string {
    return this.inner.name;
  }

  listPools(): Promise<FleetPool[]> {
    return this.inner.listPools();
  }

  listVolumes(): Promise<FleetVolume[]> {
    return this.inner.listVolumes();
  }

  listVolumeTypes(): Promise<InventoryVolumeType[]> {
    return this.inner.listVolumeTypes();
  }

  async getVolume(id: string): Promise<FleetVolume | null> {
    if (this.gate.draining && this.gate.prechecking.has(id)) {
      throw new AppError('DAEMON_STOPPING', 'the daemon is stopping: the move starts again when the run resumes');
    }
    return this.inner.getVolume(id);
  }

  ioCounters(): Promise<IoCounterSample | null> {
    return this.inner.ioCounters();
  }

  startMove(req: MoveRequest): Promise<MoveHandle> {
    return this.inner.startMove(req);
  }

  moveProgress(handle: MoveHandle): Promise<MoveProgress> {
    return this.inner.moveProgress(handle);
  }

  cancelMove(handle: MoveHandle): Promise<{ readonly cancelled: boolean; readonly reason: string }> {
    return this.inner.cancelMove(handle);
  }

  async setCopyBandwidth(bytesPerSec: number | null): Promise<void> {
    await this.inner.setCopyBandwidth?.(bytesPerSec);
  }

  /** The inner control plane is closed by whoever opened it. */
  async close(): Promise<void> {}
}
