/**
 * Admission: may a move start now? Every limit at once (total, per source pool, per destination
 * pool, per back-end, in-use, bytes in flight) and the destination's hard headroom counting the
 * moves already in flight towards it. Pure: the executor passes the live pools it just read.
 *
 * @module
 */
import { capacityFilter, poolUsedShare, type FleetPool, type Move } from '../model/index.js';
import { GiB } from '../shared/index.js';
import type { ExecutorLimits } from './types.js';

/** `host@backend` of `host@backend#pool`. */
export function backendOf(pool: string): string {
  const i = pool.indexOf('#');
  return i < 0 ? pool : pool.slice(0, i);
}

const isInUse = (m: Move): boolean => m.attached || m.kind === 'live-copy';
const bytesOf = (m: Move): number => Math.round(m.sizeGiB * GiB);

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}

/** The moves holding slots now, counted every way a limit looks at them. */
export class SlotBook {
  private readonly moves = new Map<string, Move>();
  private readonly bySource = new Map<string, number>();
  private readonly byDest = new Map<string, number>();
  private readonly byBackend = new Map<string, number>();
  private readonly intoPoolGiB = new Map<string, number>();
  private inUse = 0;
  private bytes = 0;

  get size(): number {
    return this.moves.size;
  }

  has(moveId: string): boolean {
    return this.moves.has(moveId);
  }

  /** GiB in flight towards a pool (its in-flight reservations, as the executor sees them). */
  inFlightIntoGiB(pool: string): number {
    return this.intoPoolGiB.get(pool) ?? 0;
  }

  /** Counts of the moves in flight, for sampling in tests and for progress. */
  snapshot(): { total: number; inUse: number; bytes: number; bySource: Record<string, number>; byDest: Record<string, number>; byBackend: Record<string, number> } {
    return {
      total: this.moves.size,
      inUse: this.inUse,
      bytes: this.bytes,
      bySource: Object.fromEntries(this.bySource),
      byDest: Object.fromEntries(this.byDest),
      byBackend: Object.fromEntries(this.byBackend),
    };
  }

  add(m: Move): void {
    if (this.moves.has(m.id)) return;
    this.moves.set(m.id, m);
    this.count(m, 1);
  }

  remove(moveId: string): void {
    const m = this.moves.get(moveId);
    if (!m) return;
    this.moves.delete(moveId);
    this.count(m, -1);
  }

  private count(m: Move, by: 1 | -1): void {
    bump(this.bySource, m.from, by);
    bump(this.byDest, m.to, by);
    for (const b of new Set([backendOf(m.from), backendOf(m.to)])) bump(this.byBackend, b, by);
    if (m.from !== m.to) bump(this.intoPoolGiB, m.to, by * m.sizeGiB);
    if (isInUse(m)) this.inUse += by;
    this.bytes += by * bytesOf(m);
  }

  /** The first limit that keeps `m` from starting now, in words; null when every limit allows it. */
  limitBlocker(m: Move, limits: ExecutorLimits): string | null {
    if (this.moves.size >= limits.maxConcurrentTotal) return `total concurrency ${this.moves.size}/${limits.maxConcurrentTotal}`;
    const src = this.bySource.get(m.from) ?? 0;
    if (src >= limits.maxConcurrentPerSourcePool) return `source pool ${m.from}: ${src}/${limits.maxConcurrentPerSourcePool} moves out`;
    const dst = this.byDest.get(m.to) ?? 0;
    if (dst >= limits.maxConcurrentPerDestPool) return `destination pool ${m.to}: ${dst}/${limits.maxConcurrentPerDestPool} moves in`;
    for (const b of new Set([backendOf(m.from), backendOf(m.to)])) {
      const n = this.byBackend.get(b) ?? 0;
      if (n >= limits.maxConcurrentPerBackend) return `back-end ${b}: ${n}/${limits.maxConcurrentPerBackend} moves`;
    }
    if (isInUse(m) && this.inUse >= limits.maxConcurrentInUse) return `in-use moves ${this.inUse}/${limits.maxConcurrentInUse}`;
    // A move larger than the cap alone may still run when nothing else is in flight.
    if (limits.maxBytesInFlight !== null && this.moves.size > 0 && this.bytes + bytesOf(m) > limits.maxBytesInFlight) {
      return `bytes in flight ${this.bytes} + ${bytesOf(m)} > ${limits.maxBytesInFlight}`;
    }
    return null;
  }
}

/** Why the destination cannot take `m` now (hard headroom or Cinder's capacity filter); null when it can. */
export function headroomBlocker(
  m: Move,
  dest: FleetPool | undefined,
  opts: {
    readonly limitShare: number | null;
    /** GiB of the executor's moves in flight into the pool (not yet in its allocated numbers). */
    readonly inFlightIntoGiB: number;
    /** GiB of those started after the pool was read (not yet in its provisioned numbers either). */
    readonly startedSinceReadGiB?: number;
    readonly emergencyShare: number;
    readonly thin: boolean;
  },
): string | null {
  if (m.from === m.to) return null; // a retype in place takes no room
  if (!dest) return `destination pool ${m.to} does not exist`;
  if (dest.state === 'down') return `destination pool ${m.to} is down`;
  const usedGiB = dest.allocatedGiB + opts.inFlightIntoGiB + m.sizeGiB;
  const share = poolUsedShare(dest, usedGiB);
  const limit = Math.min(opts.limitShare ?? 1, opts.emergencyShare);
  if (share > limit + 1e-9) {
    const cap = dest.capacity.totalCapacityGb;
    return `[headroom] pool ${m.to}: ${(share * 100).toFixed(1)}% > ${(limit * 100).toFixed(1)}% (${usedGiB} GiB used with ${opts.inFlightIntoGiB} GiB in flight, of ${String(cap)} GiB)`;
  }
  const capacity = { ...dest.capacity, provisionedCapacityGb: dest.capacity.provisionedCapacityGb + (opts.startedSinceReadGiB ?? 0) };
  const fit = capacityFilter(capacity, { sizeGiB: m.sizeGiB + (opts.thin ? 0 : opts.startedSinceReadGiB ?? 0), thin: opts.thin });
  if (!fit.pass) return `[capacity] pool ${m.to}: ${fit.reason}`;
  return null;
}
