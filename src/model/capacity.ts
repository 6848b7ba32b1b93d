import { round2 } from '../shared/index.js';

/** Capacity numbers as a pool reports them (Cinder get_pools); `infinite`/`unknown` are allowed. */
export type CapacityValue = number | 'infinite' | 'unknown';

export interface PoolCapacity {
  readonly totalCapacityGb: CapacityValue | null;
  readonly freeCapacityGb: CapacityValue | null;
  /** Apparent provisioned size; Cinder defaults it to allocated_capacity_gb. */
  readonly provisionedCapacityGb: number;
  readonly maxOverSubscriptionRatio: number | 'auto';
  readonly reservedPercentage: number;
  readonly thinProvisioningSupport: boolean;
  readonly thickProvisioningSupport: boolean;
}

export interface CapacityRequest {
  /** Requested GiB (for extend: new size minus old size). */
  readonly sizeGiB: number;
  /** From the type's `provisioning:type`: `thick` means a thick request, anything else thin. */
  readonly thin: boolean;
  /** The pool already holds the volume (retype's vol_exists_on): passes unconditionally. */
  readonly existsOnPool?: boolean;
}

export interface CapacityVerdict {
  readonly pass: boolean;
  readonly reason: string;
  /** Virtual free capacity (GiB) as computed by the filter; also the capacity weigher's raw weight. */
  readonly virtualFreeGiB: number | null;
}

const isUnlimited = (v: CapacityValue | null): v is 'infinite' | 'unknown' => v === 'infinite' || v === 'unknown';

/** `calculate_max_over_subscription_ratio` (section 2.4). */
export function effectiveOverSubscriptionRatio(p: PoolCapacity): number {
  if (!p.thinProvisioningSupport) return 1;
  if (isUnlimited(p.totalCapacityGb) || isUnlimited(p.freeCapacityGb)) return 1;
  if (p.maxOverSubscriptionRatio === 'auto') {
    const total = Number(p.totalCapacityGb ?? 0);
    const free = Number(p.freeCapacityGb ?? 0);
    return p.provisionedCapacityGb !== 0 ? 1 + p.provisionedCapacityGb / (total - free + 1) : 20;
  }
  return p.maxOverSubscriptionRatio;
}

/** Virtual free capacity of a pool for a thin or thick request (`calculate_capacity_factors`). */
export function virtualFreeGiB(p: PoolCapacity, thin: boolean): number | null {
  if (p.freeCapacityGb === null || isUnlimited(p.freeCapacityGb) || isUnlimited(p.totalCapacityGb) || p.totalCapacityGb === null) {
    return null;
  }
  const total = p.totalCapacityGb;
  const free = p.freeCapacityGb;
  const mosr = effectiveOverSubscriptionRatio(p);
  const reserved = Math.floor((total * p.reservedPercentage) / 100);
  const totalReservedAvail = total - reserved;
  if (thin && p.thinProvisioningSupport) {
    return round2(totalReservedAvail * mosr - p.provisionedCapacityGb);
  }
  return round2(Math.min(free, totalReservedAvail - p.provisionedCapacityGb));
}

/** Cinder's CapacityFilter (`capacity_filter.py:backend_passes`), reproduced case for case. */
export function capacityFilter(p: PoolCapacity, req: CapacityRequest): CapacityVerdict {
  const v = (pass: boolean, reason: string, vf: number | null = null): CapacityVerdict => ({ pass, reason, virtualFreeGiB: vf });
  if (req.existsOnPool) return v(true, 'volume already on this pool');
  if (req.sizeGiB === 0) return v(true, 'size 0');
  if (p.freeCapacityGb === null) return v(false, 'free capacity is not reported');
  if (isUnlimited(p.freeCapacityGb)) return v(true, `free capacity is ${p.freeCapacityGb}`);
  if (isUnlimited(p.totalCapacityGb) || p.totalCapacityGb === null) {
    return p.reservedPercentage === 0
      ? v(true, `total capacity is ${String(p.totalCapacityGb)} and nothing is reserved`)
      : v(false, `total capacity is ${String(p.totalCapacityGb)} with ${p.reservedPercentage}% reserved`);
  }
  const total = p.totalCapacityGb;
  if (total <= 0) return v(false, `total capacity ${total} GiB`);
  const mosr = effectiveOverSubscriptionRatio(p);
  const reserved = Math.floor((total * p.reservedPercentage) / 100);
  const totalReservedAvail = total - reserved;
  const thinPath = req.thin && p.thinProvisioningSupport;
  const totalAvailable = round2(thinPath ? totalReservedAvail * mosr : totalReservedAvail);
  const vf = virtualFreeGiB(p, req.thin) ?? 0;
  if (thinPath && mosr >= 1) {
    const ratio = round2((p.provisionedCapacityGb + req.sizeGiB) / totalAvailable);
    if (ratio > mosr) {
      return v(false, `provisioned ratio ${ratio} would exceed max_over_subscription_ratio ${mosr}`, vf);
    }
    return vf >= req.sizeGiB
      ? v(true, `virtual free ${vf} GiB >= ${req.sizeGiB} GiB`, vf)
      : v(false, `virtual free ${vf} GiB < requested ${req.sizeGiB} GiB`, vf);
  }
  if (thinPath) return v(false, `invalid max_over_subscription_ratio ${mosr} (< 1)`, vf);
  return vf >= req.sizeGiB
    ? v(true, `free ${vf} GiB >= ${req.sizeGiB} GiB`, vf)
    : v(false, `free ${vf} GiB < requested ${req.sizeGiB} GiB`, vf);
}
