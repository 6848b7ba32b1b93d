/**
 * The embedded control plane: the port over Ballast's own block service, in this process. Moves
 * are accepted like Cinder's 202 and run in the background; their progress and outcome are read
 * back from the service's journal and the volume itself, never assumed.
 *
 * @module
 */
import type { BlockService, MigrationRecord } from '../blockstore/index.js';
import { poolCapacity } from '../blockstore/index.js';
import {
  parseHost,
  type ControlPlane,
  type FleetPool,
  type FleetVolume,
  type InventoryVolumeType,
  type IoCounterSample,
  type MoveHandle,
  type MoveProgress,
  type MoveRequest,
  type Volume,
} from '../model/index.js';
import { AppError, isAppError, systemClock, toAppError, type Clock } from '../shared/index.js';

const PAST_NO_RETURN = new Set(['pivoted', 'completing', 'swapped', 'done']);

function numberCap(caps: Readonly<Record<string, unknown>>, key: string): number | null {
  const v = caps[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

interface Running {
  readonly controller: AbortController;
  done: boolean;
  error: AppError | null;
  migrationId: string | null;
  /** Set for a retype done in place (no migration). */
  inPlace: boolean;
}

export interface EmbeddedControlPlaneOptions {
  /** The state directory or config file, shown as the control plane's name. */
  readonly name: string;
  readonly clock?: Clock;
}

export class EmbeddedControlPlane implements ControlPlane {
  readonly kind = 'embedded' as const;
  readonly name: string;
  private readonly clock: Clock;
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly service: BlockService,
    opts: EmbeddedControlPlaneOptions,
  ) {
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
  }

  async listPools(): Promise<FleetPool[]> {
    const views = await this.service.listPools();
    return views
      .map((p): FleetPool => {
        const h = parseHost(p.host);
        return {
          name: p.host,
          backend: `${h.host}@${h.backend}`,
          volumeBackendName: String(p.stats.volume_backend_name),
          availabilityZone: p.availabilityZone,
          capacity: poolCapacity(p),
          allocatedGiB: p.allocatedGiB,
          capabilities: { ...p.stats },
          ratedIops: numberCap(p.stats, 'rated_iops'),
          ratedThroughputBytesPerSec: numberCap(p.stats, 'rated_throughput_bytes_per_sec'),
          state: 'up',
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async listVolumeTypes(): Promise<InventoryVolumeType[]> {
    return this.service
      .listTypes()
      .map((t) => ({ id: t.id, name: t.name, extraSpecs: { ...t.extraSpecs } }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async listVolumes(): Promise<FleetVolume[]> {
    const snaps = new Map<string, number>();
    for (const s of this.service.listSnapshots()) snaps.set(s.volumeId, (snaps.get(s.volumeId) ?? 0) + 1);
    return this.service
      .listVolumes(false)
      .map((v) => this.fleetVolume(v, snaps.get(v.id) ?? 0))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async getVolume(id: string): Promise<FleetVolume | null> {
    try {
      const v = this.service.getVolume(id);
      return this.fleetVolume(v, this.service.listSnapshots(id).length);
    } catch (e) {
      if (isAppError(e) && e.code === 'VOLUME_NOT_FOUND') return null;
      throw e;
    }
  }

  async ioCounters(): Promise<IoCounterSample> {
    const s = this.service.ioStats();
    return { atMs: this.clock.nowMs(), pools: s.pools, volumes: s.volumes };
  }

  async startMove(req: MoveRequest): Promise<MoveHandle> {
    const acceptedAtMs = this.clock.nowMs();
    const run: Running = { controller: new AbortController(), done: false, error: null, migrationId: null, inPlace: false };
    let migration: MigrationRecord;
    if (req.op === 'migrate') {
      migration = await this.service.acceptMigration(req.volumeId, req.host, { forceHostCopy: req.forceHostCopy, lockVolume: req.lockVolume });
    } else {
      const r = await this.service.retype(req.volumeId, req.newVolumeType, req.migrationPolicy);
      if (r.kind === 'in-place') {
        run.done = true;
        run.inPlace = true;
        const ref = `retype:${req.volumeId}:${acceptedAtMs}`;
        this.running.set(ref, run);
        return { volumeId: req.volumeId, ref, acceptedAtMs };
      }
      migration = r.migration;
    }
    run.migrationId = migration.id;
    this.running.set(migration.id, run);
    this.service.runMigration(migration.id, { signal: run.controller.signal }).then(
      () => {
        run.done = true;
      },
      (e: unknown) => {
        run.done = true;
        run.error = toAppError(e);
      },
    );
    return { volumeId: req.volumeId, ref: migration.id, acceptedAtMs };
  }

  async moveProgress(handle: MoveHandle): Promise<MoveProgress> {
    const run = this.running.get(handle.ref);
    if (run?.inPlace) return { state: 'done', bytesDone: 0, bytesTotal: 0, detail: 'retyped in place', error: null };
    const m = this.service.migration(handle.ref);
    if (!m) throw new AppError('INVALID_INPUT', `no migration ${handle.ref} for volume ${handle.volumeId}`);
    if (m.finishedAtMs === null || (run && !run.done)) {
      return { state: 'running', bytesDone: m.bytesCopied, bytesTotal: m.bytesTotal, detail: `${m.phase}${m.path ? ` (${m.path})` : ''}`, error: null };
    }
    if (m.outcome === 'success' || m.outcome === 'rolled-forward') {
      // Read the volume back: it must be on the destination, with no migration left running.
      const v = this.service.getVolume(m.volumeId);
      if (v.host !== m.destHost || v.migrationStatus !== 'success') {
        return {
          state: 'failed',
          bytesDone: m.bytesCopied,
          bytesTotal: m.bytesTotal,
          detail: `journal says ${m.outcome} but the volume is on ${v.host} with migration_status ${String(v.migrationStatus)}`,
          error: { code: 'MIGRATION_FAILED', message: `volume ${m.volumeId} is not on ${m.destHost} after a successful migration`, retryable: false },
        };
      }
      return { state: 'done', bytesDone: m.bytesCopied, bytesTotal: m.bytesTotal, detail: `${m.outcome} (${m.path ?? 'unknown path'})`, error: null };
    }
    const code = run?.error?.code ?? m.errorCode ?? 'MIGRATION_FAILED';
    const message = run?.error?.message ?? m.errorMessage ?? `migration ${m.id} ${m.outcome ?? 'ended'}`;
    if (code === 'CANCELLED') return { state: 'cancelled', bytesDone: m.bytesCopied, bytesTotal: m.bytesTotal, detail: m.outcome ?? 'cancelled', error: null };
    return {
      state: 'failed',
      bytesDone: m.bytesCopied,
      bytesTotal: m.bytesTotal,
      detail: m.outcome ?? 'error',
      error: { code, message, retryable: run?.error?.retryable ?? code === 'MIGRATION_FAILED' },
    };
  }

  async cancelMove(handle: MoveHandle): Promise<{ cancelled: boolean; reason: string }> {
    const run = this.running.get(handle.ref);
    if (run?.inPlace) return { cancelled: false, reason: 'the retype was done in place when it was accepted' };
    const m = this.service.migration(handle.ref);
    if (!m) return { cancelled: false, reason: `no migration ${handle.ref}` };
    if (m.finishedAtMs !== null) return { cancelled: false, reason: `the migration already ended (${m.outcome ?? 'unknown'})` };
    if (PAST_NO_RETURN.has(m.phase)) return { cancelled: false, reason: `the migration is ${m.phase}: past the point of no return; it finishes on its own` };
    if (run) {
      run.controller.abort();
      return { cancelled: true, reason: 'cancel requested; the volume rolls back to its source' };
    }
    await this.service.cancelMigration(handle.volumeId);
    return { cancelled: true, reason: 'the runner process was asked to stop and rolled back' };
  }

  async close(): Promise<void> {
    this.running.clear();
  }

  private fleetVolume(v: Volume, snapshotCount: number): FleetVolume {
    const type = this.service.typeById(v.volumeTypeId);
    const multiattach = /^<is>\s*true$/i.test(type?.extraSpecs['multiattach'] ?? '');
    return {
      id: v.id,
      name: v.name,
      sizeGiB: v.sizeGiB,
      pool: v.host,
      volumeTypeId: v.volumeTypeId,
      volumeType: type?.name ?? v.volumeTypeId,
      projectId: v.projectId,
      availabilityZone: v.availabilityZone,
      metadata: { ...v.metadata },
      status: v.status,
      migrationStatus: v.migrationStatus,
      attached: v.attachStatus === 'attached',
      multiattach,
      snapshotCount,
      groupId: v.groupId,
      replicated: ![null, 'disabled', 'not-capable'].includes(v.replicationStatus),
    };
  }
}
