import { join } from 'node:path';
import { StorageDaemon, type BlockSource, type DaemonLocation } from '../hypervisor/index.js';
import { isMigrating, parseHost, type Attachment, type Volume } from '../model/index.js';
import { AppError, toAppError } from '../shared/index.js';
import type { ServiceContext } from './context.js';
import type { VolumeLocator } from './driver-port.js';
import { exporterAlive, stopExporter, type ExportLauncher, type ExportProcess } from './exporter.js';
import { inTx } from './state-db.js';

/** The hypervisor side of the embedded service (set when QEMU is used for attachments). */
export interface HypervisorSettings {
  /** Directory for storage daemons' and exporters' sockets, pidfiles and logs. */
  readonly runDir: string;
  /** Starts a Ballast NBD exporter process for handle-only volumes (chunked). */
  readonly launchExporter: ExportLauncher;
}

/** What an attachment row records about its consumer side (JSON in `attachments.hypervisor`). */
export interface AttachmentHypervisorState {
  readonly daemon: DaemonLocation;
  /** `nbd+unix:///<volume id>?socket=<path>`: what the consumer (a VM, qemu-io, nbdcopy) connects to. */
  readonly address: string;
  /** The exporter serving the volume to the daemon (handle-only drivers), or null for files. */
  readonly exporter: ExportProcess | null;
}

export function readHypervisorState(ctx: ServiceContext, attachmentId: string): AttachmentHypervisorState | null {
  const row = ctx.db.prepare('SELECT hypervisor FROM attachments WHERE id = ?').get(attachmentId) as { hypervisor: string | null } | undefined;
  return row?.hypervisor ? (JSON.parse(row.hypervisor) as AttachmentHypervisorState) : null;
}

export function writeHypervisorState(ctx: ServiceContext, attachmentId: string, state: AttachmentHypervisorState): void {
  ctx.db.prepare('UPDATE attachments SET hypervisor = ? WHERE id = ?').run(JSON.stringify(state), attachmentId);
}

function settings(ctx: ServiceContext): HypervisorSettings {
  if (!ctx.hypervisor) throw new AppError('IN_USE_NOT_SUPPORTED', 'this service runs without a hypervisor side (QEMU): attachments are records only');
  return ctx.hypervisor;
}

/**
 * Where QEMU opens a volume object: the file itself (raw), or an NBD export of its handle served
 * by a Ballast exporter process (chunked), started here.
 */
export async function blockSourceFor(ctx: ServiceContext, host: string, loc: VolumeLocator, tag: string): Promise<{ source: BlockSource; exporter: ExportProcess | null }> {
  const hv = settings(ctx);
  const info = await ctx.driverOf(host).connectionInfo(loc);
  if (info.driverVolumeType === 'file') return { source: { kind: 'file', path: info.path }, exporter: null };
  const exporter = await hv.launchExporter({
    backend: ctx.backendOf(host).name,
    pool: parseHost(host).pool!,
    nameId: loc.nameId,
    sizeGiB: loc.sizeGiB,
    socketPath: join(hv.runDir, 'exports', `${tag}.sock`),
    exportName: `volume-${loc.nameId}`,
    pidFile: join(hv.runDir, 'exports', `${tag}.pid`),
  });
  return { source: { kind: 'nbd', socketPath: exporter.socketPath, exportName: exporter.exportName }, exporter };
}

function daemonLocation(ctx: ServiceContext, attachmentId: string): DaemonLocation {
  return { runDir: join(settings(ctx).runDir, 'qsd'), name: `att-${attachmentId.slice(0, 8)}` };
}

/**
 * Attaches a volume for real: a qemu-storage-daemon opens it (through its exporter for chunked
 * volumes) and exports it over NBD on a unix socket, as a VM's disk is served; the attachment row
 * records where, so the consumer side survives a restart of Ballast.
 */
