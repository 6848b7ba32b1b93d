/**
 * Run ids and process liveness (who owns a run).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** `run-20261122-073316-a1b2c3`: sortable by time, unique by its random tail. */
export function newRunId(nowMs: number): string {
  const iso = new Date(nowMs).toISOString();
  return `run-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** True when a process with this pid exists (signal 0 checks without sending anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
