/**
 * Admin operations of Cinder's API that the embedded service needs for its HTTP face:
 * `os-reset_status`, `os-migrate_volume_completion` and volume type management (create, extra
 * specs). Each validates everything first; a refused request changes nothing.
 *
 * @module
 */
import { type MigrationStatus, type Volume, type VolumeStatus, type VolumeType } from '../model/index.js';
import { AppError } from '../shared/index.js';
import { readHypervisorState } from './attachments.js';
import type { ServiceContext } from './context.js';
import { inTx } from './state-db.js';

/** The body of `os-reset_status` (section 1.4): at least one key. */
export interface ResetStatusRequest {
  readonly status?: string | null | undefined;
  readonly attachStatus?: string | null | undefined;
  /** `none` means null, as in Cinder. */
  readonly migrationStatus?: string | null | undefined;
}

/** Statuses an admin may set with reset-status (Ballast's statuses minus the deleting ones, section 1.4). */
export const RESETTABLE_STATUSES: readonly VolumeStatus[] = [
  'creating',
  'available',
  'in-use',
  'attaching',
  'detaching',
  'maintenance',
  'retyping',
  'extending',
  'error',
];

/** `VolumeMigrationStatus.ALL` (section 0.2). */
export const RESETTABLE_MIGRATION_STATUSES = ['migrating', 'error', 'success', 'completing', 'none', 'starting'] as const;

function lower(v: string | null | undefined, what: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new AppError('INVALID_INPUT', `Invalid input: '${what}' must be a string`);
  return v.toLowerCase();
}

/**
 * `os-reset_status`: sets status, attach status and/or migration status as given. Refused while a
 * migration of the volume is unfinished in the journal (it runs, or start-up recovery will finish
 * it): resetting under a runner would corrupt its bookkeeping; cancel it instead.
 */
export function resetStatus(ctx: ServiceContext, volumeId: string, req: ResetStatusRequest): Volume {
  const status = lower(req.status, 'status');
  const attach = lower(req.attachStatus, 'attach_status');
  const migration = lower(req.migrationStatus, 'migration_status');
  if (status === null && attach === null && migration === null) {
    throw new AppError('INVALID_INPUT', "Invalid input received: Must specify 'status', 'attach_status' or 'migration_status' for update.");
  }
  if (status !== null && !(RESETTABLE_STATUSES as readonly string[]).includes(status)) {
    throw new AppError('INVALID_INPUT', `Invalid input received: Volume status: ${status} is invalid, valid statuses are: ${RESETTABLE_STATUSES.join(', ')}.`);
  }
  if (attach !== null && attach !== 'attached' && attach !== 'detached') {
    throw new AppError('INVALID_INPUT', `Invalid input received: Volume attach status: ${attach} is invalid, valid statuses are: attached, detached.`);
  }
  if (migration !== null && !(RESETTABLE_MIGRATION_STATUSES as readonly string[]).includes(migration)) {
    throw new AppError(
      'INVALID_INPUT',
      `Invalid input received: Volume migration status: ${migration} is invalid, valid statuses are: ${RESETTABLE_MIGRATION_STATUSES.join(', ')}.`,
    );
  }
  return inTx(ctx.db, () => {
    const v = ctx.repo.getVolume(volumeId);
    const running = ctx.journal.latestForVolume(volumeId);
    if (running && running.finishedAtMs === null) {
      throw new AppError(
        'INVALID_VOLUME',
        `Invalid volume: migration ${running.id} of volume ${volumeId} is unfinished (phase ${running.phase}): cancel it ('ballast migration cancel') or let it end; reset-status would corrupt it`,
      );
    }
    const atts = ctx.repo.listAttachments(volumeId);
    if (status === 'in-use' && atts.length === 0) {
      throw new AppError('INVALID_INPUT', `Invalid input received: volume ${volumeId} has no attachments: it cannot be reset to in-use`);
    }
    if (attach === 'detached' && atts.some((a) => readHypervisorState(ctx, a.id))) {
      throw new AppError('INVALID_VOLUME', `Invalid volume: volume ${volumeId} is served to a consumer by a storage daemon: detach it ('ballast volume detach') instead of resetting`);
    }
    const patch: { status?: VolumeStatus; attachStatus?: 'attached' | 'detached'; migrationStatus?: MigrationStatus } = {};
    if (status !== null) patch.status = status as VolumeStatus;
    if (attach !== null) patch.attachStatus = attach as 'attached' | 'detached';
    if (migration !== null) patch.migrationStatus = migration === 'none' ? null : (migration as MigrationStatus);
    if (attach === 'detached') for (const a of atts) ctx.repo.markAttachmentDeleted(a.id);
    const changed = Object.entries(patch).map(([k, val]) => `${k}=${String(val)}`).join(' ');
    ctx.repo.addEvent({ atMs: ctx.now(), volumeId, kind: 'volume.reset-status', message: `reset ${changed} (was status=${v.status} migration_status=${String(v.migrationStatus)})` });
    return ctx.repo.updateVolume(volumeId, patch, ctx.now());
  });
}

/**
 * `os-migrate_volume_completion` (section 1.2). With neither volume mid-migration it is Nova's
 * "plain swap": the source's attachment records move to the new volume (unless `error`); the
 * saved volume is the new one. A real Cinder-style completion (`target:<source id>`) is refused:
 * Ballast's migration runner completes its own migrations and never waits for Nova.
 */
