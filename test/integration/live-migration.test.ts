import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { StorageDaemon } from '../../src/hypervisor/index.js';
import { AppError, MiB } from '../../src/shared/index.js';
import { makeDeployment, objectsIn, SMALL_CONFIG, type Deployment } from './deployment.js';
import { BLOCK, NbdClient, PatternWriter, verifyImage } from './nbd-writer.js';

// In-use volumes move live: the consumer keeps writing through one NBD connection during the copy
// and the pivot, and every write acknowledged to it is checked afterwards. Real qemu-storage-daemon,
// real exporters (the built CLI), real volume files.
const CLI = resolve('dist/src/cli/main.js');
// The mirror is rate-capped (copy.bpsLimit) so writes land during the copy and the pivot.
const CONFIG = SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 192MiB/s }');
const WRITE_BLOCKS = (32 * MiB) / BLOCK; // the writer's area: the first 32 MiB of a 1 GiB volume

let d: Deployment;
beforeAll(() => {
  for (const tool of ['qemu-storage-daemon', 'qemu-img']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: install qemu-system-common and qemu-utils (.ci/run does)`);
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});
afterEach(async () => {
  // Leave no storage daemon or exporter behind, whatever a test did.
  const s = await d.open({ hypervisor: true }).catch(() => null);
  if (s) {
    for (const v of s.listVolumes()) if (v.status === 'in-use') await s.detachVolume(v.id).catch(() => undefined);
  }
  await d.cleanup();
});

function socketOf(address: string): string {
  return new URL(address).searchParams.get('socket')!;
}

async function attachWithWriter(s: BlockService, type: string, host: string) {
  const v = await s.createVolume({ sizeGiB: 1, type, host, name: 'vm-disk' });
  const { address } = await s.attachVolume(v.id, { instanceUuid: 'vm-1' });
  if (!address) throw new Error('no consumer address');
  const client = await NbdClient.connect(socketOf(address), v.id);
  const writer = new PatternWriter(client, { blocks: WRITE_BLOCKS, queueDepth: 4, seed: 17 });
  writer.start();
  await writer.until(() => writer.acked >= 200, 30_000, '200 writes before the move');
  return { v, address, client, writer };
}

/** Stops the writer, detaches, reads the volume back and checks every acknowledged write. */
async function verifyAllAcked(s: BlockService, volumeId: string, client: NbdClient, writer: PatternWriter): Promise<void> {
  await writer.stop();
  await client.disconnect();
  expect(writer.errors).toEqual([]);
  await s.detachVolume(volumeId);
  const out = join(d.dir, `verify-${volumeId}.raw`);
  await s.readVolume(volumeId, out);
  const result = await verifyImage(out, WRITE_BLOCKS * BLOCK, writer.last, { only: new Set(writer.last.keys()) });
  expect(result.bad).toEqual([]);
  expect(result.checked).toBe(writer.last.size);
}

describe('live migration of in-use volumes: not one acknowledged write lost', () => {
  test.each([
    { name: 'raw → raw (another pool of the back-end)', type: 'gold', from: 'ballast@fast#ssd-a', to: 'ballast@fast#ssd-b' },
    { name: 'raw → chunked (file to Ballast NBD export)', type: 'any', from: 'ballast@fast#ssd-a', to: 'ballast@capacity#hdd-a' },
    { name: 'chunked → raw', type: 'any', from: 'ballast@capacity#hdd-a', to: 'ballast@fast#ssd-b' },
    { name: 'chunked → chunked', type: 'standard', from: 'ballast@capacity#hdd-a', to: 'ballast@capacity#hdd-b' },
  ])('$name', async ({ type, from, to }) => {
    d = await makeDeployment(CONFIG);
    const s = await d.open({ hypervisor: true });
    const { v, address, client, writer } = await attachWithWriter(s, type, from);
    const phases = new Set<string>();
    let copyingSeen = 0;
    const startAcked = writer.acked;
    const m = await s.migrateVolume(v.id, to, {
      onProgress: (p) => {
        phases.add(p.phase);
        if (p.phase === 'copying' && p.bytesCopied > 0 && p.bytesCopied < p.bytesTotal) copyingSeen++;
      },
    });
    expect(m).toMatchObject({ outcome: 'success', path: 'live', phase: 'done' });
    expect([...phases]).toEqual(expect.arrayContaining(['creating-dest', 'copying', 'pivoted', 'done']));
    expect(copyingSeen).toBeGreaterThan(0);
    expect(writer.acked - startAcked).toBeGreaterThan(50); // writes landed during the move
    const afterPivot = writer.acked;
    await writer.until(() => writer.acked >= afterPivot + 200, 30_000, '200 writes after the pivot');
    const after = s.getVolume(v.id);
    expect(after).toMatchObject({ host: to, status: 'in-use', migrationStatus: 'success', nameIdOverride: m.targetVolumeId });
    expect(s.attachmentAddress(s.attachments(v.id)[0]!.id)).toBe(address); // the consumer's address did not change
    const [fromBackend, fromPool] = from.split('@')[1]!.split('#') as [string, string];
    expect(await objectsIn(d, fromBackend, fromPool)).toEqual([]);
    await verifyAllAcked(s, v.id, client, writer);
  });

  test('a failure before the pivot: job cancelled, consumer still on the source with every write, destination removed', async () => {
    d = await makeDeployment(CONFIG);
    const s = await d.open({ hypervisor: true, faults: { at: (st, info) => { if (st === 'mid-copy' && (info.bytesCopied ?? 0) > 64 * MiB) throw new AppError('DRIVER_ERROR', 'injected mid-mirror'); } } });
    const { v, client, writer } = await attachWithWriter(s, 'any', 'ballast@fast#ssd-a');
    await expect(s.migrateVolume(v.id, 'ballast@capacity#hdd-a')).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const before = writer.acked;
    await writer.until(() => writer.acked >= before + 100, 30_000, 'writes after the failed move');
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'in-use', migrationStatus: 'error' });
    expect(await objectsIn(d, 'capacity', 'hdd-a')).toEqual([]);
    expect(s.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
    await verifyAllAcked(s, v.id, client, writer);
  });

  test('Ballast killed (kill -9) mid-mirror → the next start cancels the job and rolls back; the consumer never noticed', async () => {
    d = await makeDeployment(CONFIG.replace('bpsLimit: 192MiB/s', 'bpsLimit: 32MiB/s'));
    const s = await d.open({ hypervisor: true });
    const { v, client, writer } = await attachWithWriter(s, 'any', 'ballast@fast#ssd-a');
    s.close();
    const child = spawn(process.execPath, [CLI, 'migrate', v.id, 'ballast@capacity#hdd-a', '--wait'], {
      env: { ...process.env, BALLAST_CONFIG: d.config.configFile, BALLAST_FAULT: `crash:mid-copy:${48 * MiB}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exit = await new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    expect(exit, stderr).toBe('SIGKILL');
    const mid = writer.acked;
    await writer.until(() => writer.acked >= mid + 100, 30_000, 'writes while Ballast is dead');
    const restarted = await d.open({ hypervisor: true });
    expect(restarted.recovery).toEqual([expect.objectContaining({ volumeId: v.id, action: 'rolled-back' })]);
    expect(restarted.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'in-use', migrationStatus: 'error' });
    const hv = StorageDaemon.find;
    expect(typeof hv).toBe('function');
    expect(await objectsIn(d, 'capacity', 'hdd-a')).toEqual([]);
    const after = writer.acked;
    await writer.until(() => writer.acked >= after + 100, 30_000, 'writes after recovery');
    await verifyAllAcked(restarted, v.id, client, writer);
  });

  test('ballast migration cancel stops a live move run by another process', async () => {
    d = await makeDeployment(CONFIG.replace('bpsLimit: 192MiB/s', 'bpsLimit: 16MiB/s'));
    const s = await d.open({ hypervisor: true });
    const { v, client, writer } = await attachWithWriter(s, 'gold', 'ballast@fast#ssd-a');
    const child = spawn(process.execPath, [CLI, 'migrate', v.id, 'ballast@fast#ssd-b', '--wait'], { env: { ...process.env, BALLAST_CONFIG: d.config.configFile }, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    const deadline = Date.now() + 60_000;
    while (!(s.latestMigration(v.id)?.phase === 'mirroring' && (s.latestMigration(v.id)?.bytesCopied ?? 0) > 0)) {
      if (Date.now() > deadline) throw new Error('the live copy never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = await s.cancelMigration(v.id);
    expect(m).toMatchObject({ phase: 'failed', errorCode: 'CANCELLED' });
    expect(await exited).toBe(6);
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'in-use', migrationStatus: 'error' });
    await verifyAllAcked(s, v.id, client, writer);
  });
});

