/**
 * The executor's public shapes: limits, options, the record of each move, events and the summary.
 *
 * @module
 */
import type { MoveHandle, Move } from '../model/index.js';
import type { CompiledExecution, CompiledWindow } from '../policy/index.js';
import type { MoveState } from './transitions.js';

/** Every limit admission respects at once. `null` means unlimited. */
export interface ExecutorLimits {
  readonly maxConcurrentTotal: number;
  /** Moves running out of one pool at once. */
  readonly maxConcurrentPerSourcePool: number;
  /** Moves running into one pool at once. */
  readonly maxConcurrentPerDestPool: number;
  /** Moves touching one back-end (`host@backend`, as source or destination) at once. */
  readonly maxConcurrentPerBackend: number;
  /** Live copies (attached volumes) at once. */
  readonly maxConcurrentInUse: number;
  /** Sum of the sizes (bytes) of the moves in flight. */
  readonly maxBytesInFlight: number | null;
  /** Shared copy bandwidth, handed to the control plane (bytes/s). */
  readonly maxBandwidthBytesPerSec: number | null;
}

/** Limits from a compiled policy's `execution` section (per-pool applies to sources and destinations). */
export function limitsFromPolicy(e: CompiledExecution, extra: { readonly maxBytesInFlight?: number | null } = {}): ExecutorLimits {
  return {
    maxConcurrentTotal: e.maxConcurrentTotal,
    maxConcurrentPerSourcePool: e.maxConcurrentPerPool,
    maxConcurrentPerDestPool: e.maxConcurrentPerPool,
    maxConcurrentPerBackend: e.maxConcurrentPerBackend,
    maxConcurrentInUse: e.maxConcurrentInUse,
    maxBytesInFlight: extra.maxBytesInFlight ?? null,
    maxBandwidthBytesPerSec: e.maxBandwidthBytesPerSec,
  };
}

/** How a run behaves; everything but limits has a default. */
export interface RunSettings {
  readonly limits: ExecutorLimits;
  /** Maintenance windows; empty = always open. */
  readonly windows: readonly CompiledWindow[];
  /** Outside the windows: wait for the next one (daemon, CLI) or stop the run resumable (`paused`). */
  readonly outsideWindow: 'wait' | 'stop';
  /** When a window closes: running moves finish (true) or are cancelled and requeued (false). */
  readonly finishRunningAtWindowClose: boolean;
  /** Migration options passed to the control plane. */
  readonly forceHostCopy: boolean;
  readonly lockVolume: boolean;
  readonly retypeMigrationPolicy: 'never' | 'on-demand';
  /** A running move longer than this is cancelled and fails with MOVE_TIMEOUT. */
  readonly moveTimeoutMs: number;
  /** Attempts per move (first try included) for retryable errors. */
  readonly maxAttempts: number;
  /** Backoff before attempt n+1: base × 2^(n-1), capped. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Circuit breaker: this many failed attempts within `breakerWindowMs` pause dispatch. */
  readonly breakerFailures: number;
  readonly breakerWindowMs: number;
  /** How long the breaker stays open once tripped. */
  readonly breakerCooldownMs: number;
  /** A pool above this used share (0–1) is in emergency: no move into it starts. */
  readonly emergencyShare: number;
  /** How often running moves are polled. */
  readonly pollIntervalMs: number;
}

export const DEFAULT_SETTINGS: Omit<RunSettings, 'limits'> = {
  windows: [],
  outsideWindow: 'wait',
  finishRunningAtWindowClose: true,
  forceHostCopy: false,
  lockVolume: true,
  retypeMigrationPolicy: 'on-demand',
  moveTimeoutMs: 6 * 3600_000,
  maxAttempts: 3,
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
  breakerFailures: 5,
  breakerWindowMs: 10 * 60_000,
  breakerCooldownMs: 5 * 60_000,
  emergencyShare: 0.98,
  pollIntervalMs: 250,
};

/** One move of a run as the journal holds it. */
export interface MoveRecord {
  readonly runId: string;
  readonly move: Move;
  state: MoveState;
  /** Attempts started (the control plane was asked). */
  attempts: number;
  handle: MoveHandle | null;
  /** Why it was skipped, cancelled, requeued or failed, in words. */
  reason: string | null;
  errorCode: string | null;
  bytesDone: number;
  bytesTotal: number;
  /** Not before this time (retry backoff). */
  notBeforeMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
}

/** State of a whole run. */
export type RunState = 'running' | 'paused' | 'cancelling' | 'finished' | 'cancelled' | 'interrupted';

export interface RunRecord {
  readonly id: string;
  readonly planId: string;
  readonly createdAtMs: number;
  state: RunState;
  /** Pid of the process executing it (null when none). */
  ownerPid: number | null;
  cancelRequested: boolean;
  updatedAtMs: number;
  finishedAtMs: number | null;
  /** Why the run is paused or ended, in words. */
  note: string | null;
}

/** Progress of one move. */
export interface MoveProgressView {
  readonly moveId: string;
  readonly volumeName: string;
  readonly state: MoveState;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly rateBytesPerSec: number;
  readonly etaMs: number | null;
}

/** Progress of the run: counts by state, bytes, rate and ETA. */
export interface RunProgress {
  readonly runId: string;
  readonly counts: Readonly<Record<MoveState, number>>;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly rateBytesPerSec: number;
  readonly etaMs: number | null;
  readonly active: readonly MoveProgressView[];
  /** Why nothing is starting, when that is the case (window closed, breaker open, …). */
  readonly waitingFor: string | null;
}

/** What the executor tells listeners (CLI progress, API server-sent events, the daemon). */
export type ExecutorEvent =
  | { readonly kind: 'transition'; readonly atMs: number; readonly moveId: string; readonly from: MoveState; readonly to: MoveState; readonly reason: string | null }
  | { readonly kind: 'progress'; readonly atMs: number; readonly progress: RunProgress }
  | { readonly kind: 'run'; readonly atMs: number; readonly state: RunState; readonly note: string | null };

/** The truthful end of a run. */
export interface RunSummary {
  readonly runId: string;
  readonly planId: string;
  readonly state: RunState;
  readonly note: string | null;
  readonly counts: Readonly<Record<MoveState, number>>;
  readonly done: readonly { readonly moveId: string; readonly volume: string; readonly to: string; readonly attempts: number }[];
  readonly skipped: readonly { readonly moveId: string; readonly volume: string; readonly reason: string }[];
  readonly failed: readonly { readonly moveId: string; readonly volume: string; readonly code: string; readonly reason: string; readonly attempts: number }[];
  readonly cancelled: readonly { readonly moveId: string; readonly volume: string; readonly reason: string }[];
  /** Moves not ended (a paused or interrupted run): resumable. */
  readonly remaining: readonly { readonly moveId: string; readonly volume: string; readonly state: MoveState }[];
  readonly bytesMoved: number;
  /** Done moves the control plane reported no byte counts for (Cinder reports none): not in `bytesMoved`. */
  readonly doneWithoutByteCounts: number;
  readonly elapsedMs: number;
}
