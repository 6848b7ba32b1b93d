/**
 * Process helpers for daemons Ballast starts detached: liveness that treats zombies as gone (an
 * init that never reaps would otherwise make `kill(pid, 0)` say "alive" forever), identity checks
 * against PID reuse, and bounded polling of a condition.
 */
import { readFileSync } from 'node:fs';
import { AppError } from '../shared/index.js';

/**
 * True when `pid` names a live process: `kill(pid, 0)` succeeds (or fails with EPERM) and
 * `/proc/<pid>/stat` does not say zombie or dead.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== 'x';
  } catch {
    return false; // gone between the two checks (or no /proc: kill said alive, but we cannot tell)
  }
}

/** The command line of `pid` (arguments joined by spaces), or null when it cannot be read. */
export function commandLineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Give up after this long (required: every wait is bounded). */
  readonly timeoutMs: number;
  /** Pause between attempts (default 50 ms). */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** What is awaited, for the timeout message. */
  readonly what: string;
}

/**
 * Calls `probe` until it returns something other than `undefined`, and resolves with that. A probe
 * that throws ends the wait with its error. Times out with DRIVER_ERROR; abort gives CANCELLED.
 */
export async function pollUntil<T>(probe: () => T | undefined | Promise<T | undefined>, options: PollOptions): Promise<T> {
  const { timeoutMs, intervalMs = 50, signal, what } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new AppError('CANCELLED', `waiting for ${what} was cancelled`, { cause: signal.reason });
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new AppError('DRIVER_ERROR', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())), signal);
  }
}

/** Resolves after `ms`; resolves early (not rejects) when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
