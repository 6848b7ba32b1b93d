/**
 * Waiting, behind a port: the CLI and daemon use real timers, the simulator its discrete-event
 * clock. The executor never calls setTimeout itself.
 *
 * @module
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Clock } from '../shared/index.js';

export interface Timers {
  /** Resolves after `ms` of this clock's time, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall-clock timers. */
export const realTimers: Timers = {
  async sleep(ms, signal) {
    if (signal?.aborted) return;
    try {
      await sleepTimer(ms, undefined, signal ? { signal } : undefined);
    } catch (e) {
      if (!signal?.aborted) throw e;
    }
  },
};

/** A wake-up signal: the loop sleeps until a timer or until something happens. */
export class Waker {
  private controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  wake(): void {
    this.controller.abort();
  }

  /** Sleeps up to `ms`, returning early on {@link wake}; then re-arms. */
  async wait(timers: Timers, ms: number): Promise<void> {
    if (!this.controller.signal.aborted) await timers.sleep(ms, this.controller.signal);
    this.controller = new AbortController();
  }
}

/** Clock + timers, the pair the executor is given. */
export interface ExecutorTime {
  readonly clock: Clock;
  readonly timers: Timers;
}
