/**
 * Where the chunked driver keeps things inside a pool directory:
 * - `volume-<nameId>/`: a volume: `meta.json` and its objects, one file per chunk index named as
 *   16 zero-padded lower-case hex digits (`0000000000000003`); a missing object reads as zeros;
 * - `snapshot-<id>/`: a snapshot: same layout, `meta.json` also names the volume it was taken of;
 * - `.tmp-*`: work in progress and directories being deleted (never listed; a crash can leave one).
 * A volume or snapshot directory is built (or removed) under a `.tmp-` name and renamed, so a
 * directory with a real name is always complete.
 */
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { assertSafeId, fsyncDir, runCleanups, writeNewFileDurably } from '../common/fs-util.js';

/** Contents of `meta.json`. */
export interface ChunkedMeta {
  readonly sizeBytes: number;
  readonly chunkSizeBytes: number;
  readonly createdAt: string;
  /** Snapshots only: the volume (name id) it was taken of. */
  readonly volumeNameId?: string;
}

/** The name of the metadata file in a volume or snapshot directory. */
export const META_FILE = 'meta.json';

const OBJECT_NAME = /^[0-9a-f]{16}$/;
const VOLUME_DIR = /^volume-(.+)$/;
const SNAPSHOT_DIR = /^snapshot-(.+)$/;

/** Directory of a volume. */
export function volumeDir(dataPath: string, nameId: string): string {
  assertSafeId('volume', nameId);
  return path.join(dataPath, `volume-${nameId}`);
}

/** Directory of a snapshot. */
export function snapshotDir(dataPath: string, snapshotId: string): string {
  assertSafeId('snapshot', snapshotId);
  return path.join(dataPath, `snapshot-${snapshotId}`);
}

/** A fresh temporary name in `dir` for work that is renamed into place (or out of sight). */
export function tempPath(dir: string, purpose: string): string {
  return path.join(dir, `.tmp-${purpose}-${randomUUID()}`);
}

/** File name of the object holding chunk `index`. */
export function objectName(index: number): string {
  return index.toString(16).padStart(16, '0');
}

/** Chunk index of an object file name, or null when the name is not an object's. */
export function objectIndex(fileName: string): number | null {
  return OBJECT_NAME.test(fileName) ? Number.parseInt(fileName, 16) : null;
}

/** Name id of a volume directory name, or null. */
export function nameIdOfVolumeDir(dirName: string): string | null {
  return VOLUME_DIR.exec(dirName)?.[1] ?? null;
}

/** Snapshot id of a snapshot directory name, or null. */
export function snapshotIdOfDir(dirName: string): string | null {
  return SNAPSHOT_DIR.exec(dirName)?.[1] ?? null;
}

/** Reads and checks `meta.json` of a volume or snapshot directory (errors as thrown by fs / JSON). */
export async function readMeta(dir: string): Promise<ChunkedMeta> {
  const raw = JSON.parse(await fsp.readFile(path.join(dir, META_FILE), 'utf8')) as Partial<ChunkedMeta>;
  const { sizeBytes, chunkSizeBytes, createdAt } = raw;
  if (
    !Number.isSafeInteger(sizeBytes) ||
    !Number.isSafeInteger(chunkSizeBytes) ||
    (chunkSizeBytes ?? 0) <= 0 ||
    (sizeBytes ?? -1) < 0 ||
    typeof createdAt !== 'string'
  ) {
    throw new Error(`${path.join(dir, META_FILE)} is malformed`);
  }
  return raw as ChunkedMeta;
}

/**
 * Writes `meta.json` in `dir` durably and atomically (temp file, fsync, rename, fsync of `dir`):
 * readers see the old or the new metadata, never a torn one.
 */
export async function writeMeta(dir: string, meta: ChunkedMeta): Promise<void> {
  const tmp = tempPath(dir, META_FILE);
  try {
    await writeNewFileDurably(tmp, JSON.stringify(meta));
    await fsp.rename(tmp, path.join(dir, META_FILE));
  } catch (e) {
    const failures = await runCleanups([() => fsp.rm(tmp, { force: true })]);
    if (failures.length > 0 && e instanceof Error) e.message += ` (cleanup failed: ${failures.join('; ')})`;
    throw e;
  }
  await fsyncDir(dir);
}
