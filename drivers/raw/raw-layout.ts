/**
 * Where the raw driver keeps things inside a pool directory:
 * - `volume-<nameId>.img`: the volume, a sparse file of exactly its size;
 * - `snapshot-<id>.img`: a snapshot, a sparse (or cloned) copy of the volume at that moment;
 * - `snapshot-<id>.json`: which volume the snapshot was taken of (`{volumeNameId, sizeBytes, createdAt}`);
 * - `.tmp-*`: work in progress (never listed; a crash can leave one behind).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { assertSafeId } from '../common/fs-util.js';

const VOLUME_FILE = /^volume-(.+)\.img$/;
const SNAPSHOT_META = /^snapshot-(.+)\.json$/;

/** Path of a volume image. */
export function volumeFile(dataPath: string, nameId: string): string {
  assertSafeId('volume', nameId);
  return path.join(dataPath, `volume-${nameId}.img`);
}

/** Path of a snapshot image. */
export function snapshotFile(dataPath: string, snapshotId: string): string {
  assertSafeId('snapshot', snapshotId);
  return path.join(dataPath, `snapshot-${snapshotId}.img`);
}

/** Path of a snapshot's owner record. */
export function snapshotMetaFile(dataPath: string, snapshotId: string): string {
  assertSafeId('snapshot', snapshotId);
  return path.join(dataPath, `snapshot-${snapshotId}.json`);
}

/** A fresh temporary name in the pool directory for work that is renamed into place. */
export function tempFile(dataPath: string, purpose: string): string {
  return path.join(dataPath, `.tmp-${purpose}-${randomUUID()}`);
}

/** The name id of a volume image file name, or null. */
export function nameIdOfVolumeFile(fileName: string): string | null {
  return VOLUME_FILE.exec(fileName)?.[1] ?? null;
}

/** The snapshot id of a snapshot owner record file name, or null. */
export function snapshotIdOfMetaFile(fileName: string): string | null {
  return SNAPSHOT_META.exec(fileName)?.[1] ?? null;
}

/** Whether a directory entry is a snapshot image (counted as used space). */
export function isSnapshotFile(fileName: string): boolean {
  return fileName.startsWith('snapshot-') && fileName.endsWith('.img');
}

/** The owner record of a raw snapshot. */
export interface RawSnapshotMeta {
  readonly volumeNameId: string;
  readonly sizeBytes: number;
  readonly createdAt: string;
}
