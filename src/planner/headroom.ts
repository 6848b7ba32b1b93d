/**
 * How much more a pool may take: the policy's utilization limit where a rule sets one, and always
 * Cinder's capacity filter (the scheduler refuses a destination that fails it). Both are linear
 * in the GiB added to or removed from the pool, so a pool's state during execution is one number:
 * its net change `D`, and the pool is within its headroom while `D <= roomGiB`.
 *
 * @module
 */
import { effectiveOverSubscriptionRatio, type InventoryPool, type PoolCapacity } from '../model/index.js';
import { round2 } from '../shared/index.js';
import { resolvePool, type CompiledPolicy } from '../policy/index.js';

/** Total less reserved (Cinder's math), the denominator of every share in a plan; 0 when unknown. */
export function usableGiB(pool: Pick<InventoryPool, 'capacity'>): number {
  const total = pool.capacity.totalCapacityGb;
  if (typeof total !== 'number' || total <= 0) return 0;
  return total - Math.floor((total * pool.capacity.reservedPercentage) / 100);
}

/** The policy's utilization limit (0–1) on the pool, or null when no rule sets one. */
export function limitShareOf(policy: CompiledPolicy, pool: InventoryPool): number | null {
  const pct = resolvePool(policy, { name: pool.name, availabilityZone: pool.availabilityZone }).maxUtilizationPct;
  return pct === null ? null : pct / 100;
}

const unlimited = (v: unknown): boolean => v === 'infinite' || v === 'unknown';

/**
 * GiB Cinder's capacity filter still lets into the pool for thin or thick requests: the largest
 * `s` for which `capacityFilter(cap, {sizeGiB: s, thin})` passes (Infinity when unlimited).
 */
export function cinderRoomGiB(cap: PoolCapacity, thin: boolean): number {
  if (cap.freeCapacityGb === null) return 0;
  if (unlimited(cap.freeCapacityGb)) return Infinity;
  if (cap.totalCapacityGb === null || unlimited(cap.totalCapacityGb)) return cap.reservedPercentage === 0 ? Infinity : 0;
  const total = cap.totalCapacityGb as number;
  const free = cap.freeCapacityGb as number;
  if (total <= 0) return 0;
  const reservedAvail = total - Math.floor((total * cap.reservedPercentage) / 100);
  if (thin && cap.thinProvisioningSupport) {
    const mosr = effectiveOverSubscriptionRatio(cap);
    if (mosr < 1) return 0;
    const virtualFree = round2(reservedAvail * mosr - cap.provisionedCapacityGb);
    const byRatio = mosr * round2(reservedAvail * mosr) - cap.provisionedCapacityGb;
    return Math.min(virtualFree, byRatio);
  }
  return round2(Math.min(free, reservedAvail - cap.provisionedCapacityGb));
}

/** Headroom of one pool for the moves coming into it. */
export interface PoolRoom {
  readonly pool: InventoryPool;
  readonly usableGiB: number;
  readonly limitShare: number | null;
  /** Net GiB the pool may gain during execution (may be negative: the pool is over its limit now). */
  readonly roomGiB: number;
  /** Which limit binds, in words: `85% policy limit` or `capacity filter`. */
  readonly binding: string;
}

/**
 * The room of a pool given the kinds of requests (thin, thick) that will arrive: the smallest of
 * the policy room and Cinder's room for each kind (conservative when both kinds arrive).
 */
export function poolRoom(policy: CompiledPolicy, pool: InventoryPool, requests: { thin: boolean; thick: boolean }): PoolRoom {
  const usable = usableGiB(pool);
  const limitShare = limitShareOf(policy, pool);
  const policyRoom = limitShare === null ? Infinity : limitShare * usable - pool.allocatedGiB;
  const kinds = [...(requests.thin ? [true] : []), ...(requests.thick ? [false] : [])];
  const cinderRoom = Math.min(Infinity, ...kinds.map((thin) => cinderRoomGiB(pool.capacity, thin)));
  const roomGiB = Math.min(policyRoom, cinderRoom);
  const binding = policyRoom <= cinderRoom && limitShare !== null ? `${round2(limitShare * 100)}% policy limit` : 'capacity filter';
  return { pool, usableGiB: usable, limitShare, roomGiB, binding };
}

/** Thin request unless the volume type says `provisioning:type=thick` (Cinder's rule). */
export function isThinRequest(extraSpecs: Readonly<Record<string, string>> | undefined): boolean {
  return (extraSpecs?.['provisioning:type'] ?? '').trim().toLowerCase() !== 'thick';
}