describe('bad input around attached volumes: refused, nothing changed', () => {
  test('multiattach, detach and delete during a live move, attach in maintenance, write behind the consumer', async () => {
    d = await makeDeployment(CONFIG.replace('bpsLimit: 192MiB/s', 'bpsLimit: 16MiB/s'));
    const s = await d.open({ hypervisor: true });
    // a volume attached twice (multiattach) cannot move live
    const multi = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    await s.attachVolume(multi.id, { instanceUuid: 'vm-1' });
    s.ctx.repo.insertAttachment({ id: 'second-attachment', volumeId: multi.id, instanceUuid: 'vm-2', attachedHost: null, mountpoint: null, attachMode: 'rw', createdAtMs: 0 });
    await expect(s.acceptMigration(multi.id, 'ballast@fast#ssd-b')).rejects.toMatchObject({ code: 'INVALID_VOLUME', message: expect.stringContaining('multiattached') });
    expect(s.getVolume(multi.id)).toMatchObject({ status: 'in-use', migrationStatus: null });
    s.ctx.repo.markAttachmentDeleted('second-attachment');

    // detach and delete while it moves live
    const m = await s.acceptMigration(multi.id, 'ballast@fast#ssd-b');
    const run = s.runMigration(m.id);
    await expect(s.detachVolume(multi.id)).rejects.toMatchObject({ code: 'INVALID_VOLUME', message: expect.stringContaining('migrating') });
    await expect(s.deleteVolume(multi.id)).rejects.toMatchObject({ code: 'INVALID_VOLUME' });
    expect((await run).outcome).toBe('success');

    // attach of a volume in maintenance; a write behind an attached volume's consumer
    const locked = await s.createVolume({ sizeGiB: 1, type: 'gold', host: 'ballast@fast#ssd-a' });
    s.ctx.repo.updateVolume(locked.id, { status: 'maintenance' }, 0);
    await expect(s.attachVolume(locked.id)).rejects.toMatchObject({ code: 'INVALID_VOLUME', message: expect.stringContaining('maintenance') });
    expect(s.attachments(locked.id)).toEqual([]);
    await expect(s.writeVolume(multi.id, join(d.dir, 'ballast.yaml'), 0)).rejects.toMatchObject({ code: 'INVALID_VOLUME', message: expect.stringContaining('served at') });
  });
});
