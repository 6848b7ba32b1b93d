import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { builtinDrivers } from '../../../drivers/index.js';
import { BlockService, poolView, type MigrationRecord } from '../../blockstore/index.js';
import { BLOCK, NbdClient, PatternWriter, verifyImage } from '../../hypervisor/index.js';
import { serviceOptions } from '../service-factory.js';
import { loadConfig, writeInitConfig } from '../../config/index.js';
import { AppError, formatBytes, MiB, toAppError } from '../../shared/index.js';
import { renderTable, reportError, type CliIo } from '../io.js';
import { ProgressReporter } from '../progress.js';

/** Deterministic pseudo-random bytes (xorshift), so the demo writes the same data every run. */
function seededBytes(seed: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * `ballast demo`: a fresh embedded deployment, volumes holding real data, and real migrations and
 * retypes (driver-assisted, generic block and file copy, across drivers), each checked by reading
 * the data back. Later issues grow this into the full plan-and-apply loop.
 */
export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('set up a demo deployment and migrate and retype volumes holding real data')
    .option('--dir <dir>', 'directory for the demo deployment (recreated)', '.ballast-demo')
    .action(async (opts: { dir: string }) => {
      try {
        await runDemo(io, resolve(opts.dir));
      } catch (e) {
        reportError(io, e, false);
      }
    });
}

async function runDemo(io: CliIo, dir: string): Promise<void> {
  const say = (s: string) => io.stdout(s);
  await rm(dir, { recursive: true, force: true });
  const file = await writeInitConfig(dir);
  const config = await loadConfig(file, { driverNames: Object.keys(builtinDrivers) });
  say(`== 1. A demo deployment: ${file}`);
  const service = await BlockService.open(serviceOptions(config));
  try {
    const pools = (await service.listPools()).map(poolView);
    say(renderTable(['Pool', 'Driver', 'Total GiB', 'Thin', 'Backend name'], pools.map((p) => [p.name, p.name.includes('@fast') ? 'raw' : 'chunked', p.capabilities['total_capacity_gb'], p.capabilities['thin_provisioning_support'], p.capabilities['volume_backend_name']])));

    say('\n== 2. Volumes holding real data');
    const scratch = join(dir, 'scratch');
    await mkdir(scratch, { recursive: true });
    const specs = [
      { name: 'db-1', size: 4, type: 'gold', host: 'ballast@fast#ssd-a', data: 24 * MiB, offset: 0 },
      { name: 'web-1', size: 2, type: 'gold', host: 'ballast@fast#ssd-a', data: 16 * MiB, offset: 512 * MiB + 4096 },
      { name: 'logs-1', size: 8, type: 'standard', host: 'ballast@capacity#hdd-a', data: 32 * MiB, offset: 3 * 1024 * MiB + 123 },
      { name: 'archive-1', size: 10, type: 'standard', host: 'ballast@capacity#hdd-a', data: 20 * MiB, offset: 7 * 1024 * MiB },
    ];
    const sums = new Map<string, { sum: string; offset: number; length: number }>();
    for (const [i, s] of specs.entries()) {
      const v = await service.createVolume({ sizeGiB: s.size, type: s.type, name: s.name, host: s.host });
      const data = seededBytes(1000 + i, s.data);
      const f = join(scratch, `${s.name}.bin`);
      await writeFile(f, data);
      await service.writeVolume(v.id, f, s.offset);
      sums.set(s.name, { sum: sha(data), offset: s.offset, length: s.data });
      say(`created ${s.name} (${s.size} GiB, type ${s.type}) on ${v.host}; wrote ${formatBytes(s.data)} at offset ${s.offset} (sha256 ${sha(data).slice(0, 12)}…)`);
    }
    const idOf = (name: string) => service.listVolumes().find((v) => v.name === name)!.id;

    const move = async (title: string, run: () => Promise<MigrationRecord>) => {
      say(`\n== ${title}`);
      const bar = new ProgressReporter(io, 2000);
      try {
        const m = await run();
        bar.done();
        const v = service.getVolume(m.volumeId);
        say(`   ${m.kind} ${m.outcome}: ${m.path === 'driver' ? 'driver-assisted (no data copied)' : `generic copy of ${formatBytes(m.bytesCopied)}, verified block for block`}`);
        say(`   now: host ${v.host}, status ${v.status}, migration_status ${v.migrationStatus}, name_id ${v.nameIdOverride ?? 'None'}, type ${service.typeById(v.volumeTypeId)?.name}`);
      } catch (e) {
        bar.done();
        const err = toAppError(e);
        say(`   refused as expected: [${err.code}] ${err.message}`);
      }
      return bar;
    };
    const progress = (bar: ProgressReporter | null) => (p: { phase: string; bytesCopied: number; bytesTotal: number }) => {
      if (bar && p.phase === 'copying') bar.update('   copying', p.bytesCopied, p.bytesTotal);
    };
    let bar: ProgressReporter | null = new ProgressReporter(io, 2000);

    await move('3. migrate db-1 ssd-a → ssd-b (same raw back-end: the driver moves it)', () => service.migrateVolume(idOf('db-1'), 'ballast@fast#ssd-b'));
    await move('4. migrate web-1 ssd-a → ssd-b with --force-host-copy (generic block copy)', () =>
      service.migrateVolume(idOf('web-1'), 'ballast@fast#ssd-b', { forceHostCopy: true, onProgress: progress(bar) }),
    );
    bar = new ProgressReporter(io, 2000);
    await move('5. migrate logs-1 hdd-a → hdd-b with --lock-volume (generic file copy through chunked handles)', () =>
      service.migrateVolume(idOf('logs-1'), 'ballast@capacity#hdd-b', { lockVolume: true, onProgress: progress(bar) }),
    );
    bar = new ProgressReporter(io, 2000);
    await move('6. retype archive-1 standard → gold, migration-policy on-demand (chunked → raw, across drivers)', async () => {
      const r = await service.retype(idOf('archive-1'), 'gold', 'on-demand');
      if (r.kind === 'in-place') throw new AppError('INTERNAL', 'expected a migration');
      return service.runMigration(r.migration.id, { onProgress: progress(bar) });
    });
    await liveStep(io, service, scratch);
    await move('8. retype db-1 gold → standard, migration-policy never (needs a migration: refused)', async () => {
      await service.retype(idOf('db-1'), 'standard', 'never');
      throw new AppError('INTERNAL', 'expected a refusal');
    });
    const snap = await service.createSnapshot(idOf('web-1'), 'before-upgrade');
    await move('9. migrate web-1 while it has a snapshot (Cinder refuses; so does Ballast)', () => service.migrateVolume(idOf('web-1'), 'ballast@fast#ssd-a'));
    await service.deleteSnapshot(snap.id);

    say('\n== 10. Every volume read back and checked');
    for (const [name, want] of sums) {
      const out = join(scratch, `${name}.read`);
      await service.readVolume(idOf(name), out);
      const fh = await open(out, 'r');
      const part = Buffer.alloc(want.length);
      await fh.read(part, 0, want.length, want.offset);
      await fh.close();
      const got = sha(part);
      const v = service.getVolume(idOf(name));
      say(`${name.padEnd(10)} on ${v.host.padEnd(24)} sha256 ${got.slice(0, 12)}… ${got === want.sum ? 'identical' : 'MISMATCH'}`);
      if (got !== want.sum) throw new AppError('VERIFY_MISMATCH', `${name}: data changed by the demo's moves`);
      await rm(out);
    }
    say('');
    say(renderTable(['Name', 'Status', 'Migration Status', 'Size', 'Type', 'Host', 'name_id'], service.listVolumes().map((v) => [v.name, v.status, v.migrationStatus, v.sizeGiB, service.typeById(v.volumeTypeId)?.name, v.host, v.nameIdOverride])));
    say(`\nThe deployment stays in ${dir}. Try: BALLAST_CONFIG=${file} npx ballast volume list`);
  } finally {
    service.close();
  }
}

