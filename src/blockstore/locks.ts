import fsExt from 'fs-ext';
import { closeSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A lock held by a live process on one migration: an exclusive `flock` on a file. The kernel drops
 * it when the process dies (even by SIGKILL), so a restart can tell a running migration from an
 * interrupted one by trying to take its lock.
 */
export class ProcessLock {
  private constructor(
    private fd: number | null,
    readonly path: string,
  ) {}

  /** Takes the lock without waiting; null when another live process holds it. */
  static tryAcquire(dir: string, name: string): ProcessLock | null {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${name}.lock`);
    const fd = openSync(path, 'a');
    try {
      fsExt.flockSync(fd, 'exnb');
    } catch (e) {
      closeSync(fd);
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EWOULDBLOCK') return null;
      throw e;
    }
    return new ProcessLock(fd, path);
  }

  /** Releases the lock; with `remove`, deletes the lock file first (while still holding it). */
  release(remove = false): void {
    if (this.fd === null) return;
    if (remove) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone: nothing to remove
      }
    }
    closeSync(this.fd);
    this.fd = null;
  }
}
