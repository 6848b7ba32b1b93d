/**
 * The two checks around each move, against the control plane's live state, never the plan's:
 * before it starts (is it still needed, still safe?) and after it ends (is the volume really
 * where and what the plan says?).
 *
 * @module
 */
import { isMigrating, type FleetVolume, type Move, type MoveRequest } from '../model/index.js';
import type { RunSettings } from './types.js';

export type PrecheckVerdict =
  | { readonly kind: 'run' }
  /** Nothing to do, or no longer safe: the move is skipped with this reason. */
  | { readonly kind: 'skip'; readonly reason: string };

/** True when the volume already is what the move would make it. */
export function inPlace(v: FleetVolume, m: Move): boolean {
  const typeOk = m.newVolumeType === null || v.volumeType === m.newVolumeType;
  if (m.kind === 'retype-in-place') return typeOk && m.newVolumeType !== null;
  return v.pool === m.to && typeOk;
}

/** Re-checks a move against the volume as it is now. */
export function precheck(v: FleetVolume | null, m: Move): PrecheckVerdict {
  const skip = (reason: string): PrecheckVerdict => ({ kind: 'skip', reason });
  if (!v) return skip(`volume ${m.volumeId} no longer exists`);
  if (inPlace(v, m)) return skip(`already in place (${v.pool}${m.newVolumeType ? `, type ${v.volumeType}` : ''})`);
  if (isMigrating(v.migrationStatus)) return skip(`volume is being moved by someone else (migration_status ${String(v.migrationStatus)})`);
  if (v.pool !== m.from) return skip(`volume moved since the plan: it is on ${v.pool}, the plan says ${m.from}`);
  if (v.status !== 'available' && v.status !== 'in-use') return skip(`volume status is ${v.status}`);
  if (v.sizeGiB !== m.sizeGiB) return skip(`volume size changed since the plan: ${v.sizeGiB} GiB, the plan says ${m.sizeGiB} GiB`);
  if (v.snapshotCount > 0) return skip(`volume got ${v.snapshotCount} snapshot${v.snapshotCount === 1 ? '' : 's'} (volumes with snapshots are not moved)`);
  if (v.groupId !== null) return skip(`volume joined group ${v.groupId}`);
  if (v.replicated) return skip('volume is replicated');
  if (v.attached !== m.attached) return skip(v.attached ? 'volume got attached since the plan (it needs a live copy)' : 'volume got detached since the plan');
  return { kind: 'run' };
}

export type VerifyVerdict = { readonly ok: true; readonly note: string | null } | { readonly ok: false; readonly reason: string };

/** After the control plane says done: the volume must be on the destination, of the new type, settled. */
export function verifyMoved(v: FleetVolume | null, m: Move): VerifyVerdict {
  if (!v) return { ok: false, reason: `volume ${m.volumeId} is gone after the move` };
  const problems: string[] = [];
  if (m.newVolumeType !== null && v.volumeType !== m.newVolumeType) problems.push(`type is ${v.volumeType}, expected ${m.newVolumeType}`);
  if (isMigrating(v.migrationStatus)) problems.push(`migration_status is still ${String(v.migrationStatus)}`);
  if (m.kind !== 'retype-in-place' && v.migrationStatus !== 'success') problems.push(`migration_status is ${String(v.migrationStatus)}, expected success`);
  const wantStatus = v.attached ? 'in-use' : 'available';
  if (v.status !== wantStatus) problems.push(`status is ${v.status}, expected ${wantStatus}`);
  let note: string | null = null;
  if (v.pool !== m.to) {
    // A retype that migrates lets the control plane's scheduler pick the pool (Cinder's os-retype).
    if (m.newVolumeType !== null && m.kind !== 'retype-in-place' && v.pool !== m.from) note = `the scheduler placed it on ${v.pool}, the plan said ${m.to}`;
    else problems.push(`volume is on ${v.pool}, expected ${m.to}`);
  }
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, note };
}

/** What the control plane is asked for a move: a retype (in place: policy never) or a migration. */
export function moveRequest(m: Move, s: Pick<RunSettings, 'forceHostCopy' | 'lockVolume' | 'retypeMigrationPolicy'>): MoveRequest {
  if (m.newVolumeType !== null) {
    return { op: 'retype', volumeId: m.volumeId, newVolumeType: m.newVolumeType, migrationPolicy: m.kind === 'retype-in-place' ? 'never' : s.retypeMigrationPolicy };
  }
  return { op: 'migrate', volumeId: m.volumeId, host: m.to, forceHostCopy: s.forceHostCopy || m.kind === 'generic-copy', lockVolume: s.lockVolume && !m.attached };
}
