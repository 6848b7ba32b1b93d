/**
 * A token-bucket byte-rate limiter for volume copies (Cinder's `volume_copy_bps_limit`, §3.3),
 * usable for file-like handles too (Cinder throttles only dd block copies, pain point 16).
 *
 * One instance may be SHARED by several concurrent copies: every `acquire` reserves its bytes
 * synchronously, in call order, so concurrent copies split the rate between them (as Cinder's
 * blkio cgroup splits `bps_limit` between the jobs of a device) and the total never exceeds
 * `burstBytes + bytesPerSecond × elapsed`.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { AppError, type Clock } from '../shared/index.js';

/** A clock that can also wait; injectable so tests run on virtual time. */
export interface SleepClock extends Clock {
  /**
   * Resolves after `ms` milliseconds of this clock's time. Rejects (with any error) when `signal`
   * aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall-clock time and `setTimeout`-based sleeps. */
export const systemSleepClock: SleepClock = {
  nowMs: () => Date.now(),
  sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
    await sleepTimer(ms, undefined, signal ? { signal } : undefined);
  },
};

export interface RateLimiterOptions {
  /** Sustained rate, bytes per second (> 0). */
  readonly bytesPerSecond: number;
  /**
   * Bucket capacity: how many bytes may pass at once after an idle period. Default: one second
   * of `bytesPerSecond`. The bucket starts full.
   */
  readonly burstBytes?: number;
  readonly clock?: SleepClock;
}

/** The error every cancelled wait (and cancelled copy or verify) reports. */
export function cancelledError(cause?: unknown): AppError {
  return new AppError('CANCELLED', 'the volume data operation was cancelled', cause === undefined ? {} : { cause });
}

/**
 * Token bucket with reservations. Tokens may go negative: a request always takes its tokens at
 * once (keeping FIFO order between concurrent callers) and then waits until the bucket is back to
 * zero, so a request larger than the burst is fine (it just waits `n / rate`).
 */
export class RateLimiter {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  private readonly clock: SleepClock;
  private tokens: number;
  private lastMs: number;

  constructor(options: RateLimiterOptions) {
    const { bytesPerSecond } = options;
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new AppError('INVALID_INPUT', `rate limit must be a positive number of bytes per second, got ${bytesPerSecond}`);
    }
    const burst = options.burstBytes ?? bytesPerSecond;
    if (!Number.isFinite(burst) || burst < 0) {
      throw new AppError('INVALID_INPUT', `burst must be a non-negative number of bytes, got ${burst}`);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.burstBytes = burst;
    this.clock = options.clock ?? systemSleepClock;
    this.tokens = burst;
    this.lastMs = this.clock.nowMs();
  }

  /** Tokens in the bucket now; negative when callers are waiting on reserved bytes. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Waits until `n` bytes may pass. Reserves them at call time (so concurrent callers are served
   * in call order); a cancelled wait gives its reservation back and rejects with
   * `AppError('CANCELLED')`.
   */
  async acquire(n: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw cancelledError(signal.reason);
    if (!(n > 0)) return;
    this.refill();
    this.tokens -= n;
    if (this.tokens >= 0) return;
    const waitMs = (-this.tokens / this.bytesPerSecond) * 1000;
    try {
      await this.clock.sleep(waitMs, signal);
    } catch (e) {
      this.refill();
      this.tokens = Math.min(this.burstBytes, this.tokens + n);
      throw cancelledError(signal?.reason ?? e);
    }
    if (signal?.aborted) throw cancelledError(signal.reason);
  }

  private refill(): void {
    const now = this.clock.nowMs();
    const elapsed = now - this.lastMs;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burstBytes, this.tokens + (elapsed / 1000) * this.bytesPerSecond);
      this.lastMs = now;
    }
  }
}
