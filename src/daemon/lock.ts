/**
 * One daemon per state directory: an exclusive `flock` on `<dataDir>/daemon.lock`, held for the
 * life of the process. The kernel drops it when the process dies (even by SIGKILL), so a restart
 * after a crash takes it at once. The file holds the owner's pid, for the refusal message.
 *
 * @module
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fsExt from 'fs-ext';
import { AppError } from '../shared/index.js';

/** A held daemon lock. */
export interface DaemonLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the daemon lock of `dataDir` without waiting. DAEMON_RUNNING (naming the holder's pid)
 * when another live process holds it.
 */
export function acquireDaemonLock(dataDir: string, pid: number = process.pid): DaemonLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'daemon.lock');
  const fd = openSync(path, 'a+');
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (e) {
    closeSync(fd);
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw e;
    let holder = 'another process';
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (/^\d+$/.test(text)) holder = `process ${text}`;
    } catch {
      // unreadable: the message names no pid
    }
    throw new AppError('DAEMON_RUNNING', `a ballast daemon is already running for the state directory ${dataDir} (${holder} holds ${path}); stop it first, or use another configuration`, {
      details: { lockFile: path },
    });
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${pid}\n`, 0);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}
