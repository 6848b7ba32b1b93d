/**
 * The simulated control plane: the {@link ControlPlane} port over a {@link SimFleet}, with moves
 * that take time on a {@link SimClock} by a {@link TimingModel}, may fail (seeded), reserve their
 * destination while in flight, and go through Cinder's `migration_status` transitions
 * (starting → migrating → completing → success | error). A move can be cancelled until it starts
 * completing.
 *
 * @module
 */
import {
  type ControlPlane,
  type FleetPool,
  type FleetVolume,
  type InventoryVolumeType,
  type IoCounterSample,
  type MoveHandle,
  type MoveKind,
  type MoveProgress,
  type MoveRequest,
} from '../model/index.js';
import { AppError, GiB } from '../shared/index.js';
import type { SimClock, TimerId } from './clock.js';
import type { SimFleet, SimVolume } from './fleet.js';
import { admitMove } from './move-admission.js';
import { deriveSeed, mulberry32, type Random } from '../shared/index.js';
import { allocateBandwidth, flowResources, resourceCapacity, type TimingModel } from './timing.js';

/** A move's phase: Cinder's `migration_status` words, plus `cancelled`. */
export type SimMovePhase = 'starting' | 'migrating' | 'completing' | 'success' | 'error' | 'cancelled';

/** One move the simulated control plane accepted, as recorded for reports. */
export interface SimMoveRecord {
  readonly ref: string;
  readonly volumeId: string;
  readonly volumeName: string;
  readonly sizeGiB: number;
  readonly from: string;
  readonly to: string;
  readonly kind: MoveKind;
  readonly acceptedAtMs: number;
  /** When it reached success, error or cancelled; null while in flight. */
  readonly finishedAtMs: number | null;
  readonly phase: SimMovePhase;
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean } | null;
}

interface LiveMove {
  ref: string;
  volume: SimVolume;
  from: string;
  to: string;
  kind: MoveKind;
  newType: string | null;
  acceptedAtMs: number;
  finishedAtMs: number | null;
  phase: SimMovePhase;
  bytesTotal: number;
  bytesDone: number;
  /** Bytes at which it fails, or null. */
  failAtBytes: number | null;
  rate: number;
  resources: string[];
  timer: TimerId | null;
  prevStatus: SimVolume['status'];
  error: SimMoveRecord['error'];
}

/** Options of {@link SimulatedControlPlane}. */
export interface SimControlPlaneOptions {
  readonly name: string;
  /** Seed of the failure draws. */
  readonly seed: number;
  /** Called after every change of used capacity (a move accepted or ended), for exact peaks. */
  readonly onChange?: () => void;
}

const EPS_BYTES = 1;

/** The control-plane port on a simulated fleet and clock. */
export class SimulatedControlPlane implements ControlPlane {
  readonly kind = 'simulated' as const;
  readonly name: string;
  private readonly random: Random;
  private readonly moves = new Map<string, LiveMove>();
  private readonly order: string[] = [];
  private copying: LiveMove[] = [];
  private lastRecomputeMs: number;
  private nextDone: TimerId | null = null;
  private closed = false;
  private copyCap: number | null = null;
  private readonly onChange: () => void;

  constructor(
    readonly fleet: SimFleet,
    readonly clock: SimClock,
    readonly timing: TimingModel,
    opts: SimControlPlaneOptions,
  ) {
    this.name = opts.name;
    this.random = mulberry32(deriveSeed(opts.seed, 'move-failures'));
    this.lastRecomputeMs = clock.nowMs();
    this.onChange = opts.onChange ?? (() => undefined);
  }

  listPools(): Promise<FleetPool[]> {
    return Promise.resolve(this.fleet.listPools());
  }

  listVolumes(): Promise<FleetVolume[]> {
    return Promise.resolve(this.fleet.listVolumes());
  }

  listVolumeTypes(): Promise<InventoryVolumeType[]> {
    return Promise.resolve(this.fleet.listVolumeTypes());
  }

  getVolume(id: string): Promise<FleetVolume | null> {
    const v = this.fleet.volumes.get(id);
    return Promise.resolve(v ? this.fleet.toFleetVolume(v) : null);
  }

  ioCounters(): Promise<IoCounterSample | null> {
    return Promise.resolve(null);
  }

