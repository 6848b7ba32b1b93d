import { nameIdOf, parseHost, type Volume, type VolumeType } from '../model/index.js';
import { AppError, type Clock, type IdGenerator } from '../shared/index.js';
import type { BackendSpec, PoolSpec, VolumeDriver, VolumeLocator } from './driver-port.js';
import type { HypervisorSettings } from './attachments.js';
import type { FaultInjector } from './faults.js';
import { ProcessLock } from './locks.js';
import { MigrationJournal } from './migration-journal.js';
import { Repo } from './repo.js';
import type { PoolView } from './scheduler.js';
import type { Db } from './state-db.js';

/** Copy settings of the generic migration path. */
export interface CopySettings {
  readonly bufferBytes: number;
  /** Bytes per second shared by all copies of this process; 0 = unlimited. */
  readonly bpsLimit: number;
}

/** Everything the service's operations share. One per open service. */
export class ServiceContext {
  readonly repo: Repo;
  readonly journal: MigrationJournal;
  /** Migration locks this process holds from acceptance until the run ends (see ProcessLock). */
  readonly heldMigrationLocks = new Map<string, ProcessLock>();

  constructor(
    readonly db: Db,
    readonly backends: readonly BackendSpec[],
    readonly drivers: ReadonlyMap<string, VolumeDriver>,
    readonly clock: Clock,
    readonly ids: IdGenerator,
    readonly faults: FaultInjector,
    readonly locksDir: string,
    readonly copy: CopySettings,
    readonly projectId: string,
    /** The hypervisor side (QEMU) for attachments and live moves; null: attachments are records only. */
    readonly hypervisor: HypervisorSettings | null = null,
  ) {
    this.repo = new Repo(db);
    this.journal = new MigrationJournal(db);
  }

  /**
   * Takes the lock of a migration that is about to be accepted, so no recovery in another process
   * can mistake it for an interrupted one between its acceptance and its run.
   */
  lockNewMigration(id: string): void {
    const lock = ProcessLock.tryAcquire(this.locksDir, `migration-${id}`);
    if (!lock) throw new AppError('INTERNAL', `lock of new migration ${id} is taken`);
    this.heldMigrationLocks.set(id, lock);
  }

  /** Releases a migration lock this process holds (if any). */
  releaseMigrationLock(id: string): void {
    this.heldMigrationLocks.get(id)?.release(true);
    this.heldMigrationLocks.delete(id);
  }

  now(): number {
    return this.clock.nowMs();
  }

  /** The back-end of a `host@backend[#pool]` string, or INVALID_HOST naming it (Cinder's wording). */
  backendOf(host: string): BackendSpec {
    const h = parseHost(host);
    const b = this.backends.find((x) => x.host === h.host && x.name === h.backend);
    if (!b) {
      throw new AppError('INVALID_HOST', `No available service named '${h.host}@${h.backend}'`, {
        details: { host, backends: this.backends.map((x) => `${x.host}@${x.name}`) },
      });
    }
    return b;
  }

  /** The pool of a full `host@backend#pool` string, or INVALID_HOST listing the pools there. */
  poolOf(host: string): { backend: BackendSpec; pool: PoolSpec } {
    const backend = this.backendOf(host);
    const name = parseHost(host).pool;
    if (name === null) throw new AppError('INVALID_HOST', `host '${host}' names no pool (expected host@backend#pool)`);
    const pool = backend.pools.find((p) => p.name === name);
    if (!pool) {
      throw new AppError('INVALID_HOST', `No pool named '${name}' on back-end '${backend.host}@${backend.name}' (pools: ${backend.pools.map((p) => p.name).join(', ')})`, {
        details: { host },
      });
    }
    return { backend, pool };
  }

  driverOf(host: string): VolumeDriver {
    const b = this.backendOf(host);
    const d = this.drivers.get(b.name);
    if (!d) throw new AppError('INTERNAL', `no driver for back-end ${b.name}`);
    return d;
  }

  /** Where a volume row's back-end object lives. */
  locatorOf(v: Pick<Volume, 'id' | 'nameIdOverride' | 'host' | 'sizeGiB'>): VolumeLocator {
    const pool = parseHost(v.host).pool;
    if (pool === null) throw new AppError('INTERNAL', `volume ${v.id} has no pool in host ${v.host}`);
    return { nameId: nameIdOf(v), pool, sizeGiB: v.sizeGiB };
  }

  hostOfPool(backend: BackendSpec, pool: PoolSpec): string {
    return `${backend.host}@${backend.name}#${pool.name}`;
  }

  getType(id: string): VolumeType {
    return this.repo.getTypeById(id);
  }

  /** Pool views: driver stats (async, fetched first) combined with the DB's accounting. */
  async poolStats(): Promise<Map<string, { backend: BackendSpec; pool: PoolSpec; stats: PoolView['stats'] }>> {
    const out = new Map<string, { backend: BackendSpec; pool: PoolSpec; stats: PoolView['stats'] }>();
    for (const backend of this.backends) {
      const driver = this.drivers.get(backend.name)!;
      const stats = await driver.getPoolStats();
      for (const pool of backend.pools) {
        const s = stats.find((x) => x.pool_name === pool.name);
        if (!s) throw new AppError('DRIVER_ERROR', `driver of back-end ${backend.name} reported no stats for pool ${pool.name}`);
        out.set(this.hostOfPool(backend, pool), { backend, pool, stats: s });
      }
    }
    return out;
  }

  /** Combines fetched driver stats with allocation and reservations read now (call inside a tx). */
  poolViews(stats: Awaited<ReturnType<ServiceContext['poolStats']>>): PoolView[] {
    const allocated = new Map<string, number>();
    const rows = this.db
      .prepare(
        "SELECT host, SUM(size_gib) AS gib FROM volumes WHERE deleted = 0 AND (migration_status IS NULL OR migration_status NOT LIKE 'target:%') GROUP BY host",
      )
      .all() as { host: string; gib: number }[];
    for (const r of rows) allocated.set(r.host, r.gib);
    const reserved = this.journal.reservedByPool();
    return [...stats.entries()].map(([host, { backend, pool, stats: s }]) => ({
      host,
      backendName: backend.name,
      poolName: pool.name,
      driverName: backend.driver,
      availabilityZone: pool.availabilityZone,
      stats: s,
      allocatedGiB: allocated.get(host) ?? 0,
      reservedInFlightGiB: reserved.get(host) ?? 0,
    }));
  }
}
