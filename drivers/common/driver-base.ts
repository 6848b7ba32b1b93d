/**
 * What both file-backed volume drivers share: their back-end, pool lookup, labels for messages,
 * size checks and one way to build their errors (`<driver>: what: cause (cleanup failed: ...)`).
 */
import type { BackendSpec, PoolSpec, VolumeLocator } from '../../src/blockstore/index.js';
import { AppError, GiB, type ErrorCode } from '../../src/shared/index.js';
import { messageOf, pathExists } from './fs-util.js';

export abstract class DriverBase {
  abstract readonly driverName: string;

  constructor(readonly backend: BackendSpec) {}

  protected async exists(path: string, what: string): Promise<boolean> {
    try {
      return await pathExists(path);
    } catch (e) {
      throw this.error('DRIVER_ERROR', `cannot ${what}`, e);
    }
  }

  protected sizeBytesOf(sizeGiB: number, vol: VolumeLocator): number {
    const bytes = sizeGiB * GiB;
    if (!(sizeGiB > 0) || !Number.isSafeInteger(bytes)) {
      throw this.error('DRIVER_ERROR', `invalid size ${sizeGiB} GiB for ${this.label(vol)}`, undefined, { retryable: false });
    }
    return bytes;
  }

  protected poolOf(name: string): PoolSpec {
    const pool = this.backend.pools.find((p) => p.name === name);
    if (!pool) {
      throw new AppError('DRIVER_ERROR', `${this.driverName}: pool ${name} is not configured on back-end ${this.backend.host}@${this.backend.name}`, {
        retryable: false,
      });
    }
    return pool;
  }

  protected poolLabel(pool: PoolSpec): string {
    return `${this.backend.host}@${this.backend.name}#${pool.name}`;
  }

  protected label(vol: VolumeLocator): string {
    return `volume-${vol.nameId} in pool ${this.backend.host}@${this.backend.name}#${vol.pool}`;
  }

  protected error(
    code: ErrorCode,
    what: string,
    cause?: unknown,
    opts: { readonly retryable?: boolean; readonly cleanup?: readonly string[] } = {},
  ): AppError {
    const suffix = cause === undefined ? '' : `: ${messageOf(cause)}`;
    const cleanup = opts.cleanup && opts.cleanup.length > 0 ? ` (cleanup failed: ${opts.cleanup.join('; ')})` : '';
    return new AppError(code, `${this.driverName}: ${what}${suffix}${cleanup}`, {
      ...(cause === undefined ? {} : { cause }),
      ...(opts.retryable === undefined ? {} : { retryable: opts.retryable }),
      ...(opts.cleanup && opts.cleanup.length > 0 ? { details: { cleanupFailures: opts.cleanup } } : {}),
    });
  }
}