/** Step 7: an attached volume moves live (chunked → raw) while a consumer writes without pause. */
async function liveStep(io: CliIo, service: BlockService, scratch: string): Promise<void> {
  const say = (s: string) => io.stdout(s);
  if (spawnSync('sh', ['-c', 'command -v qemu-storage-daemon']).status !== 0) {
    say('\n== 7. (skipped: qemu-storage-daemon is not installed; run scripts/install-system-deps.sh to see a live move)');
    return;
  }
  say('\n== 7. retype vm-disk standard → gold while attached: a live move (chunked → raw), its consumer writing without pause');
  const vm = await service.createVolume({ sizeGiB: 1, type: 'standard', name: 'vm-disk', host: 'ballast@capacity#hdd-a' });
  const { address } = await service.attachVolume(vm.id, { instanceUuid: 'demo-vm' });
  if (!address) throw new AppError('INTERNAL', 'attach gave no consumer address');
  say(`   attached: ${address}`);
  const client = await NbdClient.connect(new URL(address).searchParams.get('socket')!, vm.id);
  const writer = new PatternWriter(client, { blocks: (32 * MiB) / BLOCK, queueDepth: 4, seed: 42 });
  writer.start();
  try {
    await writer.until(() => writer.acked >= 300, 60_000, 'the consumer to start writing');
    const before = writer.acked;
    const startedAt = Date.now();
    const r = await service.retype(vm.id, 'gold', 'on-demand');
    if (r.kind !== 'migration') throw new AppError('INTERNAL', 'expected a migration');
    const bar = new ProgressReporter(io, 2000);
    const m = await service.runMigration(r.migration.id, { onProgress: (p) => (p.phase === 'copying' ? bar.update('   mirroring', p.bytesCopied, p.bytesTotal) : undefined) });
    bar.done();
    const during = writer.log.filter((w) => w.sentAt >= startedAt);
    const maxLatency = during.reduce((mx, w) => Math.max(mx, w.ackAt - w.sentAt), 0);
    const v = service.getVolume(vm.id);
    say(`   ${m.kind} ${m.outcome} (${m.path}): now on ${v.host}, status ${v.status}, type ${service.typeById(v.volumeTypeId)?.name}, same address`);
    say(`   the consumer wrote on: ${writer.acked - before} writes acknowledged during the move, longest ${maxLatency.toFixed(1)} ms, errors: ${writer.errors.length}`);
  } finally {
    await writer.stop();
    await client.disconnect();
  }
  await service.detachVolume(vm.id);
  const out = join(scratch, 'vm-disk.read');
  await service.readVolume(vm.id, out);
  const check = await verifyImage(out, 32 * MiB, writer.last, { only: new Set(writer.last.keys()) });
  await rm(out);
  if (check.badCount > 0 || writer.errors.length > 0) throw new AppError('VERIFY_MISMATCH', `vm-disk: ${check.badCount} acknowledged writes missing after the live move`);
  say(`   detached and checked: every one of the ${check.checked} last acknowledged writes (of ${writer.acked}) is in the destination`);
}
