import type { Command } from 'commander';
import { poolView, snapshotView, typeView } from '../../blockstore/index.js';
import { printJson, renderProperties, renderTable, type CliIo } from '../io.js';
import { resolveVolume, withService } from './common.js';

export function registerPoolCommands(program: Command, io: CliIo): void {
  const pool = program.command('pool').description('back-end pools (Cinder get-pools)');
  pool
    .command('list')
    .description('list pools as host@backend#pool')
    .option('--detail', 'show capabilities (capacity, provisioning, location_info, ...)')
    .action(async (opts: { detail?: boolean }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const pools = (await service.listPools()).map(poolView);
        if (json) return printJson(io, { pools: opts.detail ? pools : pools.map((p) => ({ name: p.name })) });
        if (!opts.detail) return io.stdout(renderTable(['Name'], pools.map((p) => [p.name])));
        io.stdout(
          renderTable(
            ['Name', 'Total GiB', 'Free GiB', 'Allocated GiB', 'Provisioned GiB', 'In-flight GiB', 'Thin', 'MOSR', 'Reserved %', 'AZ', 'Backend name'],
            pools.map((p) => {
              const c = p.capabilities;
              return [p.name, c['total_capacity_gb'], c['free_capacity_gb'], c['allocated_capacity_gb'], c['provisioned_capacity_gb'], c['reserved_for_migrations_gb'], c['thin_provisioning_support'], c['max_over_subscription_ratio'], c['reserved_percentage'], c['availability_zone'], c['volume_backend_name']];
            }),
          ),
        );
      }),
    );

  program
    .command('type')
    .description('volume types')
    .command('list')
    .description('list volume types with their extra specs')
    .action(async (_opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const types = service.listTypes().map(typeView);
        if (json) return printJson(io, types);
        io.stdout(renderTable(['ID', 'Name', 'Extra specs'], types.map((t) => [t['id'], t['name'], t['extra_specs']])));
      }),
    );

  const snapshot = program.command('snapshot').description('volume snapshots');
  snapshot
    .command('create')
    .description('snapshot a volume (a volume with snapshots cannot migrate)')
    .argument('<volume>', 'volume id or name')
    .option('--name <name>', 'snapshot name')
    .action(async (id: string, opts: { name?: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const s = await service.createSnapshot(resolveVolume(service, id).id, opts.name);
        if (json) printJson(io, snapshotView(s));
        else io.stdout(renderProperties(snapshotView(s)));
      }),
    );
  snapshot
    .command('delete')
    .description('delete a snapshot')
    .argument('<snapshot>', 'snapshot id')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        await service.deleteSnapshot(id);
        if (json) printJson(io, { id, deleted: true });
        else io.stdout(`Deleted snapshot ${id}`);
      }),
    );
  snapshot
    .command('list')
    .description('list snapshots')
    .action(async (_opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const snaps = service.listSnapshots().map(snapshotView);
        if (json) return printJson(io, snaps);
        io.stdout(renderTable(['ID', 'Volume ID', 'Status', 'Name', 'Size'], snaps.map((s) => [s['id'], s['volume_id'], s['status'], s['name'], s['size']])));
      }),
    );
}
