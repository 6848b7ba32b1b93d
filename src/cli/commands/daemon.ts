/**
 * `ballast daemon` (the long-running process: telemetry schedules, scheduled rebalancing in
 * approve or auto mode, the HTTP API; docs/daemon.md) and `ballast plan approve|reject ID`, which
 * decide a plan waiting in the daemon's state (the daemon starts an approved plan within a second,
 * inside a maintenance window).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parseDurationMs } from '../../config/index.js';
import { EmbeddedControlPlane } from '../../controlplane/index.js';
import { acquireDaemonLock, DaemonStore, startDaemon, type DaemonHandle, type DaemonLock, type DaemonMode } from '../../daemon/index.js';
import type { BlockService } from '../../blockstore/index.js';
import type { ControlPlane } from '../../model/index.js';
import { AppError, createLogger, formatDuration, type Logger } from '../../shared/index.js';
import { openTelemetryStore, type TelemetryStore } from '../../telemetry/index.js';
import { openControlPlane } from '../control-plane-factory.js';
import { printJson, renderProperties, reportError, type CliIo } from '../io.js';
import { loadCliConfig, openService } from '../service-factory.js';
import { globals } from './common.js';
import { loadCompiledPolicy } from './plan.js';
import { loadCatalogue } from './telemetry-context.js';

interface DaemonFlags {
  mode: DaemonMode;
  policy?: string[];
  listen?: string;
  stopGrace: string;
  solveTimeLimit: string;
}

function duration(value: string, what: string): number {
  const ms = parseDurationMs(value);
  if (ms === null) throw new AppError('INVALID_INPUT', `${what} '${value}' must be a duration such as 30s, 5m or 1h`);
  return ms;
}

/** Policy paths: as given (relative to the working directory), else `policies/` beside the config, else `./policies`. */
function policyPaths(given: readonly string[] | undefined, configFile: string): string[] {
  if (given && given.length > 0) return given.map((p) => resolve(p));
  const beside = join(dirname(configFile), 'policies');
  return [existsSync(beside) ? beside : resolve('policies')];
}

/** Resolves on the first SIGTERM or SIGINT. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((res) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      res(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

async function runDaemon(io: CliIo, flags: DaemonFlags, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const log: Logger = createLogger({ write: (s) => io.stderr(s), format: io.isTTY ? 'text' : 'json', fields: { pid: process.pid } });
  const closers: (() => Promise<void> | void)[] = [];
  let lock: DaemonLock | null = null;
  let daemon: DaemonHandle | null = null;
  try {
    const graceMs = duration(flags.stopGrace, '--stop-grace');
    const solveMs = duration(flags.solveTimeLimit, '--solve-time-limit');
    const config = await loadCliConfig(g);
    lock = acquireDaemonLock(config.dataDir); // before anything opens the state: a second daemon changes nothing
    const paths = policyPaths(flags.policy, config.configFile);
    const loadPolicy = () => loadCompiledPolicy(paths);
    loadPolicy(); // bad policies stop the start, with every problem located
    let controlPlane: ControlPlane;
    let service: BlockService | null = null;
    if (config.controlPlane.type === 'cinder') {
      const opened = await openControlPlane(io, g);
      controlPlane = opened.controlPlane;
      closers.unshift(() => opened.close());
    } else {
      service = (await openService(io, g)).service;
      const svc = service;
      closers.unshift(() => svc.close());
      const embedded = new EmbeddedControlPlane(svc, { name: config.dataDir });
      controlPlane = embedded;
      closers.unshift(() => embedded.close());
    }
    const telemetry: TelemetryStore = await openTelemetryStore(config.telemetry.store);
    closers.unshift(() => telemetry.close());
    const catalogue = await loadCatalogue(config);
    const stop = untilSignal();
    daemon = await startDaemon({ config, controlPlane, service, telemetry, catalogue, loadPolicy, mode: flags.mode, log, solveTimeLimitMs: solveMs, ...(flags.listen !== undefined ? { listen: flags.listen } : {}) });
    io.stdout(`Ballast daemon listening on ${daemon.url} (mode ${flags.mode}; policies ${paths.join(', ')})`);
    const sig = await stop;
    log.info('signal received', { signal: sig });
    const { unfinishedRun } = await daemon.stop(graceMs);
    if (unfinishedRun) log.warn('run left to resume at the next start', { run: unfinishedRun, grace: formatDuration(graceMs) });
    io.setExitCode(0);
  } catch (e) {
    reportError(io, e, g.json === true);
    if (daemon) await daemon.stop(0).catch(() => undefined);
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch (e) {
        log.warn('close failed', { error: (e as Error).message });
      }
    }
    lock?.release();
    if (daemon) setTimeout(() => process.exit(), 2_000).unref(); // nothing must keep a stopped daemon alive
  }
}

async function decide(io: CliIo, cmd: Command, id: string, to: 'approved' | 'rejected', note: string | undefined): Promise<void> {
  const g = globals(cmd);
  let store: DaemonStore | null = null;
  try {
    const config = await loadCliConfig(g);
    store = DaemonStore.open(join(config.dataDir, 'daemon.db'));
    const record = store.decide(id, to, `${userInfo().username} (cli)`, note ?? null, Date.now());
    if (g.json === true) printJson(io, record);
    else io.stdout(renderProperties({ ...record, createdAt: new Date(record.createdAtMs).toISOString(), expiresAt: new Date(record.expiresAtMs).toISOString() }));
    io.setExitCode(0);
  } catch (e) {
    reportError(io, e, g.json === true);
  } finally {
    store?.close();
  }
}

/**
 * Adds `ballast daemon`, and `approve`/`reject` under `ballast plan` (register after the plan
 * command; without one, a `plan` group is created).
 */
export function registerDaemonCommands(program: Command, io: CliIo): void {
  program
    .command('daemon')
    .description('Run the daemon: telemetry schedules, scheduled rebalancing (approve or auto mode) inside maintenance windows, the HTTP API; stops gracefully on SIGTERM')
    .addOption(new Option('--mode <mode>', 'auto: approved plans run on their own; approve: plans wait for ballast plan approve or the API').choices(['approve', 'auto']).default('approve'))
    .option('--policy <files...>', 'policy files or directories (default: policies/ beside the config, else ./policies)')
    .option('--listen <host:port>', 'API listen address (default: api.listen of the config; port 0 picks one)')
    .option('--stop-grace <duration>', 'on SIGTERM, how long running moves may take to finish before the run is left to resume', '60s')
    .option('--solve-time-limit <duration>', 'hard limit of a scheduled solve', '30s')
    .action((flags: DaemonFlags, cmd: Command) => runDaemon(io, flags, cmd));

  const plan = program.commands.find((c) => c.name() === 'plan') ?? program.command('plan').description('Plans waiting in the daemon');
  plan
    .command('approve')
    .description('Approve a plan waiting in the daemon: it runs when a maintenance window is open')
    .argument('<id>', 'plan id (GET /api/v1/plans)')
    .option('--note <text>', 'why (kept with the decision)')
    .action((id: string, o: { note?: string }, cmd: Command) => decide(io, cmd, id, 'approved', o.note));
  plan
    .command('reject')
    .description('Reject a plan waiting in the daemon')
    .argument('<id>', 'plan id')
    .option('--note <text>', 'why (kept with the decision)')
    .action((id: string, o: { note?: string }, cmd: Command) => decide(io, cmd, id, 'rejected', o.note));
}
