import type { Command } from 'commander';
import { volumeView } from '../../blockstore/index.js';
import { formatBytes } from '../../shared/index.js';
import { printJson, renderProperties, renderTable, type CliIo } from '../io.js';
import { ProgressReporter } from '../progress.js';
import { parseNonNegativeInt, resolveVolume, withService } from './common.js';
import type { BlockService } from '../../blockstore/index.js';
import type { Volume } from '../../model/index.js';

export function showVolume(service: BlockService, v: Volume): Record<string, unknown> {
  return volumeView(v, service.typeById(v.volumeTypeId), service.attachments(v.id), service.latestMigration(v.id));
}

export function registerVolumeCommands(program: Command, io: CliIo): void {
  const volume = program.command('volume').description('volumes of the embedded block service');

  volume
    .command('create')
    .description('create a volume (the scheduler picks a pool unless --host is given)')
    .argument('<size>', 'size in GiB (positive integer)')
    .option('--type <type>', 'volume type (name or id); default: the configured default type')
    .option('--name <name>', 'volume name')
    .option('--description <text>', 'volume description')
    .option('--host <host>', 'host@backend[#pool] to create on')
    .option('--availability-zone <zone>', 'availability zone')
    .action(async (size: string, opts: { type?: string; name?: string; description?: string; host?: string; availabilityZone?: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = await service.createVolume({
          sizeGiB: size,
          type: opts.type,
          name: opts.name,
          description: opts.description,
          host: opts.host,
          availabilityZone: opts.availabilityZone,
        });
        const view = showVolume(service, v);
        if (json) printJson(io, view);
        else io.stdout(renderProperties(view));
      }),
    );

  volume
    .command('list')
    .description('list volumes (admin view: host and migration status)')
    .option('--all', 'include temporary migration targets')
    .action(async (opts: { all?: boolean }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const vols = service.listVolumes(opts.all === true);
        if (json) return printJson(io, vols.map((v) => showVolume(service, v)));
        io.stdout(
          renderTable(
            ['ID', 'Status', 'Migration Status', 'Name', 'Size', 'Volume Type', 'Host'],
            vols.map((v) => [v.id, v.status, v.migrationStatus, v.name, v.sizeGiB, service.typeById(v.volumeTypeId)?.name, v.host]),
          ),
        );
      }),
    );

  volume
    .command('show')
    .description('show a volume with Cinder field names')
    .argument('<volume>', 'volume id or name')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const view = showVolume(service, resolveVolume(service, id));
        if (json) printJson(io, view);
        else io.stdout(renderProperties(view));
      }),
    );

  volume
    .command('delete')
    .description('delete a volume and its data')
    .argument('<volume>', 'volume id or name')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = resolveVolume(service, id);
        await service.deleteVolume(v.id);
        if (json) printJson(io, { id: v.id, deleted: true });
        else io.stdout(`Deleted volume ${v.id}`);
      }),
    );

  volume
    .command('extend')
    .description('grow a volume')
    .argument('<volume>', 'volume id or name')
    .argument('<new-size>', 'new size in GiB')
    .action(async (id: string, size: string, _opts: unknown, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = await service.extendVolume(resolveVolume(service, id).id, size);
        const view = showVolume(service, v);
        if (json) printJson(io, view);
        else io.stdout(renderProperties(view));
      }),
    );

  volume
    .command('write')
    .description("write a file's bytes into a volume")
    .argument('<volume>', 'volume id or name')
    .requiredOption('--from <file>', 'file to write')
    .option('--offset <bytes>', 'byte offset in the volume', '0')
    .action(async (id: string, opts: { from: string; offset: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = resolveVolume(service, id);
        const offset = parseNonNegativeInt(opts.offset, 'offset');
        const bar = new ProgressReporter(io);
        const r = await service.writeVolume(v.id, opts.from, offset, (p) => bar.update('writing', p.bytesDone, p.bytesTotal));
        bar.done();
        if (json) printJson(io, { id: v.id, bytes_written: r.bytesWritten, offset });
        else io.stdout(`Wrote ${r.bytesWritten} bytes (${formatBytes(r.bytesWritten)}) to volume ${v.id} at offset ${offset}`);
      }),
    );

  volume
    .command('read')
    .description('read a whole volume into a file (unwritten areas stay holes)')
    .argument('<volume>', 'volume id or name')
    .requiredOption('--to <file>', 'file to write the volume into')
    .action(async (id: string, opts: { to: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = resolveVolume(service, id);
        const bar = new ProgressReporter(io);
        const r = await service.readVolume(v.id, opts.to, (p) => bar.update('reading', p.bytesDone, p.bytesTotal));
        bar.done();
        if (json) printJson(io, { id: v.id, bytes_read: r.bytesRead, size_bytes: r.sizeBytes, file: opts.to });
        else io.stdout(`Read volume ${v.id} (${formatBytes(r.sizeBytes)}, ${formatBytes(r.bytesRead)} allocated) into ${opts.to}`);
      }),
    );

  volume
    .command('attach')
    .description('attach a volume: a qemu-storage-daemon serves it over NBD; prints the consumer address')
    .argument('<volume>', 'volume id or name')
    .option('--instance <uuid>', 'consumer instance id')
    .option('--mountpoint <path>', 'device name on the consumer')
    .action(async (id: string, opts: { instance?: string; mountpoint?: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const { attachment: a, address } = await service.attachVolume(resolveVolume(service, id).id, {
          ...(opts.instance ? { instanceUuid: opts.instance } : {}),
          ...(opts.mountpoint ? { mountpoint: opts.mountpoint } : {}),
        });
        if (json) printJson(io, { attachment_id: a.id, volume_id: a.volumeId, address });
        else if (address) io.stdout(address);
        else io.stdout(`Attached volume ${a.volumeId} (attachment ${a.id}, record only: no hypervisor side)`);
      }),
    );

  volume
    .command('detach')
    .description('remove an attachment')
    .argument('<volume>', 'volume id or name')
    .option('--attachment <id>', 'attachment id (default: the first)')
    .action(async (id: string, opts: { attachment?: string }, cmd: Command) =>
      withService(io, cmd, async (service, json) => {
        const v = await service.detachVolume(resolveVolume(service, id).id, opts.attachment);
        if (json) printJson(io, showVolume(service, v));
        else io.stdout(`Detached volume ${v.id}: status ${v.status}`);
      }),
    );
}
