/**
 * The state of a Cinder move, judged from one reading of the volume against the reading taken when
 * the move was accepted. Pure: a table of rules over (operation, what the volume looked like
 * before, what it looks like now, what was seen in earlier polls, time since acceptance).
 *
 * What it is robust to (real Cinder 21 behaviour, `realcinder/README.md`):
 * - a brief `migration_status` None after the host has changed, before `success`;
 * - an old `success` or `error` left from the previous move (compared with the baseline);
 * - a 202 that silently does nothing (retype with `never` across back-ends): "not started" after
 *   a grace period;
 * - a migrate that the scheduler refuses later because the volume's type pins another back-end.
 *
 * @module
 */
import type { MigrationStatus, MoveProgress } from '../../model/index.js';
import type { ErrorCode } from '../../shared/index.js';

/** The volume fields a move is judged on. */
export interface VolumeObservation {
  readonly status: string;
  readonly migrationStatus: MigrationStatus;
  /** `host@backend#pool`, null when unscheduled. */
  readonly host: string | null;
  readonly volumeType: string;
  readonly volumeTypeId: string | null;
  readonly attached: boolean;
}

/** A move as accepted: the operation, its target, and the volume just before it was sent. */
export interface AcceptedMove {
  readonly op: 'migrate' | 'retype';
  readonly volumeId: string;
  /** migrate: the destination `host@backend#pool` (or `host@backend`); retype: the new type, name or id. */
  readonly target: string;
  readonly migrationPolicy: 'never' | 'on-demand' | null;
  readonly baseline: VolumeObservation;
}

/** What earlier polls of this move saw (kept by the caller between polls). */
export interface PollMemory {
  /** A migration or retype was seen running (starting/migrating/completing, retyping). */
  readonly seenActive: boolean;
  /** A migration was seen running (`migration_status` starting/migrating/completing). */
  readonly seenMigrating: boolean;
  /** When the volume was first seen where it should end, still waiting for `success`. */
  readonly settlingSinceMs: number | null;
}

export const FRESH_MEMORY: PollMemory = { seenActive: false, seenMigrating: false, settlingSinceMs: null };

export interface PollContext {
  readonly acceptedAtMs: number;
  readonly nowMs: number;
  /** How long a move may show no sign of starting before it is called "not started". */
  readonly startGraceMs: number;
  /** How long a volume may sit at its destination without `success` before it is called done. */
  readonly settleMs: number;
  /** `volume_backend_name` the volume's type pins, if any (for a clear failure message). */
  readonly pinnedBackend: string | null;
  /** `volume_backend_name` of the destination pool, if known. */
  readonly targetBackendName: string | null;
}

export interface Assessment {
  readonly progress: MoveProgress;
  readonly memory: PollMemory;
}

const ACTIVE = new Set<MigrationStatus>(['starting', 'migrating', 'completing']);
const BUSY_STATUS = new Set(['retyping', 'maintenance', 'creating', 'attaching', 'detaching']);

/** Whether `host` is where a migration to `target` should end (pool-exact, or back-end level when the target names no pool). */
export function hostMatches(host: string | null, target: string): boolean {
  if (host === null) return false;
  if (target.includes('#')) return host === target;
  const i = host.indexOf('#');
  return (i >= 0 ? host.slice(0, i) : host) === target;
}

function words(o: VolumeObservation): string {
  return `${o.status}/${o.migrationStatus ?? 'None'}/${o.host ?? 'no host'}`;
}

function running(detail: string, memory: PollMemory): Assessment {
  return { progress: { state: 'running', bytesDone: null, bytesTotal: null, detail, error: null }, memory };
}

function done(detail: string, memory: PollMemory): Assessment {
  return { progress: { state: 'done', bytesDone: null, bytesTotal: null, detail, error: null }, memory };
}

function failed(detail: string, code: ErrorCode, message: string, retryable: boolean, memory: PollMemory): Assessment {
  return { progress: { state: 'failed', bytesDone: null, bytesTotal: null, detail, error: { code, message, retryable } }, memory };
}

function hints(move: AcceptedMove, now: VolumeObservation, ctx: PollContext): string {
  const out: string[] = [];
  if (move.op === 'migrate' && ctx.pinnedBackend !== null && ctx.targetBackendName !== null && ctx.pinnedBackend !== ctx.targetBackendName) {
    out.push(
      `the volume's type '${now.volumeType}' pins volume_backend_name=${ctx.pinnedBackend} and ${move.target} reports ${ctx.targetBackendName}, so Cinder's scheduler refuses it: move it with a retype to a type for ${ctx.targetBackendName}`,
    );
  }
  if (now.attached) out.push('the volume is attached: Cinder moves in-use volumes only through Nova (swap volume, libvirt); see the cinder-volume log');
  if (out.length === 0) out.push("see the cinder-scheduler and cinder-volume logs for Cinder's reason");
  return out.join('; ');
}

/**
 * Judges a move from one reading. `now` is null when the volume is gone. Returns the progress and
 * the memory to pass to the next poll.
 */
