import { StorageDaemon } from '../hypervisor/index.js';
import type { Attachment, Volume } from '../model/index.js';
import { AppError, toAppError } from '../shared/index.js';
import { blockSourceFor, readHypervisorState, writeHypervisorState } from './attachments.js';
import type { ServiceContext } from './context.js';
import { stopExporter, type ExportProcess } from './exporter.js';
import { finishSwappedMigration } from './migration-cleanup.js';
import type { MigrationPhase, MigrationRecord } from './migration-journal.js';
import { inTx } from './state-db.js';

/** What a live migration records (JSON in `migrations.live_state`) so a restart can finish it. */
export interface LiveState {
  readonly attachmentId: string;
  /** The exporter serving the destination to the storage daemon (handle-only drivers). */
  readonly targetExporter: ExportProcess | null;
}

export function readLiveState(ctx: ServiceContext, migrationId: string): LiveState | null {
  const row = ctx.db.prepare('SELECT live_state FROM migrations WHERE id = ?').get(migrationId) as { live_state: string | null } | undefined;
  return row?.live_state ? (JSON.parse(row.live_state) as LiveState) : null;
}

function writeLiveState(ctx: ServiceContext, migrationId: string, s: LiveState): void {
  ctx.db.prepare('UPDATE migrations SET live_state = ? WHERE id = ?').run(JSON.stringify(s), migrationId);
}

export interface LiveRun {
  readonly signal?: AbortSignal;
  readonly progress: (phase: MigrationPhase, copied?: number, total?: number) => void;
  readonly setStage: (s: string) => void;
  readonly createDestination: () => Promise<Volume>;
}

/**
 * Moves an attached volume live (Nova's swap_volume, done by Ballast itself): the destination is
 * created, the consumer's storage daemon mirrors onto it (`blockdev-mirror`, write-blocking) and
 * pivots (`job-complete`); only then are the rows swapped and the source deleted. The consumer's
 * NBD connection stays open throughout. Before the pivot every failure cancels the job: the
 * consumer stays on the source with every write.
 */
export async function executeLive(ctx: ServiceContext, m: MigrationRecord, attachment: Attachment, run: LiveRun): Promise<void> {
  const hv = readHypervisorState(ctx, attachment.id);
  if (!hv) throw new AppError('IN_USE_NOT_SUPPORTED', `attachment ${attachment.id} has no hypervisor side to move it live`);
  run.setStage('create-dest');
  const target = await run.createDestination();
  const targetLoc = ctx.locatorOf(target);
  const { source, exporter } = await blockSourceFor(ctx, m.destHost, targetLoc, `mig-${m.id.slice(0, 8)}`);
  inTx(ctx.db, () => {
    writeLiveState(ctx, m.id, { attachmentId: attachment.id, targetExporter: exporter });
    ctx.journal.update(m.id, { phase: 'mirroring', path: 'live' }, ctx.now());
  });
  run.setStage('mirror');
  const internal = new AbortController();
  const onAbort = () => internal.abort();
  run.signal?.addEventListener('abort', onAbort, { once: true });
  if (run.signal?.aborted) internal.abort();
  let injected: unknown = null;
  let lastSave = 0;
  let daemon: StorageDaemon | null = null;
  try {
    daemon = await StorageDaemon.find(hv.daemon);
    if (!daemon) throw new AppError('DRIVER_ERROR', `the storage daemon serving volume ${m.volumeId} (${hv.daemon.name}) is not running`);
    await daemon.mirrorTo(source, {
      ...(ctx.copy.bpsLimit > 0 ? { speedBytesPerSec: ctx.copy.bpsLimit } : {}),
      signal: internal.signal,
      jobId: `mirror-${m.id.slice(0, 8)}`,
      onProgress: ({ offset, len }) => {
        try {
          ctx.faults.at('mid-copy', { migrationId: m.id, bytesCopied: offset });
        } catch (e) {
          injected = e;
          internal.abort();
          return;
        }
        const now = ctx.now();
        if (now - lastSave >= 500) {
          lastSave = now;
          ctx.journal.update(m.id, { bytesCopied: offset, bytesTotal: len }, now);
        }
        run.progress('copying', offset, len);
      },
    });
  } catch (e) {
    daemon?.disconnect();
    if (exporter) await stopExporter(exporter).catch(() => undefined);
    throw injected ?? (run.signal?.aborted ? new AppError('CANCELLED', 'cancelled', { cause: e }) : e);
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
  }
  daemon.disconnect();
  // The destination is live: from here the move can only go forward.
  inTx(ctx.db, () => {
    ctx.journal.update(m.id, { phase: 'pivoted' }, ctx.now());
    ctx.repo.addEvent({ atMs: ctx.now(), volumeId: m.volumeId, migrationId: m.id, kind: `${m.kind}.pivoted`, message: `consumer now served from ${m.destHost}` });
  });
  run.progress('pivoted');
  await finishLive(ctx, m.id);
}

