/**
 * A real embedded deployment for the telemetry tests: the configuration of `ballast init` (two
 * back-ends, four pools, two types, and the example price catalogue) in a temporary directory, and
 * the block service with the built-in drivers over it. It stands on the config and block service
 * modules only, so the telemetry tests do not depend on the CLI's module graph.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinDrivers } from '../../drivers/index.js';
import { BlockService } from '../../src/blockstore/index.js';
import { loadConfig, writeInitConfig, type LoadedConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/shared/index.js';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
}

export interface TelemetryDeployment {
  readonly dir: string;
  readonly config: LoadedConfig;
  /** Opens the block service (again: a restart, its I/O counters start from zero). */
  open(): Promise<BlockService>;
  cleanup(): Promise<void>;
}

/** `ballast init` in a temporary directory, loaded. */
export async function makeTelemetryDeployment(): Promise<TelemetryDeployment> {
  const dir = await mkdtemp(join(tmpdir(), 'ballast-tel-'));
  const config = await loadConfig(await writeInitConfig(dir));
  const opened: BlockService[] = [];
  return {
    dir,
    config,
    async open() {
      const s = await BlockService.open({
        stateDbPath: config.stateDbPath,
        runDir: join(config.dataDir, '.run'),
        backends: config.backends,
        volumeTypes: config.volumeTypes,
        defaultVolumeType: config.defaultVolumeType,
        drivers: builtinDrivers,
        copy: config.copy,
      });
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) {
        try {
          s.close();
        } catch {
          // closed by the test already
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `bytes` random bytes into a volume at `offset` through the service (counted I/O). */
export async function writeInto(service: BlockService, dir: string, volumeId: string, bytes: number, offset = 0): Promise<void> {
  const file = join(dir, `fill-${volumeId}-${bytes}.bin`);
  await writeFile(file, randomBytes(bytes));
  await service.writeVolume(volumeId, file, offset);
  await rm(file);
}