  startMove(req: MoveRequest): Promise<MoveHandle> {
    try {
      return Promise.resolve(this.accept(req));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  moveProgress(handle: MoveHandle): Promise<MoveProgress> {
    const m = this.moves.get(handle.ref);
    if (!m) return Promise.reject(new AppError('INVALID_INPUT', `no simulated move ${handle.ref}`));
    this.advanceBytes();
    const state = m.phase === 'success' ? 'done' : m.phase === 'error' ? 'failed' : m.phase === 'cancelled' ? 'cancelled' : 'running';
    return Promise.resolve({
      state,
      bytesDone: Math.round(m.bytesDone),
      bytesTotal: m.bytesTotal,
      detail: m.phase === 'cancelled' ? 'cancelled' : m.phase,
      error: m.error,
    });
  }

  cancelMove(handle: MoveHandle): Promise<{ readonly cancelled: boolean; readonly reason: string }> {
    const m = this.moves.get(handle.ref);
    if (!m) return Promise.resolve({ cancelled: false, reason: `no simulated move ${handle.ref}` });
    if (m.phase === 'completing') return Promise.resolve({ cancelled: false, reason: 'the move is completing: too late to cancel' });
    if (m.phase !== 'starting' && m.phase !== 'migrating') return Promise.resolve({ cancelled: false, reason: `the move already ended (${m.phase})` });
    this.end(m, 'cancelled', null);
    return Promise.resolve({ cancelled: true, reason: 'stopped; the volume stays on its source' });
  }

  /** The executor's cap on all copies together (a shared `total` resource); null lifts it. */
  setCopyBandwidth(bytesPerSec: number | null): Promise<void> {
    this.advanceBytes();
    this.copyCap = bytesPerSec !== null && bytesPerSec > 0 ? bytesPerSec : null;
    if (this.copying.length > 0) this.reschedule();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Every move accepted so far, in acceptance order. */
  moveLog(): SimMoveRecord[] {
    this.advanceBytes();
    return this.order.map((ref) => {
      const m = this.moves.get(ref)!;
      return {
        ref: m.ref,
        volumeId: m.volume.id,
        volumeName: m.volume.name,
        sizeGiB: m.volume.sizeGiB,
        from: m.from,
        to: m.to,
        kind: m.kind,
        acceptedAtMs: m.acceptedAtMs,
        finishedAtMs: m.finishedAtMs,
        phase: m.phase,
        bytesTotal: m.bytesTotal,
        bytesDone: Math.round(m.bytesDone),
        error: m.error,
      };
    });
  }

  /** Moves not yet ended. */
  inFlight(): number {
    let n = 0;
    for (const m of this.moves.values()) if (m.phase === 'starting' || m.phase === 'migrating' || m.phase === 'completing') n++;
    return n;
  }

  /**
   * Marks a pool down (a back-end failure): moves from or to it fail with DRIVER_ERROR, and its
   * volumes go to `error` (unreadable until the pool returns). Returns the volumes affected.
   */
  failPool(name: string): SimVolume[] {
    const p = this.fleet.pool(name);
    p.state = 'down';
    for (const m of [...this.moves.values()]) {
      if ((m.from === name || m.to === name) && isActive(m.phase)) {
        this.end(m, 'error', { code: 'DRIVER_ERROR', message: `pool ${name} went down during the move`, retryable: true });
      }
    }
    const hit = this.fleet.volumesOn(name);
    for (const v of hit) v.status = 'error';
    return hit;
  }

  // ------------------------------------------------------------------------------------------

  private accept(req: MoveRequest): MoveHandle {
    if (this.closed) throw new AppError('INVALID_INPUT', 'the simulated control plane is closed');
    const { volume: v, src, dest, newType, lock } = admitMove(this.fleet, req);
    const now = this.clock.nowMs();
    const ref = `sim-${String(this.order.length + 1).padStart(4, '0')}`;
    const kind: MoveKind = dest === src ? 'retype-in-place' : v.attached ? 'live-copy' : src.backend === dest.backend ? 'driver-assisted' : 'generic-copy';
    const bytesTotal = dest === src ? 0 : v.sizeGiB * GiB;
    const pFail = this.timing.failureProbabilityByBackend[dest.backend] ?? this.timing.failureProbabilityByBackend[src.backend] ?? this.timing.failureProbability;
    // Two draws for every move, failing or not, so one move's outcome never shifts the next one's.
    const d1 = this.random();
    const d2 = this.random();
    const m: LiveMove = {
      ref,
      volume: v,
      from: src.name,
      to: dest.name,
      kind,
      newType,
      acceptedAtMs: now,
      finishedAtMs: null,
      phase: 'starting',
      bytesTotal,
      bytesDone: 0,
      failAtBytes: d1 < pFail ? Math.floor(d2 * bytesTotal) : null,
      rate: 0,
      resources: [...flowResources(src.name, src.backend, dest.name, dest.backend, this.timing), 'total'],
      timer: null,
      prevStatus: v.status,
      error: null,
    };
    this.moves.set(ref, m);
    this.order.push(ref);
    v.migrationStatus = 'starting';
    if (lock && v.status === 'available') v.status = 'maintenance';
    if (dest !== src) dest.allocatedGiB += v.sizeGiB;
    m.timer = this.clock.setTimer(this.timing.moveOverheadMs / 2, () => this.beginCopy(m));
    this.onChange();
    return { volumeId: v.id, ref, acceptedAtMs: now };
  }

  private beginCopy(m: LiveMove): void {
    m.timer = null;
    if (m.phase !== 'starting') return;
    m.volume.migrationStatus = 'migrating';
    m.phase = 'migrating';
    if (m.bytesTotal === 0) {
      this.beginCompleting(m);
      return;
    }
    this.advanceBytes();
    this.copying.push(m);
    this.reschedule();
  }

  private beginCompleting(m: LiveMove): void {
    m.phase = 'completing';
    m.volume.migrationStatus = 'completing';
    m.timer = this.clock.setTimer(this.timing.moveOverheadMs / 2, () => {
      m.timer = null;
      if (m.phase === 'completing') this.end(m, 'success', null);
    });
  }

  /** Brings every copy's bytesDone up to now at its current rate. */
  private advanceBytes(): void {
    const now = this.clock.nowMs();
    const dt = (now - this.lastRecomputeMs) / 1000;
    if (dt > 0) for (const m of this.copying) m.bytesDone = Math.min(m.bytesTotal, m.bytesDone + m.rate * dt);
    this.lastRecomputeMs = now;
  }

  /** Recomputes rates and sets the one timer for the next copy to finish or fail. */
  private reschedule(): void {
    if (this.nextDone !== null) this.clock.clearTimer(this.nextDone);
    this.nextDone = null;
    const rates = allocateBandwidth(
      this.copying.map((m) => ({ id: m.ref, resources: m.resources })),
      (r) => resourceCapacity(r, this.timing, this.copyCap),
    );
    let soonest = Number.POSITIVE_INFINITY;
    for (const m of this.copying) {
      const gross = rates.get(m.ref) ?? 0;
      m.rate = m.kind === 'live-copy' ? gross - this.timing.liveWriteBytesPerSec : gross;
      const target = m.failAtBytes ?? m.bytesTotal;
      const left = Math.max(0, target - m.bytesDone);
      const ms = left <= EPS_BYTES ? 0 : m.rate > 0 ? (left / m.rate) * 1000 : Number.POSITIVE_INFINITY;
      soonest = Math.min(soonest, ms);
    }
    const stalled = this.copying.filter((m) => m.rate <= 0);
    if (stalled.length > 0) {
      // A live copy whose consumer writes faster than it can copy never converges: Cinder/Nova give up.
      for (const m of stalled) {
        const msg = `live copy cannot converge: the consumer writes ${this.timing.liveWriteBytesPerSec} B/s, the copy gets ${Math.round(m.rate + this.timing.liveWriteBytesPerSec)} B/s`;
        this.end(m, 'error', { code: 'MIGRATION_FAILED', message: msg, retryable: true }, false);
      }
      this.reschedule();
      return;
    }
    if (Number.isFinite(soonest)) this.nextDone = this.clock.setTimer(Math.ceil(soonest), () => this.onCopyEvent());
  }

  private onCopyEvent(): void {
    this.nextDone = null;
    this.advanceBytes();
    for (const m of [...this.copying]) {
      if (m.failAtBytes !== null && m.bytesDone >= m.failAtBytes - EPS_BYTES) {
        this.end(m, 'error', { code: 'MIGRATION_FAILED', message: `simulated failure after ${Math.round(m.failAtBytes / GiB)} GiB copied`, retryable: true }, false);
      } else if (m.bytesDone >= m.bytesTotal - EPS_BYTES) {
        m.bytesDone = m.bytesTotal;
        this.copying = this.copying.filter((c) => c !== m);
        this.beginCompleting(m);
      }
    }
    this.reschedule();
  }

  private end(m: LiveMove, phase: 'success' | 'error' | 'cancelled', error: SimMoveRecord['error'], reschedule = true): void {
    this.advanceBytes();
    if (m.timer !== null) this.clock.clearTimer(m.timer);
    m.timer = null;
    const wasCopying = this.copying.includes(m);
    this.copying = this.copying.filter((c) => c !== m);
    m.phase = phase;
    m.error = error;
    m.finishedAtMs = this.clock.nowMs();
    const v = m.volume;
    const src = this.fleet.pools.get(m.from);
    const dest = this.fleet.pools.get(m.to);
    if (phase === 'success') {
      if (m.from !== m.to) {
        if (src) src.allocatedGiB -= v.sizeGiB;
        v.pool = m.to;
        if (dest) v.availabilityZone = dest.availabilityZone;
      }
      if (m.newType !== null) {
        const t = this.fleet.types.get(m.newType)!;
        v.volumeType = t.name;
        v.volumeTypeId = t.id;
      }
      v.migrationStatus = 'success';
    } else {
      if (m.from !== m.to && dest) dest.allocatedGiB -= v.sizeGiB;
      v.migrationStatus = phase === 'error' ? 'error' : null;
    }
    if (v.status === 'maintenance') v.status = m.prevStatus;
    this.onChange();
    if (wasCopying && reschedule) this.reschedule();
  }
}

function isActive(p: SimMovePhase): boolean {
  return p === 'starting' || p === 'migrating' || p === 'completing';
}
