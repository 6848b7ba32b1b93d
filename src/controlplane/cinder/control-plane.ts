/**
 * The OpenStack Cinder control plane: the port over Cinder's v3 REST API. Reads pools
 * (`get_pools`, `os-services`), volumes (`volumes/detail`, all projects, paginated), snapshots and
 * types; moves only through Cinder's own `os-migrate_volume` and `os-retype`, and judges each move
 * by reading the volume back (see `progress.ts`). Cinder measures no I/O and cannot cancel a
 * running migration: both are said so, not faked.
 *
 * @module
 */
import type { ControlPlane, FleetPool, FleetVolume, InventoryVolumeType, MoveHandle, MoveProgress, MoveRequest } from '../../model/index.js';
import { AppError, systemClock, type Clock } from '../../shared/index.js';
import { requestError, type CinderClient } from './client.js';
import { encodeMoveRef, decodeMoveRef } from './handle.js';
import { countSnapshots, isHiddenVolume, mapPools, mapVolume, mapVolumeTypes, migrationStatus, poolVolumeFacts, volumeHost, volumeServices } from './mapping.js';
import { assessMove, FRESH_MEMORY, hostMatches, type AcceptedMove, type PollMemory, type VolumeObservation } from './progress.js';

export interface CinderControlPlaneOptions {
  /** Shown as the control plane's name (default: the authenticator's description). */
  readonly name?: string;
  readonly clock?: Clock;
  /** How long an accepted move may show no sign of starting before it fails (ms, default 60 000). */
  readonly startGraceMs?: number;
  /** How long a volume may sit on its destination without `success` before it counts as done (ms, default 60 000). */
  readonly settleMs?: number;
}

type Json = Record<string, unknown>;

/** Moves whose poll memory is kept (the oldest is forgotten first). */
const MEMORY_LIMIT = 10_000;

/** The fields a move is judged on, from a volume's JSON. */
export function observeVolume(v: Json): VolumeObservation {
  const attachments = Array.isArray(v['attachments']) ? v['attachments'] : [];
  return {
    status: typeof v['status'] === 'string' ? v['status'] : 'error',
    migrationStatus: migrationStatus(v['migration_status'] ?? v['os-vol-mig-status-attr:migstat']),
    host: volumeHost(v),
    volumeType: typeof v['volume_type'] === 'string' ? v['volume_type'] : '',
    volumeTypeId: typeof v['volume_type_id'] === 'string' ? v['volume_type_id'] : null,
    attached: attachments.length > 0 || v['status'] === 'in-use',
  };
}

/** Drives OpenStack Cinder through its REST API. */
export class CinderControlPlane implements ControlPlane {
  readonly kind = 'cinder' as const;
  private readonly fixedName: string | null;
  private readonly clock: Clock;
  private readonly startGraceMs: number;
  private readonly settleMs: number;
  private readonly memory = new Map<string, PollMemory>();

  constructor(
    private readonly client: CinderClient,
    opts: CinderControlPlaneOptions = {},
  ) {
    this.fixedName = opts.name ?? null;
    this.clock = opts.clock ?? systemClock;
    this.startGraceMs = opts.startGraceMs ?? 60_000;
    this.settleMs = opts.settleMs ?? 60_000;
  }

  /** The endpoint in use once known (`https://cinder…/v3/<project>`), else how Ballast authenticates. */
  get name(): string {
    return this.fixedName ?? this.client.lastEndpoint ?? this.client.auth.description;
  }

  /** Authenticates and negotiates the microversion now, so that a bad setting fails early. Returns it as `X.Y`. */
  async connect(): Promise<string> {
    const v = await this.client.microversion();
    return `${v.major}.${v.minor}`;
  }

  async listPools(): Promise<FleetPool[]> {
    const services = volumeServices(await this.client.getJson('/os-services', 'listing services (os-services)'));
    const body = await this.client.getJson('/scheduler-stats/get_pools?detail=true', 'listing pools (scheduler-stats/get_pools)');
    // The volume list gives the true allocated size per pool (Cinder's own number leaks after moves).
    const rows = await this.client.listAll('volumes/detail', 'volumes', { all_tenants: '1' });
    return mapPools(body, services, poolVolumeFacts(rows));
  }

  async listVolumeTypes(): Promise<InventoryVolumeType[]> {
    const body = await this.client.getJson('/types?is_public=None', 'listing volume types');
    const rows = Array.isArray(body['volume_types']) ? (body['volume_types'] as Json[]) : [];
    for (const t of rows) {
      if (t['extra_specs'] === undefined && typeof t['id'] === 'string') {
        t['extra_specs'] = (await this.client.getJson(`/types/${encodeURIComponent(t['id'])}/extra_specs`, `reading extra specs of type ${t['id']}`))['extra_specs'];
      }
    }
    return mapVolumeTypes({ volume_types: rows });
  }

