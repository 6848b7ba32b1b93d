/**
 * The embedded control plane: the port over Ballast's own block service, in this process. Moves
 * are accepted like Cinder's 202 and run in the background; their progress and outcome are read
 * back from the service's journal and the volume itself, never assumed.
 *
 * @module
 */
import type { BlockService, MigrationRecord } from '../blockstore/index.js';
import { poolCapacity, RateLimiter } from '../blockstore/index.js';
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
import { AppError, ERROR_CODES, isAppError, systemClock, toAppError, type Clock } from '../shared/index.js';

const PAST_NO_RETURN = new Set(['pivoted', 'completing', 'swapped', 'done']);
/** Handles of retypes done in place: `retype-in-place:<type>:<acceptedAtMs>` (no migration to look up). */
const IN_PLACE_PREFIX = 'retype-in-place:';

/** The retry bit of a failure: the cause's own bit when known, else the code's registered default. */
function retryableOf(code: string, err: AppError | null): boolean {
  const cause = err?.cause;
  if (isAppError(cause)) return cause.retryable;
  if (err && err.code === code) return err.retryable;
  return code in ERROR_CODES ? ERROR_CODES[code as keyof typeof ERROR_CODES].retryable : true;
}

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
  /** The run's promise (settles when the migration has ended, either way). */
  settled: Promise<void> | null;
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
  /** The executor's copy bandwidth cap, shared by the moves started from now on. */
  private limiter: RateLimiter | null = null;

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
    const run: Running = { controller: new AbortController(), done: false, error: null, migrationId: null, settled: null };
    let migration: MigrationRecord;
    if (req.op === 'migrate') {
      migration = await this.service.acceptMigration(req.volumeId, req.host, { forceHostCopy: req.forceHostCopy, lockVolume: req.lockVolume });
    } else {
      const r = await this.service.retype(req.volumeId, req.newVolumeType, req.migrationPolicy);
      if (r.kind === 'in-place') {
        // Nothing runs: the handle names the type, so its outcome can be read back from the volume
        // even by another process (after a restart).
        return { volumeId: req.volumeId, ref: `${IN_PLACE_PREFIX}${encodeURIComponent(req.newVolumeType)}:${acceptedAtMs}`, acceptedAtMs };
      }
      migration = r.migration;
    }
    run.migrationId = migration.id;
    this.running.set(migration.id, run);
    run.settled = this.service.runMigration(migration.id, { signal: run.controller.signal, ...(this.limiter ? { rateLimiter: this.limiter } : {}) }).then(
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
    if (handle.ref.startsWith(IN_PLACE_PREFIX)) return this.inPlaceProgress(handle);
    const run = this.running.get(handle.ref);
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
    // The journal holds the cause's code (DRIVER_ERROR, IO_ERROR, CANCELLED…); the run's error wraps it.
    const code = m.errorCode ?? run?.error?.code ?? 'MIGRATION_FAILED';
    const message = run?.error?.message ?? m.errorMessage ?? `migration ${m.id} ${m.outcome ?? 'ended'}`;
    if (code === 'CANCELLED' || run?.error?.code === 'CANCELLED') {
      return { state: 'cancelled', bytesDone: m.bytesCopied, bytesTotal: m.bytesTotal, detail: m.outcome ?? 'cancelled', error: null };
    }
    return {
      state: 'failed',
      bytesDone: m.bytesCopied,
      bytesTotal: m.bytesTotal,
      detail: m.outcome ?? 'error',
      error: { code, message, retryable: retryableOf(code, run?.error ?? null) },
    };
  }

  private async inPlaceProgress(handle: MoveHandle): Promise<MoveProgress> {
    const type = decodeURIComponent(handle.ref.slice(IN_PLACE_PREFIX.length).replace(/:\d+$/, ''));
    const v = await this.getVolume(handle.volumeId);
    if (v && v.volumeType === type) return { state: 'done', bytesDone: 0, bytesTotal: 0, detail: 'retyped in place', error: null };
    return {
      state: 'failed',
      bytesDone: 0,
      bytesTotal: 0,
      detail: 'retype in place not found on the volume',
      error: { code: 'MIGRATION_FAILED', message: `volume ${handle.volumeId} is ${v ? `of type ${v.volumeType}` : 'gone'}, not ${type}, after a retype in place`, retryable: false },
    };
  }

  async cancelMove(handle: MoveHandle): Promise<{ cancelled: boolean; reason: string }> {
    if (handle.ref.startsWith(IN_PLACE_PREFIX)) return { cancelled: false, reason: 'the retype was done in place when it was accepted' };
    const run = this.running.get(handle.ref);
    const m = this.service.migration(handle.ref);
    if (!m) return { cancelled: false, reason: `no migration ${handle.ref}` };
    if (m.finishedAtMs !== null) return { cancelled: false, reason: `the migration already ended (${m.outcome ?? 'unknown'})` };
    if (PAST_NO_RETURN.has(m.phase)) return { cancelled: false, reason: `the migration is ${m.phase}: past the point of no return; it finishes on its own` };
    if (run && !run.done) {
      run.controller.abort();
      return { cancelled: true, reason: 'cancel requested; the volume rolls back to its source' };
    }
    try {
      await this.service.cancelMigration(handle.volumeId);
    } catch (e) {
      if (!isAppError(e) || e.code !== 'INVALID_VOLUME') throw e;
      return { cancelled: false, reason: e.message };
    }
    return { cancelled: true, reason: 'the runner process was asked to stop and rolled back' };
  }

  async setCopyBandwidth(bytesPerSec: number | null): Promise<void> {
    const configured = this.service.ctx.copy.bpsLimit;
    const caps = [bytesPerSec ?? 0, configured].filter((n) => n > 0);
    // Without a cap of the executor's, the service's own configured limiter applies (runMigration's default).
    // A tenth of a second of burst: the cap holds over short spans too (as a blkio throttle does).
    const rate = Math.min(...caps);
    this.limiter = bytesPerSec !== null && bytesPerSec > 0 ? new RateLimiter({ bytesPerSecond: rate, burstBytes: rate / 10 }) : null;
  }

  /** Stops what this process still runs (they roll back) and waits for them to settle. */
  async close(): Promise<void> {
    const open = [...this.running.values()].filter((r) => !r.done);
    for (const r of open) r.controller.abort();
    await Promise.all(open.map((r) => r.settled));
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
