/**
 * A Cinder move's handle reference. Cinder has no move object (its reference is the volume), so the
 * reference carries what judging the move needs: the operation, its target and the volume as it
 * was just before the move. A process that restarts (the executor resuming a run) can then poll a
 * move it did not start.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';
import { migrationStatus } from './mapping.js';
import type { AcceptedMove, VolumeObservation } from './progress.js';

const PREFIX = 'cinder-move:v1:';

/** Encodes a move as a handle reference (`cinder-move:v1:<base64url JSON>`). */
export function encodeMoveRef(move: AcceptedMove): string {
  return PREFIX + Buffer.from(JSON.stringify(move), 'utf8').toString('base64url');
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * Decodes a reference made by {@link encodeMoveRef}.
 *
 * @throws AppError `INVALID_INPUT` when it is not one (a handle from another control plane).
 */
export function decodeMoveRef(ref: string, volumeId: string): AcceptedMove {
  const bad = (why: string): never => {
    throw new AppError('INVALID_INPUT', `move reference for volume ${volumeId} is not a Cinder move (${why}); was it made by another control plane?`);
  };
  if (!ref.startsWith(PREFIX)) bad(`expected it to start with ${PREFIX}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(ref.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return bad('undecodable');
  }
  const m = (raw ?? {}) as Record<string, unknown>;
  const b = (m['baseline'] ?? {}) as Record<string, unknown>;
  if ((m['op'] !== 'migrate' && m['op'] !== 'retype') || !isStr(m['volumeId']) || !isStr(m['target']) || !isStr(b['status']) || !isStr(b['volumeType'])) bad('fields missing');
  if (m['volumeId'] !== volumeId) bad(`it names volume ${String(m['volumeId'])}`);
  const policy = m['migrationPolicy'];
  const baseline: VolumeObservation = {
    status: b['status'] as string,
    migrationStatus: migrationStatus(b['migrationStatus']),
    host: isStr(b['host']) ? b['host'] : null,
    volumeType: b['volumeType'] as string,
    volumeTypeId: isStr(b['volumeTypeId']) ? b['volumeTypeId'] : null,
    attached: b['attached'] === true,
  };
  return {
    op: m['op'] as 'migrate' | 'retype',
    volumeId,
    target: m['target'] as string,
    migrationPolicy: policy === 'never' || policy === 'on-demand' ? policy : null,
    baseline,
  };
}
