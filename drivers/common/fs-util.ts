/**
 * Small file-system helpers shared by the volume drivers: errno checks, directory fsync, id checks, and
 * cleanup after a failed step that reports (never hides) what could not be undone.
 */
import fsp from 'node:fs/promises';
import { AppError } from '../../src/shared/index.js';

/** The errno code of a Node system error (`ENOENT`, ...), if it is one. */
export function errnoOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** fsync(2) on a directory, so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Creates `file` (which must not exist) with `data`, fsynced before it is closed. */
export async function writeNewFileDurably(file: string, data: string): Promise<void> {
  const h = await fsp.open(file, 'wx');
  try {
    await h.writeFile(data, 'utf8');
    await h.sync();
  } finally {
    await h.close();
  }
}

/** True when a path exists (any type); other stat failures are thrown. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Runs every cleanup step of a failed operation and returns the messages of those that failed,
 * so the caller can attach them to the error it throws.
 */
export async function runCleanups(steps: readonly (() => Promise<unknown>)[]): Promise<string[]> {
  const failures: string[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      failures.push(messageOf(e));
    }
  }
  return failures;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Ids become file names: refuse anything that could escape the pool directory. */
export function assertSafeId(kind: 'volume' | 'snapshot', id: string): void {
  if (!SAFE_ID.test(id)) {
    throw new AppError('DRIVER_ERROR', `invalid ${kind} id ${JSON.stringify(id)} (letters, digits, '.', '_', '-' only)`, {
      retryable: false,
    });
  }
}

/** True when `diff` gives `key` a different value in the new type. */
export function specChanges(diff: { readonly extraSpecs: Readonly<Record<string, readonly [string | null, string | null]>> }, key: string): boolean {
  const pair = diff.extraSpecs[key];
  return pair !== undefined && pair[0] !== pair[1];
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** True when `length` bytes of `buf` from `start` are all zero (memcmp speed). */
export function isAllZero(buf: Buffer, start: number, length: number): boolean {
  for (let off = 0; off < length; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, length - off);
    if (buf.compare(ZEROS, 0, n, start + off, start + off + n) !== 0) return false;
  }
  return true;
}

/** Reads into `buf[bufOffset..]` until `length` bytes are read or the file ends; returns the bytes read. */
export async function readFully(fh: fsp.FileHandle, buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, bufOffset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all `length` bytes of `buf[bufOffset..]` at `position`. */
export async function writeFully(fh: fsp.FileHandle, buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, bufOffset + done, length - done, position + done);
    done += bytesWritten;
  }
}
