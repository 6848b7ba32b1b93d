/**
 * The kind of a move: how the executor will carry it out, predicted from the inventory and the
 * policy with Cinder's rules (`reference/cinder-semantics.md` sections 3.1 and 4). The executor
 * re-checks against live state; the kind tells reviewers what to expect (a rename or a copy).
 *
 * 1. The type changes and the pool stays: **retype-in-place** when the current pool's capabilities
 *    satisfy the new type's extra specs (Cinder's same-back-end `driver.retype`), else the move
 *    cannot be made without a migration (refused).
 * 2. The volume is attached: **live-copy** (Cinder never tries driver-assisted moves for attached
 *    volumes; Nova copies).
 * 3. `execution.forceHostCopy`: **generic-copy**.
 * 4. A retype whose types carry extra specs other than `volume_backend_name` and
 *    `RESKEY:availability_zones`: **generic-copy** (Cinder's `_can_use_driver_migration`).
 * 5. Otherwise **driver-assisted** when the source driver can move to the destination, judged by
 *    `location_info` (see {@link driverCanMove}), else **generic-copy**.
 *
 * @module
 */
import { capabilitiesMatch, type InventoryPool, type InventoryVolume, type InventoryVolumeType, type MoveKind } from '../model/index.js';

/** What classification needs beyond the volume and the two pools. */
export interface ClassifyContext {
  readonly forceHostCopy: boolean;
  /** The volume's current type and, for a retype, the new one (null for a plain migration). */
  readonly oldType: InventoryVolumeType | null;
  readonly newType: InventoryVolumeType | null;
}

/** A classification: the kind, or why the move cannot be made. */
export type Classification = { readonly ok: true; readonly kind: MoveKind } | { readonly ok: false; readonly why: string };

/** The capabilities the CapabilitiesFilter sees for a pool (its own plus `volume_backend_name`). */
export function poolCapabilities(pool: InventoryPool): Readonly<Record<string, unknown>> {
  return { ...pool.capabilities, volume_backend_name: pool.volumeBackendName };
}

/** True when the pool satisfies the type's extra specs (Cinder's CapabilitiesFilter). */
export function poolServesType(pool: InventoryPool, type: InventoryVolumeType): boolean {
  return capabilitiesMatch(type.extraSpecs, poolCapabilities(pool)).pass;
}

const DRIVER_MIGRATION_IGNORED_SPECS = new Set(['volume_backend_name', 'RESKEY:availability_zones']);

/** Cinder's `_can_use_driver_migration(diff)` for a retype: no extra spec but the back-end name and zones. */
export function retypeAllowsDriverMigration(oldType: InventoryVolumeType | null, newType: InventoryVolumeType): boolean {
  const keys = new Set([...Object.keys(oldType?.extraSpecs ?? {}), ...Object.keys(newType.extraSpecs)]);
  return [...keys].every((k) => DRIVER_MIGRATION_IGNORED_SPECS.has(k));
}

const locationOf = (p: InventoryPool): string | null => {
  const v = p.capabilities['location_info'];
  return typeof v === 'string' && v.length > 0 ? v : null;
};

/**
 * Whether the source pool's driver can move a volume to the destination itself (Cinder's
 * `driver.migrate_volume`), judged from the pools' `location_info` (`family:…`):
 *
 * | family | driver-assisted when |
 * |---|---|
 * | `raw` (`raw:host@backend:pool:device`) | same `host@backend` and same device (a rename) |
 * | `chunked` | never (it always declines: generic file copy) |
 * | `LVMVolumeDriver` (`LVMVolumeDriver:host:vg:type:mirrors`) | same host, other volume group |
 * | anything else, or no `location_info` | same `host@backend` (one driver instance) |
 *
 * Both pools must report the same family for the family rules to apply.
 */
export function driverCanMove(from: InventoryPool, to: InventoryPool): boolean {
  const a = locationOf(from);
  const b = locationOf(to);
  const sameBackend = from.backend === to.backend;
  if (a === null || b === null) return sameBackend;
  const pa = a.split(':');
  const pb = b.split(':');
  if (pa[0] !== pb[0]) return false;
  switch (pa[0]) {
    case 'raw':
      return sameBackend && pa[1] === pb[1] && pa[pa.length - 1] === pb[pb.length - 1];
    case 'chunked':
      return false;
    case 'LVMVolumeDriver':
      return pa[1] === pb[1] && pa[2] !== pb[2];
    default:
      return sameBackend;
  }
}

/** The kind of moving `volume` from `from` to `to` (the same pool for a retype in place). */
export function classifyMove(volume: InventoryVolume, from: InventoryPool, to: InventoryPool, ctx: ClassifyContext): Classification {
  if (from.name === to.name) {
    if (ctx.newType === null) return { ok: false, why: 'neither the pool nor the type changes' };
    return poolServesType(from, ctx.newType)
      ? { ok: true, kind: 'retype-in-place' }
      : { ok: false, why: `pool ${from.name} does not support type ${ctx.newType.name} (a retype here needs a migration)` };
  }
  if (volume.attached) return { ok: true, kind: 'live-copy' };
  if (ctx.forceHostCopy) return { ok: true, kind: 'generic-copy' };
  if (ctx.newType !== null && !retypeAllowsDriverMigration(ctx.oldType, ctx.newType)) return { ok: true, kind: 'generic-copy' };
  return { ok: true, kind: driverCanMove(from, to) ? 'driver-assisted' : 'generic-copy' };
}