export function completeMigration(ctx: ServiceContext, sourceId: string, newId: string, error: boolean): { saveVolumeId: string } {
  return inTx(ctx.db, () => {
    const src = ctx.repo.getVolume(sourceId);
    const dst = ctx.repo.getVolume(newId);
    if (!src.migrationStatus && !dst.migrationStatus) {
      if (!error) {
        const atts = ctx.repo.listAttachments(src.id);
        if (atts.some((a) => readHypervisorState(ctx, a.id))) {
          throw new AppError('INVALID_VOLUME', `Invalid volume: volume ${src.id} is served by a storage daemon; move it with os-migrate_volume (live copy) instead of swapping attachments`);
        }
        for (const a of atts) {
          ctx.repo.markAttachmentDeleted(a.id);
          ctx.repo.insertAttachment({ ...a, id: ctx.ids(), volumeId: dst.id, attachMode: 'rw', createdAtMs: ctx.now() });
        }
        if (atts.length > 0) {
          ctx.repo.updateVolume(src.id, { status: 'available', attachStatus: 'detached' }, ctx.now());
          ctx.repo.updateVolume(dst.id, { status: 'in-use', attachStatus: 'attached' }, ctx.now());
        }
        ctx.repo.addEvent({ atMs: ctx.now(), volumeId: dst.id, kind: 'volume.swap', message: `${atts.length} attachment(s) moved from ${src.id} to ${dst.id}` });
      }
      return { saveVolumeId: dst.id };
    }
    if (!src.migrationStatus) throw new AppError('INVALID_VOLUME', 'Invalid volume: Source volume not mid-migration.');
    if (!dst.migrationStatus) throw new AppError('INVALID_VOLUME', 'Invalid volume: Destination volume not mid-migration.');
    if (dst.migrationStatus !== `target:${src.id}`) {
      throw new AppError('INVALID_VOLUME', `Invalid volume: Destination has migration_status ${dst.migrationStatus}, expected target:${src.id}.`);
    }
    const m = ctx.journal.latestForVolume(src.id);
    throw new AppError(
      'INVALID_VOLUME',
      `Invalid volume: the migration of volume ${src.id}${m ? ` (${m.id}, phase ${m.phase})` : ''} is completed by Ballast's own runner; there is no external completion step`,
    );
  });
}

/** Keys of extra specs a non-admin may see (Cinder's user-visible extra specs). */
export const USER_VISIBLE_EXTRA_SPECS: readonly string[] = ['multiattach', 'RESKEY:availability_zones', 'replication_enabled'];

function checkSpecs(specs: unknown): Record<string, string> {
  if (specs === null || typeof specs !== 'object' || Array.isArray(specs)) throw new AppError('INVALID_INPUT', 'Invalid input received: extra_specs must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(specs as Record<string, unknown>)) {
    if (k.length === 0 || k.length > 255) throw new AppError('INVALID_INPUT', `Invalid input received: extra spec key '${k}' must have 1 to 255 characters`);
    if (typeof v !== 'string' || v.length > 255) throw new AppError('INVALID_INPUT', `Invalid input received: extra spec '${k}' must be a string of at most 255 characters`);
    out[k] = v;
  }
  return out;
}

/** `POST /types`: a new type; its name must be free (409 conflict otherwise). */
export function createType(ctx: ServiceContext, def: { name: unknown; description?: unknown; extraSpecs?: unknown }): VolumeType {
  const name = typeof def.name === 'string' ? def.name.trim() : '';
  if (name.length === 0 || name.length > 255) throw new AppError('INVALID_INPUT', 'Invalid input received: volume type name must be a non-empty string of at most 255 characters');
  const description = def.description === undefined || def.description === null ? '' : def.description;
  if (typeof description !== 'string' || description.length > 255) throw new AppError('INVALID_INPUT', 'Invalid input received: description must be a string of at most 255 characters');
  const extraSpecs = def.extraSpecs === undefined || def.extraSpecs === null ? {} : checkSpecs(def.extraSpecs);
  return inTx(ctx.db, () => {
    if (ctx.repo.findType(name)) throw new AppError('TYPE_EXISTS', `Volume Type ${name} already exists.`);
    const t: VolumeType = { id: ctx.ids(), name, description, extraSpecs };
    ctx.repo.upsertType(t);
    ctx.repo.addEvent({ atMs: ctx.now(), kind: 'type.create', message: `volume type ${name} created` });
    return t;
  });
}

/**
 * Sets (`set`) and removes (`unset`) extra specs of a type. Refused for a type live volumes use
 * (their placement was checked against the old specs; Cinder refuses this too).
 */
export function updateTypeExtraSpecs(ctx: ServiceContext, typeId: string, set: unknown, unset: readonly string[]): VolumeType {
  const add = checkSpecs(set);
  return inTx(ctx.db, () => {
    const t = ctx.repo.getTypeById(typeId);
    for (const k of unset) {
      if (!(k in t.extraSpecs)) throw new AppError('VOLUME_TYPE_NOT_FOUND', `Volume Type ${t.id} has no extra specs with key ${k}.`);
    }
    const used = ctx.db.prepare('SELECT COUNT(*) AS n FROM volumes WHERE deleted = 0 AND volume_type_id = ?').get(t.id) as { n: number };
    if (used.n > 0) throw new AppError('INVALID_VOLUME', `Invalid volume type: Volume Type ${t.name} is currently in use by ${used.n} volume(s); its extra specs cannot change.`);
    const specs: Record<string, string> = { ...t.extraSpecs, ...add };
    for (const k of unset) delete specs[k];
    const next: VolumeType = { ...t, extraSpecs: specs };
    ctx.repo.upsertType(next);
    ctx.repo.addEvent({ atMs: ctx.now(), kind: 'type.extra-specs', message: `volume type ${t.name}: set ${Object.keys(add).join(', ') || '-'}; unset ${unset.join(', ') || '-'}` });
    return next;
  });
}