export function assessMove(move: AcceptedMove, now: VolumeObservation | null, memory: PollMemory, ctx: PollContext): Assessment {
  const what = move.op === 'migrate' ? `migration of volume ${move.volumeId} to ${move.target}` : `retype of volume ${move.volumeId} to type ${move.target}`;
  if (now === null) return failed('volume not found', 'VOLUME_NOT_FOUND', `volume ${move.volumeId} no longer exists in Cinder (${what})`, false, memory);
  const elapsed = ctx.nowMs - ctx.acceptedAtMs;
  const base = move.baseline;
  const msChanged = now.migrationStatus !== base.migrationStatus;
  if (ACTIVE.has(now.migrationStatus) || now.status === 'retyping') {
    const migrating = ACTIVE.has(now.migrationStatus);
    return running(`${words(now)}: ${migrating ? `migration_status ${String(now.migrationStatus)}` : 'retyping'}`, {
      ...memory,
      seenActive: true,
      seenMigrating: memory.seenMigrating || migrating,
    });
  }
  if (now.status === 'error') return failed(words(now), 'MIGRATION_FAILED', `the ${what} left the volume in status error; ${hints(move, now, ctx)}`, false, memory);
  const notStarted = (why: string, code: ErrorCode): Assessment =>
    elapsed < ctx.startGraceMs
      ? running(`${words(now)}: waiting for Cinder to start (${Math.round(elapsed / 1000)} s since it answered 202)`, memory)
      : failed(words(now), code, `Cinder accepted the ${what} (202) but nothing happened within ${Math.round(ctx.startGraceMs / 1000)} s: ${why}`, code !== 'RETYPE_NOT_ALLOWED', memory);
  const settle = (where: string): Assessment => {
    const since = memory.settlingSinceMs ?? ctx.nowMs;
    const next = { ...memory, seenActive: true, settlingSinceMs: since };
    if (ctx.nowMs - since >= ctx.settleMs) return done(`${words(now)}: ${where}; migration_status stayed ${String(now.migrationStatus ?? 'None')} for ${Math.round((ctx.nowMs - since) / 1000)} s`, next);
    return running(`${words(now)}: ${where}, waiting for migration_status success`, next);
  };

  if (move.op === 'migrate') {
    if (hostMatches(now.host, move.target)) {
      if (BUSY_STATUS.has(now.status)) return running(`${words(now)}: on the destination, status ${now.status}`, { ...memory, seenActive: true });
      if (now.migrationStatus === 'success') return done(`${words(now)}: migrated`, memory);
      if (now.migrationStatus === 'deleting') return done(`${words(now)}: migrated; Cinder has not yet deleted the old copy (migration_status deleting)`, memory);
      return settle('on the destination');
    }
    if (now.migrationStatus === 'error' && (msChanged || memory.seenActive)) {
      return failed(words(now), 'MIGRATION_FAILED', `the ${what} ended with migration_status error; the volume stays on ${now.host ?? '?'}; ${hints(move, now, ctx)}`, true, memory);
    }
    if (now.migrationStatus === 'success' && memory.seenActive) {
      return failed(words(now), 'MIGRATION_FAILED', `Cinder reports migration_status success for the ${what}, but the volume is on ${now.host ?? '?'}`, false, memory);
    }
    if (now.migrationStatus === null && memory.seenActive) {
      return failed(words(now), 'MIGRATION_FAILED', `migration_status went back to None during the ${what}, with the volume still on ${now.host ?? '?'} (reset by an operator?)`, false, memory);
    }
    return notStarted(`migration_status is ${String(now.migrationStatus ?? 'None')} as before the move and the volume is still on ${now.host ?? '?'}; ${hints(move, now, ctx)}`, now.migrationStatus === 'error' ? 'MIGRATION_FAILED' : 'CINDER_MOVE_NOT_STARTED');
  }

  // retype
  const typeOk = now.volumeType === move.target || now.volumeTypeId === move.target;
  if (typeOk) {
    if (BUSY_STATUS.has(now.status)) return running(`${words(now)}: type changed, status ${now.status}`, { ...memory, seenActive: true });
    if (now.migrationStatus === 'error' && msChanged) {
      return failed(words(now), 'MIGRATION_FAILED', `the ${what} changed the type but ended with migration_status error; ${hints(move, now, ctx)}`, false, memory);
    }
    const moved = now.host !== base.host;
    if (!moved) return done(`${words(now)}: retyped in place`, memory);
    if (now.migrationStatus === 'success' || now.migrationStatus === 'deleting') return done(`${words(now)}: retyped and migrated from ${base.host ?? '?'}`, memory);
    return settle('retyped and on a new pool');
  }
  if (now.migrationStatus === 'error' && (msChanged || memory.seenMigrating)) {
    return failed(words(now), 'MIGRATION_FAILED', `the migration behind the ${what} failed; the volume keeps type ${now.volumeType} on ${now.host ?? '?'}; ${hints(move, now, ctx)}`, true, memory);
  }
  const neverWhy =
    'with migration_policy never, Cinder drops a retype that needs another back-end without an error (the type and host stay as they were): use on-demand';
  if (memory.seenActive) {
    return move.migrationPolicy === 'never'
      ? failed(words(now), 'RETYPE_NOT_ALLOWED', `Cinder ended the ${what} without changing the type: ${neverWhy}`, false, memory)
      : failed(words(now), 'MIGRATION_FAILED', `Cinder ended the ${what} without changing the type (no pool accepts the new type, or the driver refused); ${hints(move, now, ctx)}`, true, memory);
  }
  return move.migrationPolicy === 'never'
    ? notStarted(neverWhy, 'RETYPE_NOT_ALLOWED')
    : notStarted(`the volume keeps type ${now.volumeType} on ${now.host ?? '?'} with migration_status ${String(now.migrationStatus ?? 'None')} as before`, 'CINDER_MOVE_NOT_STARTED');
}