  async listVolumes(): Promise<FleetVolume[]> {
    const rows = await this.client.listAll('volumes/detail', 'volumes', { all_tenants: '1' });
    const snaps = countSnapshots(await this.client.listAll('snapshots/detail', 'snapshots', { all_tenants: '1' }));
    const typeIds = rows.some((r) => typeof r['volume_type_id'] !== 'string') ? await this.typeIdsByName() : new Map<string, string>();
    return rows
      .map((r) => mapVolume(r, snaps.get(String(r['id'])) ?? 0, typeIds))
      .filter((v): v is FleetVolume => v !== null)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async getVolume(id: string): Promise<FleetVolume | null> {
    const raw = await this.rawVolume(id);
    if (raw === null || isHiddenVolume(raw)) return null;
    const snaps = (await this.client.listAll('snapshots/detail', 'snapshots', { all_tenants: '1', volume_id: id })).filter((s) => s['volume_id'] === id);
    const typeIds = typeof raw['volume_type_id'] === 'string' ? new Map<string, string>() : await this.typeIdsByName();
    return mapVolume(raw, snaps.length, typeIds);
  }

  /** Cinder does not measure I/O: telemetry takes performance from elsewhere (InfluxDB) or has none. */
  async ioCounters(): Promise<null> {
    return null;
  }

  async startMove(req: MoveRequest): Promise<MoveHandle> {
    const raw = await this.rawVolume(req.volumeId);
    if (raw === null) throw new AppError('VOLUME_NOT_FOUND', `volume ${req.volumeId} does not exist in Cinder`, { details: { volumeId: req.volumeId } });
    if (isHiddenVolume(raw)) throw new AppError('INVALID_VOLUME', `volume ${req.volumeId} is a temporary migration target, not a volume to move`);
    const move: AcceptedMove =
      req.op === 'migrate'
        ? { op: 'migrate', volumeId: req.volumeId, target: req.host, migrationPolicy: null, baseline: observeVolume(raw) }
        : { op: 'retype', volumeId: req.volumeId, target: req.newVolumeType, migrationPolicy: req.migrationPolicy, baseline: observeVolume(raw) };
    const body =
      req.op === 'migrate'
        ? { 'os-migrate_volume': { host: req.host, force_host_copy: req.forceHostCopy, lock_volume: req.lockVolume } }
        : { 'os-retype': { new_type: req.newVolumeType, migration_policy: req.migrationPolicy } };
    const acceptedAtMs = this.clock.nowMs();
    const res = await this.client.request('POST', `/volumes/${encodeURIComponent(req.volumeId)}/action`, body);
    if (res.status !== 202 && res.status !== 200) {
      const what =
        req.op === 'migrate'
          ? `Cinder refused os-migrate_volume of volume ${req.volumeId} to ${req.host}`
          : `Cinder refused os-retype of volume ${req.volumeId} to type ${req.newVolumeType} (migration_policy ${req.migrationPolicy})`;
      const e = requestError(what, res);
      const msg = String(e.details['cinderMessage'] ?? '');
      const code =
        res.status === 404 ? (/type/i.test(msg) ? 'VOLUME_TYPE_NOT_FOUND' : 'VOLUME_NOT_FOUND')
        : res.status === 400 && /^Invalid host/i.test(msg) ? 'INVALID_HOST'
        : res.status === 400 && /^Invalid volume/i.test(msg) ? 'INVALID_VOLUME'
        : res.status === 400 && /^Invalid input/i.test(msg) ? 'INVALID_INPUT'
        : e.code;
      throw new AppError(code, e.message, { details: { ...e.details, volumeId: req.volumeId, op: req.op }, retryable: e.retryable });
    }
    const ref = encodeMoveRef(move);
    this.memory.set(ref, FRESH_MEMORY);
    return { volumeId: req.volumeId, ref, acceptedAtMs };
  }

  async moveProgress(handle: MoveHandle): Promise<MoveProgress> {
    const move = decodeMoveRef(handle.ref, handle.volumeId);
    const raw = await this.rawVolume(handle.volumeId);
    const now = raw === null ? null : observeVolume(raw);
    const ctx = { acceptedAtMs: handle.acceptedAtMs, nowMs: this.clock.nowMs(), startGraceMs: this.startGraceMs, settleMs: this.settleMs, pinnedBackend: null, targetBackendName: null };
    let a = assessMove(move, now, this.memory.get(handle.ref) ?? FRESH_MEMORY, ctx);
    if (a.progress.state === 'failed' && move.op === 'migrate' && now !== null) {
      // Only on failure: find whether the volume's type pins a back-end the destination is not.
      const [types, pools] = await Promise.all([this.listVolumeTypes(), this.listPools()]);
      const type = types.find((t) => t.id === now.volumeTypeId || t.name === now.volumeType);
      const pool = pools.find((p) => hostMatches(p.name, move.target));
      a = assessMove(move, now, this.memory.get(handle.ref) ?? FRESH_MEMORY, {
        ...ctx,
        pinnedBackend: type?.extraSpecs['volume_backend_name'] ?? null,
        targetBackendName: pool?.volumeBackendName ?? null,
      });
    }
    this.memory.set(handle.ref, a.memory);
    // A daemon polls many moves over months: keep the memory of the most recent ones only.
    if (this.memory.size > MEMORY_LIMIT) this.memory.delete(this.memory.keys().next().value!);
    return a.progress;
  }

  async cancelMove(handle: MoveHandle): Promise<{ cancelled: boolean; reason: string }> {
    const p = await this.moveProgress(handle);
    if (p.state !== 'running') return { cancelled: false, reason: `the move already ended (${p.state}: ${p.detail})` };
    return {
      cancelled: false,
      reason:
        'Cinder has no API to cancel a running migration or retype: it runs until success or error (os-reset_status is a repair for a stuck volume, not a cancel); keep polling',
    };
  }

  async close(): Promise<void> {
    this.memory.clear();
  }

  private async rawVolume(id: string): Promise<Json | null> {
    const res = await this.client.request('GET', `/volumes/${encodeURIComponent(id)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw requestError(`reading volume ${id}`, res);
    const v = (res.json as Json | null)?.['volume'];
    return v !== null && typeof v === 'object' ? (v as Json) : null;
  }

  private async typeIdsByName(): Promise<Map<string, string>> {
    return new Map((await this.listVolumeTypes()).map((t) => [t.name, t.id]));
  }
}