export async function attachLive(ctx: ServiceContext, volumeId: string, opts: { instanceUuid?: string; hostName?: string; mountpoint?: string }): Promise<{ attachment: Attachment; address: string }> {
  settings(ctx);
  const id = ctx.ids();
  const vol = inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    if (v.status !== 'available') {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} status must be available to attach, but current status is: ${v.status}.`);
    }
    if (isMigrating(v.migrationStatus)) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is migrating.`);
    ctx.repo.insertAttachment({ id, volumeId, instanceUuid: opts.instanceUuid ?? null, attachedHost: opts.hostName ?? null, mountpoint: opts.mountpoint ?? null, attachMode: 'rw', createdAtMs: ctx.now() });
    return ctx.repo.updateVolume(volumeId, { status: 'attaching', previousStatus: v.status }, ctx.now());
  });
  let exporter: ExportProcess | null = null;
  let daemon: StorageDaemon | null = null;
  try {
    const src = await blockSourceFor(ctx, vol.host, ctx.locatorOf(vol), `att-${id.slice(0, 8)}-${ctx.locatorOf(vol).nameId.slice(0, 8)}`);
    exporter = src.exporter;
    const loc = daemonLocation(ctx, id);
    daemon = await StorageDaemon.start({ ...loc, source: src.source, exportName: vol.id, writable: true });
    const state: AttachmentHypervisorState = { daemon: loc, address: daemon.address, exporter };
    const attachment = inTx(ctx.db, () => {
      writeHypervisorState(ctx, id, state);
      ctx.repo.updateVolume(volumeId, { status: 'in-use', attachStatus: 'attached' }, ctx.now());
      ctx.repo.addEvent({ atMs: ctx.now(), volumeId, kind: 'volume.attach', message: `attached at ${daemon!.address}` });
      return ctx.repo.listAttachments(volumeId).find((a) => a.id === id)!;
    });
    daemon.disconnect();
    return { attachment, address: state.address };
  } catch (e) {
    await daemon?.stop({ force: true }).catch(() => undefined);
    if (exporter) await stopExporter(exporter).catch(() => undefined);
    inTx(ctx.db, () => {
      ctx.repo.markAttachmentDeleted(id);
      ctx.repo.updateVolume(volumeId, { status: 'available' }, ctx.now());
    });
    throw toAppError(e, 'DRIVER_ERROR');
  }
}

/** Ends an attachment: the export is removed (consumers disconnected), the daemon and exporter stop. */
export async function detachLive(ctx: ServiceContext, volumeId: string, attachmentId?: string): Promise<Volume> {
  const { target, vol } = inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    if (v.status === 'maintenance') throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is in maintenance.`);
    if (isMigrating(v.migrationStatus)) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} is migrating (${v.migrationStatus}); detach after the move ends.`);
    const atts = ctx.repo.listAttachments(volumeId);
    const t = attachmentId ? atts.find((a) => a.id === attachmentId) : atts[0];
    if (!t) throw new AppError('INVALID_VOLUME', `Invalid volume: Volume ${volumeId} has no attachment${attachmentId ? ` ${attachmentId}` : ''}.`);
    return { target: t, vol: ctx.repo.updateVolume(volumeId, { status: 'detaching' }, ctx.now()) };
  });
  const state = readHypervisorState(ctx, target.id);
  try {
    if (state) {
      const daemon = await StorageDaemon.find(state.daemon);
      await daemon?.stop({ force: true });
      if (state.exporter) await stopExporter(state.exporter);
    }
  } catch (e) {
    inTx(ctx.db, () => ctx.repo.updateVolume(volumeId, { status: 'in-use' }, ctx.now()));
    throw toAppError(e, 'DRIVER_ERROR');
  }
  return inTx(ctx.db, () => {
    ctx.repo.markAttachmentDeleted(target.id);
    const left = ctx.repo.listAttachments(volumeId).length;
    ctx.repo.addEvent({ atMs: ctx.now(), volumeId, kind: 'volume.detach', message: `detached ${state?.address ?? ''}` });
    return ctx.repo.updateVolume(volumeId, left === 0 ? { status: 'available', attachStatus: 'detached' } : { status: vol.status === 'detaching' ? 'in-use' : vol.status }, ctx.now());
  });
}

/**
 * On start: every attachment's consumer side must run. A storage daemon found again is kept; one
 * that is gone (e.g. after a reboot) is started again from the recorded state, exporter first.
 */
export async function ensureAttachmentsServed(ctx: ServiceContext): Promise<string[]> {
  if (!ctx.hypervisor) return [];
  const notes: string[] = [];
  const rows = ctx.db.prepare("SELECT a.id AS id, a.volume_id AS volume_id FROM attachments a WHERE a.deleted = 0 AND a.hypervisor IS NOT NULL").all() as { id: string; volume_id: string }[];
  for (const r of rows) {
    const state = readHypervisorState(ctx, r.id)!;
    const vol = ctx.repo.getVolume(r.volume_id);
    if (isMigrating(vol.migrationStatus)) continue; // its migration's recovery decides
    const daemon = await StorageDaemon.find(state.daemon);
    if (daemon) {
      daemon.disconnect();
      continue;
    }
    let exporter = state.exporter;
    if (exporter && !exporterAlive(exporter)) exporter = null;
    const loc = ctx.locatorOf(vol);
    let source: BlockSource;
    if (state.exporter && exporter) source = { kind: 'nbd', socketPath: exporter.socketPath, exportName: exporter.exportName };
    else {
      const s = await blockSourceFor(ctx, vol.host, loc, `att-${r.id.slice(0, 8)}-${loc.nameId.slice(0, 8)}`);
      source = s.source;
      exporter = s.exporter;
    }
    const restarted = await StorageDaemon.start({ ...state.daemon, source, exportName: vol.id, writable: true });
    inTx(ctx.db, () => writeHypervisorState(ctx, r.id, { daemon: state.daemon, address: restarted.address, exporter }));
    restarted.disconnect();
    notes.push(`volume ${vol.id}: attachment ${r.id} served again at ${restarted.address}`);
  }
  return notes;
}
