import fsExt from 'fs-ext';
import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
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
    // A holder unlinks the file when it releases; a lock taken on an unlinked file is no lock, so
    // after flock succeeds the path must still name the locked inode (else retry on the new file).
    for (let attempt = 0; attempt < 10; attempt++) {
      const fd = openSync(path, 'a');
      try {
        fsExt.flockSync(fd, 'exnb');
      } catch (e) {
        closeSync(fd);
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return null;
        throw e;
      }
      let current: ReturnType<typeof statSync> | undefined;
      try {
        current = statSync(path);
      } catch {
        current = undefined;
      }
      const mine = fstatSync(fd);
      if (current && current.ino === mine.ino && current.dev === mine.dev) return new ProcessLock(fd, path);
      closeSync(fd);
    }
    return null;
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
