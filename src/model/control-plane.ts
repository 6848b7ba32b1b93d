/**
 * The control-plane port: what Ballast needs from a block service, whether its own embedded one,
 * an OpenStack Cinder through its REST API, or the simulator's. The type lives in the model so
 * that telemetry (which reads it), the executor (which moves through it) and the simulator (which
 * implements it) share it without depending on each other; the adapters live in `src/controlplane`
 * and `src/simulator`.
 *
 * @module
 */
import type { InventoryPool, InventoryVolume, InventoryVolumeType } from './inventory.js';

/** A pool as the control plane reports it (no telemetry aggregates, no prices). */
export type FleetPool = Omit<InventoryPool, 'perf' | 'costPerGiBMonth' | 'growthGiBPerDay' | 'sampledAtMs'>;

/** A volume as the control plane reports it (no telemetry aggregates). */
export type FleetVolume = Omit<InventoryVolume, 'perf'>;

/** Cumulative I/O counters of one pool or volume (they only grow, until the service restarts). */
export interface IoCounterSet {
  readonly readOps: number;
  readonly writeOps: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly readLatencyTotalMs: number;
  readonly writeLatencyTotalMs: number;
  /** Cumulative latency histogram: operations that took at most `le` ms. */
  readonly latencyBucketsMs: readonly { readonly le: number; readonly count: number }[];
}

/** I/O counters read at one moment. Volumes are keyed by volume id. */
export interface IoCounterSample {
  readonly atMs: number;
  readonly pools: Readonly<Record<string, IoCounterSet>>;
  readonly volumes: Readonly<Record<string, IoCounterSet>>;
}

/** A move asked of the control plane: a migration to a pool, or a retype (which may migrate). */
export type MoveRequest =
  | {
      readonly op: 'migrate';
      readonly volumeId: string;
      /** `host@backend#pool`. */
      readonly host: string;
      readonly forceHostCopy: boolean;
      readonly lockVolume: boolean;
    }
  | {
      readonly op: 'retype';
      readonly volumeId: string;
      readonly newVolumeType: string;
      readonly migrationPolicy: 'never' | 'on-demand';
    };

/** What the control plane returns when it accepts a move (Cinder's 202). */
export interface MoveHandle {
  readonly volumeId: string;
  /** The control plane's reference: a migration id for the embedded service, the volume id for Cinder. */
  readonly ref: string;
  readonly acceptedAtMs: number;
}

export interface MoveProgress {
  readonly state: 'running' | 'done' | 'failed' | 'cancelled';
  /** Bytes copied so far and in all; null when the control plane cannot tell (Cinder). */
  readonly bytesDone: number | null;
  readonly bytesTotal: number | null;
  /** The control plane's status words (`migration_status`, phase). */
  readonly detail: string;
  /** When failed: a stable error code and a clear message. */
  readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean } | null;
}

/** The read side: enough to build inventories and collect telemetry. */
export interface FleetReader {
  readonly kind: 'embedded' | 'cinder' | 'simulated';
  /** A human name: the state directory, the Cinder endpoint, the scenario. */
  readonly name: string;
  /** Sorted by name. */
  listPools(): Promise<FleetPool[]>;
  /** Sorted by id; never migration targets. */
  listVolumes(): Promise<FleetVolume[]>;
  listVolumeTypes(): Promise<InventoryVolumeType[]>;
  getVolume(id: string): Promise<FleetVolume | null>;
  /** Cumulative I/O counters, or null when this control plane does not measure I/O. */
  ioCounters(): Promise<IoCounterSample | null>;
}

/** The whole port: reading plus moving. */
export interface ControlPlane extends FleetReader {
  /** Asks for a move; resolves when it is accepted (or throws a typed error when refused). */
  startMove(req: MoveRequest): Promise<MoveHandle>;
  /** The move's state now. Never trusts an acceptance: reads the volume back. */
  moveProgress(handle: MoveHandle): Promise<MoveProgress>;
  /** Asks the move to stop; says whether it could (Cinder cannot cancel a running migration). */
  cancelMove(handle: MoveHandle): Promise<{ readonly cancelled: boolean; readonly reason: string }>;
  /**
   * Optional: caps the copy bandwidth (bytes/s) shared by the moves this control plane runs from
   * now on; null lifts the executor's cap (a configured cap of the control plane still applies).
   * Absent where the control plane cannot throttle (Cinder's cap is its own configuration).
   */
  setCopyBandwidth?(bytesPerSec: number | null): Promise<void>;
  close(): Promise<void>;
}
