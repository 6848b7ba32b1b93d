import { join } from 'node:path';
import { builtinDrivers } from '../../drivers/index.js';
import { fileURLToPath } from 'node:url';
import { BlockService, faultsFromEnv, type BlockServiceOptions, type HypervisorSettings } from '../blockstore/index.js';
import { makeExportLauncher } from './exporter-launcher.js';
import { loadConfig, resolveConfigPath, type LoadedConfig } from '../config/index.js';
import { AppError, formatLocation } from '../shared/index.js';
import type { CliIo } from './io.js';

export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
}

/** The hypervisor side of a CLI process: storage daemons and exporters under dataDir/.run/hv. */
export function hypervisorSettings(config: LoadedConfig): HypervisorSettings {
  return {
    runDir: join(config.dataDir, '.run', 'hv'),
    launchExporter: makeExportLauncher({ cliPath: fileURLToPath(new URL('./main.js', import.meta.url)), configFile: config.configFile }),
  };
}

/**
 * The options of the embedded block service of a deployment: state, run directory, back-ends,
 * types, the built-in drivers, copy settings and the hypervisor side; `extra` overrides.
 */
export function serviceOptions(config: LoadedConfig, extra: Partial<BlockServiceOptions> = {}): BlockServiceOptions {
  return {
    stateDbPath: config.stateDbPath,
    runDir: join(config.dataDir, '.run'), // back-end names cannot start with '.', so this never clashes with pool data
    backends: config.backends,
    volumeTypes: config.volumeTypes,
    defaultVolumeType: config.defaultVolumeType,
    drivers: builtinDrivers,
    copy: config.copy,
    hypervisor: hypervisorSettings(config),
    ...extra,
  };
}

export async function loadCliConfig(opts: GlobalOptions): Promise<LoadedConfig> {
  return loadConfig(resolveConfigPath(opts.config), { driverNames: Object.keys(builtinDrivers) });
}

/**
 * Opens the embedded block service for one CLI command. Start-up recovery of interrupted work is
 * reported on stderr (each action: what, which volume, rolled back or forward).
 */
export async function openService(io: CliIo, opts: GlobalOptions): Promise<{ service: BlockService; config: LoadedConfig }> {
  const config = await loadCliConfig(opts);
  for (const w of config.warnings) io.stderr(`warning: ${formatLocation(w.location)}: ${w.path ? `${w.path}: ` : ''}${w.message}`);
  const service = await BlockService.open(
    serviceOptions(config, { faults: faultsFromEnv(process.env['BALLAST_FAULT'], (stage) => new AppError('DRIVER_ERROR', `injected fault at ${stage}`)) }),
  );
  for (const r of service.recovery) {
    io.stderr(`recovered: volume ${r.volumeId}${r.migrationId ? ` migration ${r.migrationId}` : ''}: ${r.action}: ${r.message}`);
  }
  return { service, config };
}