/**
 * After the pivot: rows swapped (the volume keeps its id, `name_id` names the destination
 * object, status stays in-use), the attachment records the new exporter, the old exporter stops,
 * then the old object is deleted. Idempotent: a restart may call it again.
 */
export async function finishLive(ctx: ServiceContext, migrationId: string): Promise<void> {
  const m = ctx.journal.get(migrationId);
  const live = readLiveState(ctx, migrationId);
  if (!live) throw new AppError('INTERNAL', `live migration ${migrationId} has no recorded state`);
  if (m.phase === 'pivoted' || m.phase === 'completing') {
    ctx.faults.at('completing', { migrationId });
    const old = readHypervisorState(ctx, live.attachmentId);
    inTx(ctx.db, () => {
      const now = ctx.now();
      const v = ctx.repo.getVolume(m.volumeId);
      const t = ctx.repo.getVolume(m.targetVolumeId!);
      ctx.repo.updateVolume(v.id, {
        host: t.host,
        availabilityZone: t.availabilityZone,
        nameIdOverride: t.id,
        providerLocation: t.providerLocation,
        volumeTypeId: t.volumeTypeId,
        status: v.status === 'retyping' ? (v.previousStatus ?? 'in-use') : v.status,
        previousStatus: v.status,
        migrationStatus: 'success',
      }, now);
      ctx.repo.updateVolume(t.id, { host: v.host, availabilityZone: v.availabilityZone, nameIdOverride: m.srcNameId, providerLocation: v.providerLocation, status: 'deleting', migrationStatus: 'deleting', description: `migration src for ${v.id}` }, now);
      if (old) writeHypervisorState(ctx, live.attachmentId, { ...old, exporter: live.targetExporter });
      ctx.journal.release(m.id);
      ctx.journal.update(m.id, { phase: 'swapped', finalNameId: t.id }, now);
      ctx.repo.addEvent({ atMs: now, volumeId: v.id, migrationId: m.id, kind: `${m.kind}.swapped`, message: `volume ${v.id} now on ${t.host} (name_id ${t.id}), attached throughout; deleting old data on ${v.host}` });
    });
    if (old?.exporter) await stopExporter(old.exporter);
  }
  ctx.faults.at('delete-source', { migrationId });
  await finishSwappedMigration(ctx, migrationId, 'success');
}

/**
 * Recovery of a live migration whose process died: before the pivot the job is cancelled and the
 * move rolled back (the caller removes the destination); after it, the move is finished.
 * Returns what happened.
 */
export async function recoverLive(ctx: ServiceContext, m: MigrationRecord): Promise<'rolled-back' | 'rolled-forward'> {
  const live = readLiveState(ctx, m.id);
  if (m.phase === 'pivoted' || m.phase === 'completing') {
    await finishLive(ctx, m.id);
    return 'rolled-forward';
  }
  if (live) {
    const hv = readHypervisorState(ctx, live.attachmentId);
    const daemon = hv ? await StorageDaemon.find(hv.daemon) : null;
    if (daemon) {
      try {
        const mirror = daemon.describe().mirror;
        if (mirror) {
          const r = await daemon.cancelMirror(mirror.jobId);
          if (!r.cancelled) {
            // The pivot had happened before the crash: the destination is live.
            ctx.journal.update(m.id, { phase: 'pivoted' }, ctx.now());
            await finishLive(ctx, m.id);
            return 'rolled-forward';
          }
        }
      } finally {
        daemon.disconnect();
      }
    }
    if (live.targetExporter) await stopExporter(live.targetExporter).catch((e: unknown) => { throw toAppError(e); });
  }
  return 'rolled-back';
}
