import type { Command } from 'commander';
import { resolve } from 'node:path';
import { writeInitConfig } from '../../config/index.js';
import { printJson, reportError, type CliIo } from '../io.js';
import { globals } from './common.js';

export function registerInitCommand(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('write a ready, commented ballast.yaml for an embedded deployment with its data under DIR')
    .argument('<dir>', 'directory for the config and the data')
    .option('--force', 'overwrite an existing ballast.yaml')
    .action(async (dir: string, opts: { force?: boolean }, cmd: Command) => {
      try {
        const file = await writeInitConfig(resolve(dir), { force: opts.force === true });
        if (globals(cmd).json) return printJson(io, { config: file });
        io.stdout(`Wrote ${file}`);
        io.stdout(`Use it with: export BALLAST_CONFIG=${file}   (or pass --config ${file})`);
      } catch (e) {
        reportError(io, e, globals(cmd).json === true);
      }
    });
}
