import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { migrationView, type BlockService, type MigrationRecord } from '../../blockstore/index.js';
import { resolveConfigPath } from '../../config/index.js';
import { AppError, toAppError } from '../../shared/index.js';
import { printJson, renderProperties, renderTable, reportError, type CliIo } from '../io.js';
import { ProgressReporter } from '../progress.js';
import { loadCliConfig, openService } from '../service-factory.js';
import { globals, resolveVolume, withService } from './common.js';
import { showVolume } from './volume.js';

interface MigrateFlags {
  forceHostCopy?: boolean;
  lockVolume?: boolean;
  wait?: boolean;
}

interface RetypeFlags {
  migrationPolicy?: string;
  wait?: boolean;
}

/** Runs an accepted migration here, with a progress bar, and prints the volume at the end. */
async function runWithProgress(io: CliIo, service: BlockService, m: MigrationRecord, json: boolean): Promise<void> {
  const bar = new ProgressReporter(io);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const done = await service.runMigration(m.id, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'copying') bar.update('copying', p.bytesCopied, p.bytesTotal);
        else if (p.phase !== 'done') bar.phase(p.phase);
      },
    });
    bar.done();
    const view = showVolume(service, service.getVolume(m.volumeId));
    if (json) printJson(io, { migration: migrationView(done), volume: view });
    else {
      io.stdout(`Migration ${done.id}: ${done.outcome ?? done.phase} (${done.path === 'driver' ? 'driver-assisted' : done.path === 'live' ? 'live copy, consumer attached throughout' : 'generic copy'})`);
      io.stdout(renderProperties(view));
    }
  } finally {
    bar.done();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * Without --wait, like Cinder's 202: a detached worker process accepts and runs the move; this
 * command returns once the worker has accepted it (or prints why it was refused).
 */
async function startWorker(io: CliIo, cmd: Command, args: string[]): Promise<void> {
  const g = globals(cmd);
  const config = await loadCliConfig(g);
  const logDir = join(config.dataDir, '.logs');
  mkdirSync(logDir, { recursive: true });
  const logFd = openSync(join(logDir, 'workers.log'), 'a');
  const child = spawn(process.execPath, [process.argv[1]!, '--config', resolve(resolveConfigPath(g.config)), '--json', '_worker', ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', logFd],
    env: process.env,
  });
  closeSync(logFd);
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string | null>((res) => {
    lines.once('line', (l) => res(l));
    child.once('exit', () => res(null));
  });
  lines.close();
  child.stdout!.destroy();
  child.unref();
  if (first === null) throw new AppError('INTERNAL', `worker exited before accepting; see ${join(logDir, 'workers.log')}`);
  const msg = JSON.parse(first) as { accepted?: Record<string, unknown>; inPlace?: Record<string, unknown>; error?: { code: string; message: string } };
  if (msg.error) throw new AppError(msg.error.code as never, msg.error.message);
  if (g.json) return printJson(io, msg);
  if (msg.inPlace) return io.stdout(`Volume ${String(msg.inPlace['id'])} retyped in place to ${String(msg.inPlace['volume_type'])}`);
  const m = msg.accepted!;
  io.stdout(`Accepted: ${String(m['kind'])} ${String(m['id'])} of volume ${String(m['volume_id'])} from ${String(m['source'])} to ${String(m['destination'])}`);
  io.stdout(`Follow it with: ballast volume show ${String(m['volume_id'])}  (or: ballast migration show ${String(m['id'])})`);
}

export function registerMigrateCommands(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('migrate a volume to another pool (cinder migrate)')
    .argument('<volume>', 'volume id or name')
    .argument('<host>', 'destination host@backend#pool (or host@backend: best pool there)')
    .option('--force-host-copy', 'skip the driver-assisted move; always copy through the host')
    .option('--lock-volume', 'keep an available volume in maintenance for the whole move')
    .option('--wait', 'run the move in this process and show progress until it ends')
    .action(async (vol: string, host: string, opts: MigrateFlags, cmd: Command) => {
      if (!opts.wait) {
        try {
          await startWorker(io, cmd, ['migrate', vol, host, ...(opts.forceHostCopy ? ['--force-host-copy'] : []), ...(opts.lockVolume ? ['--lock-volume'] : [])]);
        } catch (e) {
          reportError(io, e, globals(cmd).json === true);
        }
        return;
      }
      await withService(io, cmd, async (service, json) => {
        const v = resolveVolume(service, vol);
        const m = await service.acceptMigration(v.id, host, { forceHostCopy: opts.forceHostCopy === true, lockVolume: opts.lockVolume === true });
        if (!json) io.stderr(`Accepted migration ${m.id}: ${m.srcHost} → ${m.destHost}`);
        await runWithProgress(io, service, m, json);
      });
    });

  program
    .command('retype')
    .description('change a volume type (cinder retype)')
    .argument('<volume>', 'volume id or name')
    .argument('<type>', 'new volume type (name or id)')
    .option('--migration-policy <policy>', 'never | on-demand', 'never')
    .option('--wait', 'run a needed migration in this process and show progress')
    .action(async (vol: string, type: string, opts: RetypeFlags, cmd: Command) => {
      if (!opts.wait) {
        try {
          await startWorker(io, cmd, ['retype', vol, type, '--migration-policy', opts.migrationPolicy ?? 'never']);
        } catch (e) {
          reportError(io, e, globals(cmd).json === true);
        }
        return;
      }
      await withService(io, cmd, async (service, json) => {
        const v = resolveVolume(service, vol);
        const r = await service.retype(v.id, type, (opts.migrationPolicy ?? 'never') as 'never');
        if (r.kind === 'in-place') {
          const view = showVolume(service, r.volume);
          if (json) printJson(io, { in_place: true, volume: view });
          else io.stdout(`Retyped in place.\n${renderProperties(view)}`);
          return;
        }
        if (!json) io.stderr(`Retype needs a migration: ${r.migration.srcHost} → ${r.migration.destHost}`);
        await runWithProgress(io, service, r.migration, json);
      });
    });

  const migration = program.command('migration').description('migrations and their journal');
  migration
    .command('list')
    .description('recent migrations, newest first')
    .option('--limit <n>', 'how many', '20')
    .action(async (opts: { limit: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const ms = service.migrations(Number(opts.limit) || 20).map(migrationView);
        if (json) return printJson(io, ms);
        io.stdout(
          renderTable(
            ['ID', 'Volume', 'Kind', 'Source', 'Destination', 'Path', 'Phase', 'Outcome', 'Copied'],
            ms.map((m) => [m['id'], m['volume_id'], m['kind'], m['source'], m['destination'], m['path'], m['phase'], m['outcome'], `${String(m['bytes_copied'])}/${String(m['bytes_total'])}`]),
          ),
        );
      }),
    );
  migration
    .command('cancel')
    .description('cancel the running move of a volume (available or in-use): it rolls back, the volume stays on its source')
    .argument('<volume>', 'volume id or name')
    .action(async (vol: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const m = await service.cancelMigration(resolveVolume(service, vol).id);
        if (json) printJson(io, migrationView(m));
        else io.stdout(`Migration ${m.id} of volume ${m.volumeId}: ${m.outcome}${m.errorCode ? ` (${m.errorCode})` : ''}; volume on ${service.getVolume(m.volumeId).host}`);
      }),
    );
  migration
    .command('show')
    .description('one migration')
    .argument('<id>', 'migration id')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const m = service.migration(id);
        if (!m) throw new AppError('INVALID_INPUT', `no migration ${id}`);
        if (json) printJson(io, migrationView(m));
        else io.stdout(renderProperties(migrationView(m)));
      }),
    );

  program
    .command('events')
    .description('what the service did, oldest first')
    .option('--limit <n>', 'how many', '50')
    .action(async (opts: { limit: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const ev = service.events(Number(opts.limit) || 50);
        if (json) return printJson(io, ev);
        io.stdout(renderTable(['At', 'Kind', 'Volume', 'Message'], ev.map((e) => [new Date(e.at).toISOString(), e.kind, e.volumeId, e.message])));
      }),
    );

  // The detached worker behind `migrate`/`retype` without --wait. Not for direct use. Its first
  // stdout line is the acceptance (or the refusal) that the parent prints; the rest goes to its log.
  const worker = program.command('_worker', { hidden: true });
  worker
    .command('migrate')
    .argument('<volume>')
    .argument('<host>')
    .option('--force-host-copy')
    .option('--lock-volume')
    .action(async (vol: string, host: string, opts: MigrateFlags, cmd: Command) =>
      workerRun(io, cmd, async (service, announce, signal) => {
        const v = resolveVolume(service, vol);
        const m = await service.acceptMigration(v.id, host, { forceHostCopy: opts.forceHostCopy === true, lockVolume: opts.lockVolume === true });
        announce({ accepted: migrationView(m) });
        return service.runMigration(m.id, { signal });
      }),
    );
  worker
    .command('retype')
    .argument('<volume>')
    .argument('<type>')
    .option('--migration-policy <policy>', 'never | on-demand', 'never')
    .action(async (vol: string, type: string, opts: RetypeFlags, cmd: Command) =>
      workerRun(io, cmd, async (service, announce, signal) => {
        const v = resolveVolume(service, vol);
        const r = await service.retype(v.id, type, (opts.migrationPolicy ?? 'never') as 'never');
        if (r.kind === 'in-place') {
          announce({ inPlace: showVolume(service, r.volume) });
          return null;
        }
        announce({ accepted: migrationView(r.migration) });
        return service.runMigration(r.migration.id, { signal });
      }),
    );
}

async function workerRun(
  io: CliIo,
  cmd: Command,
  body: (service: BlockService, announce: (msg: unknown) => void, signal: AbortSignal) => Promise<MigrationRecord | null>,
): Promise<void> {
  let announced = false;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const announce = (msg: unknown) => {
    process.stdout.write(`${JSON.stringify(msg)}\n`);
    announced = true;
  };
  let service: BlockService | null = null;
  try {
    service = (await openService(io, globals(cmd))).service;
    const done = await body(service, announce, controller.signal);
    if (done) io.stderr(`${new Date().toISOString()} ${done.kind} ${done.id} of volume ${done.volumeId}: ${done.outcome ?? done.phase}`);
  } catch (e) {
    const err = toAppError(e);
    if (!announced) announce({ error: err.toJSON() });
    io.stderr(`${new Date().toISOString()} ERROR [${err.code}]: ${err.message}`);
    io.setExitCode(err.exitCode);
  } finally {
    service?.close();
  }
}
