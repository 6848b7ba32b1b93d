/**
 * A child-process entry for executor crash tests: the real `apply` and `run …` commands of
 * src/cli/commands/apply.ts (the real CLI's code), without the rest of the command tree.
 * Run from dist: `node dist/test/integration/executor-cli.js --config FILE apply PLAN --yes`.
 */
import { Command } from 'commander';
import { registerApplyCommands } from '../../src/cli/commands/apply.js';
import { processIo } from '../../src/cli/io.js';

const program = new Command('ballast').option('-c, --config <file>', 'configuration file').option('--json', 'JSON output').exitOverride();
registerApplyCommands(program, processIo);
await program.parseAsync(process.argv.slice(2), { from: 'user' });
