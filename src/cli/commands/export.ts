import type { Command } from 'commander';
import { builtinDrivers } from '../../../drivers/index.js';
import { serveExport } from '../../blockstore/index.js';
import { AppError } from '../../shared/index.js';
import { reportError, type CliIo } from '../io.js';
import { loadCliConfig } from '../service-factory.js';
import { globals } from './common.js';

/** `ballast _export`: the exporter process behind an attached handle-only volume. Not for direct use. */
export function registerExportCommand(program: Command, io: CliIo): void {
  program
    .command('_export', { hidden: true })
    .requiredOption('--backend <name>')
    .requiredOption('--pool <name>')
    .requiredOption('--name-id <id>')
    .requiredOption('--size <gib>')
    .requiredOption('--socket <path>')
    .requiredOption('--export-name <name>')
    .requiredOption('--pidfile <path>')
    .action(async (o: { backend: string; pool: string; nameId: string; size: string; socket: string; exportName: string; pidfile: string }, cmd: Command) => {
      try {
        const config = await loadCliConfig(globals(cmd));
        const backend = config.backends.find((b) => b.name === o.backend);
        if (!backend) throw new AppError('BACKEND_NOT_FOUND', `no back-end ${o.backend}`);
        const driver = builtinDrivers[backend.driver]!(backend);
        await serveExport(driver, { backend: o.backend, pool: o.pool, nameId: o.nameId, sizeGiB: Number(o.size), socketPath: o.socket, exportName: o.exportName, pidFile: o.pidfile }, (e) =>
          io.stderr(`${new Date().toISOString()} export volume-${o.nameId}: ${e.code}: ${e.message}`),
        );
      } catch (e) {
        reportError(io, e, false);
      }
    });
}
