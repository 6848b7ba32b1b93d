import type { Command } from 'commander';
import type { BlockService } from '../../blockstore/index.js';
import type { Volume } from '../../model/index.js';
import { AppError } from '../../shared/index.js';
import { reportError, type CliIo } from '../io.js';
import { openService, type GlobalOptions } from '../service-factory.js';

/** Global options of a command (`--config`, `--json`) merged with its own. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Runs a command body with the service open, reporting errors with their code, always closing it. */
export async function withService(io: CliIo, cmd: Command, body: (service: BlockService, json: boolean) => Promise<void>): Promise<void> {
  const g = globals(cmd);
  let service: BlockService | null = null;
  try {
    service = (await openService(io, g)).service;
    await body(service, g.json === true);
  } catch (e) {
    reportError(io, e, g.json === true);
  } finally {
    service?.close();
  }
}

/** A volume by id, or by name when exactly one volume has it (as the cinder client does). */
export function resolveVolume(service: BlockService, idOrName: string): Volume {
  try {
    return service.getVolume(idOrName);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'VOLUME_NOT_FOUND') throw e;
    const byName = service.listVolumes().filter((v) => v.name === idOrName);
    if (byName.length === 1) return byName[0]!;
    if (byName.length > 1) throw new AppError('INVALID_INPUT', `Multiple volumes match the name '${idOrName}'; use the id`);
    throw new AppError('VOLUME_NOT_FOUND', `No volume with a name or ID of '${idOrName}' exists.`);
  }
}

/** Parses a non-negative integer option (bytes, offsets). */
export function parseNonNegativeInt(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new AppError('INVALID_INPUT', `${what} '${value}' must be a non-negative integer`);
  return Number(value);
}
