import { Command, CommanderError } from 'commander';
import type { CliIo } from './io.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerExportCommand } from './commands/export.js';
import { registerInitCommand } from './commands/init.js';
import { registerMigrateCommands } from './commands/migrate.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerPoolCommands } from './commands/pool.js';
import { registerVolumeCommands } from './commands/volume.js';
import { registerTelemetryCommands } from './commands/telemetry.js';
import { registerPlanCommands } from './commands/plan.js';
import { registerApplyCommands } from './commands/apply.js';
import { registerServeCommands } from './commands/serve.js';
import { registerSimulateCommands } from './commands/simulate.js';
import { registerDaemonCommands } from './commands/daemon.js';

/** Builds the `ballast` command tree (one command per line of Cinder's, plus Ballast's own). */
export function buildProgram(io: CliIo): Command {
  const program = new Command('ballast')
    .description('Ballast: policy-driven placement optimizer for block storage')
    .option('-c, --config <file>', 'configuration file (default: $BALLAST_CONFIG or ./ballast.yaml)')
    .option('--json', 'machine-readable output with Cinder field names')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s.trimEnd()),
      writeErr: (s) => io.stderr(s.trimEnd()),
    });
  registerInitCommand(program, io);
  registerPoolCommands(program, io);
  registerVolumeCommands(program, io);
  registerMigrateCommands(program, io);
  registerPolicyCommands(program, io);
  registerTelemetryCommands(program, io);
  registerPlanCommands(program, io);
  registerDaemonCommands(program, io); // also adds `plan approve|reject`: after registerPlanCommands
  registerApplyCommands(program, io);
  registerServeCommands(program, io);
  registerSimulateCommands(program, io);
  registerDemoCommand(program, io);
  registerExportCommand(program, io);
  return program;
}

/** Parses argv and runs the command; usage errors exit 2. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<void> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      io.setExitCode(e.exitCode === 0 ? 0 : 2);
      return;
    }
    throw e;
  }
}
