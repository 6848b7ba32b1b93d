/**
 * Types of the hypervisor side: where a volume's bytes come from, the recorded state of a storage
 * daemon (stored by callers in their database), and the live mirror's options and results.
 */

/**
 * Where QEMU reads and writes a volume.
 * - `file`: a raw image file (the `raw` driver), opened with O_DIRECT (`cache.direct=on`,
 *   `aio=native`).
 * - `nbd`: an NBD export on a unix socket (the `chunked` driver, served by Ballast's own NBD
 *   server), opened as an `nbd` node under a `raw` format node.
 */
export type BlockSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'nbd'; readonly socketPath: string; readonly exportName: string };

/** An in-flight (or interrupted) mirror, recorded before the job starts so a new process can finish it. */
export interface MirrorRecord {
  readonly jobId: string;
  /** Node the export served when the mirror started. */
  readonly sourceNode: string;
  /** Node being filled; the export serves it after the pivot. */
  readonly targetNode: string;
  readonly target: BlockSource;
  readonly startedAtMs: number;
}

/**
 * Everything known about one storage daemon, as plain JSON. Written to `<runDir>/<name>.json` (so
 * `StorageDaemon.find` can pick it up again) and returned by `describe()`.
 */
export interface StorageDaemonState {
  readonly version: 1;
  readonly name: string;
  /** Absolute directory of the daemon's sockets and files. */
  readonly runDir: string;
  /** PID of the qemu-storage-daemon process (0 before it started). */
  readonly pid: number;
  readonly qmpSocket: string;
  readonly nbdSocket: string;
  readonly pidFile: string;
  readonly stateFile: string;
  /** The daemon's stdout/stderr. */
  readonly logFile: string;
  /** Block export id in QEMU (always `exp0`). */
  readonly exportId: string;
  /** NBD export name consumers ask for. */
  readonly exportName: string;
  readonly writable: boolean;
  /** Consumer address: `nbd+unix:///<exportName>?socket=<nbdSocket>`. */
  readonly address: string;
  /** The node the export serves (outside a mirror; during one QEMU shows a filter node instead). */
  readonly activeNode: string;
  /** Format nodes this daemon opened, by node name (`vol-<generation>`). */
  readonly nodes: Readonly<Record<string, BlockSource>>;
  /** The mirror in progress, if any. */
  readonly mirror: MirrorRecord | null;
  readonly startedAtMs: number;
}

/** Progress of a live copy: bytes done (`offset`) of the job's current total (`len`, grows with writes). */
export interface MirrorProgress {
  readonly offset: number;
  readonly len: number;
}

/** Options of `StorageDaemon.mirrorTo` and `completeMirror`. */
export interface MirrorOptions {
  /**
   * Cap on the bulk copy, bytes per second; 0 or absent: no cap (consumer writes are mirrored
   * synchronously and are never capped). For `completeMirror` it replaces the running job's cap.
   */
  readonly speedBytesPerSec?: number;
  /** Abort before the pivot: the job is cancelled and the export keeps serving the source. */
  readonly signal?: AbortSignal;
  /** Called about every 200 ms while copying, and at READY. */
  onProgress?(p: MirrorProgress): void;
  /** QEMU job id (default `mirror-<generation>`). */
  readonly jobId?: string;
  /**
   * How long, after the first pass over the volume, the job may take to become READY (no dirty
   * block left) before the move fails as not converging: the consumer rewrites data faster than it
   * can be copied. Default 120 s.
   */
  readonly convergeTimeoutMs?: number;
  /** Lift the speed cap once the first pass is done (default true), so the catch-up converges. */
  readonly liftCapAfterFirstPass?: boolean;
}

/** Result of a live mirror that pivoted. */
export interface MirrorResult {
  /** The node the export serves now (the target). */
  readonly node: string;
  /** The node that was released after the pivot. */
  readonly sourceNode: string;
  readonly jobId: string;
  /** Bytes the job processed (its final `len`; > volume size when writes were re-copied). */
  readonly len: number;
  /** `Date.now()` at BLOCK_JOB_READY (0 when a recovering process did not see it). */
  readonly readyAtMs: number;
  /** `Date.now()` when `job-complete` was sent (0 when a previous process sent it). */
  readonly pivotStartedAtMs: number;
  /** `Date.now()` when BLOCK_JOB_COMPLETED arrived (or the pivot was found done). */
  readonly pivotedAtMs: number;
  /** job-complete → BLOCK_JOB_COMPLETED, ms (0 when unknown). */
  readonly pivotMs: number;
  /** False when the old source node could not be removed (it stays open; see `describe().nodes`). */
  readonly sourceReleased: boolean;
}

/** A block job as QEMU reports it (`query-jobs` + `query-block-jobs`). */
export interface MirrorJobInfo {
  readonly jobId: string;
  /** QEMU job type, e.g. `mirror`. */
  readonly type: string;
  /** QEMU job status: created, running, paused, ready, standby, waiting, pending, aborting, concluded, null. */
  readonly status: string;
  readonly ready: boolean;
  readonly offset: number;
  readonly len: number;
  /** Set when a concluded job failed. */
  readonly error: string | undefined;
  /** The recorded mirror this job belongs to, when known. */
  readonly mirror: MirrorRecord | undefined;
}

/** Outcome of `cancelMirror`. */
export interface CancelMirrorResult {
  /** True when the mirror was rolled back; false when the pivot had already happened and was finished instead. */
  readonly cancelled: boolean;
  /** The node the export serves now. */
  readonly activeNode: string;
}
