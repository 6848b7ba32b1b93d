/**
 * What the steps of `ballast demo` share: the output, the demo directory, the configuration and
 * the open embedded deployment (block service and its control-plane port).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { BlockService } from '../../../blockstore/index.js';
import type { LoadedConfig } from '../../../config/index.js';
import type { EmbeddedControlPlane } from '../../../controlplane/index.js';
import { AppError } from '../../../shared/index.js';
import type { CliIo } from '../../io.js';

/** The open demo deployment and where the demo writes. */
export interface DemoContext {
  readonly io: CliIo;
  /** The demo directory (absolute). */
  readonly dir: string;
  /** Scratch files (seeded data, read-backs) live here. */
  readonly scratch: string;
  readonly config: LoadedConfig;
  readonly service: BlockService;
  readonly controlPlane: EmbeddedControlPlane;
  /** One line (or block) to stdout. */
  say(text: string): void;
}

/** sha256 of a buffer, hex. */
export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A failed demo check: the demo exits non-zero with this message. */
export function checkFailed(message: string): AppError {
  return new AppError('DEMO_CHECK_FAILED', message);
}

/** A step heading. */
export function heading(ctx: DemoContext, n: number, title: string): void {
  ctx.say(`\n== ${n}. ${title}`);
}
