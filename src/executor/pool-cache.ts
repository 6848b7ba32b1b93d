/**
 * The pools as the control plane last reported them, re-read at most every second while moves
 * are being admitted (reading them can be expensive: the embedded service measures every pool).
 * Between reads the cache stays conservative: a move that lands adds its size to its destination
 * at once (it leaves the executor's in-flight count, which covered it until then), while the room
 * it frees on its source is only counted at the next read.
 *
 * @module
 */
import type { ControlPlane, FleetPool, Move } from '../model/index.js';
import type { SlotBook } from './admission.js';

const MAX_AGE_MS = 1000;

export class PoolCache {
  private pools = new Map<string, FleetPool>();
  private readAtMs = -Infinity;
  /** How many moves had ended when the pools were read (see {@link fresh}). */
  private endsAtRead = -1;
  /** GiB in flight into each pool when it was read (their reservations are in the read). */
  private inFlightAtRead = new Map<string, number>();
  private thickTypes: Set<string> | null = null;

  constructor(
    private readonly cp: ControlPlane,
    private readonly slots: SlotBook,
  ) {}

  get(pool: string): FleetPool | undefined {
    return this.pools.get(pool);
  }

  /** A move reached its destination: count it there until the next read shows it. */
  landed(m: Move): void {
    const p = this.pools.get(m.to);
    if (!p || m.from === m.to) return;
    const capacity = { ...p.capacity, provisionedCapacityGb: p.capacity.provisionedCapacityGb + m.sizeGiB };
    this.pools.set(m.to, { ...p, allocatedGiB: p.allocatedGiB + m.sizeGiB, capacity });
  }

  /** True when the pools were read after the `ends`-th move ended (nothing changed since that the cache guesses). */
  fresh(ends: number): boolean {
    return this.endsAtRead === ends;
  }

  /** Reads the pools when the last read is a second old, or now with `force`; `ends` = moves ended so far. */
  async refresh(nowMs: number, ends: number, force = false): Promise<void> {
    if (!force && nowMs - this.readAtMs < MAX_AGE_MS) return;
    this.readAtMs = nowMs;
    this.endsAtRead = ends;
    const before = new Map([...this.pools.keys()].map((p) => [p, this.slots.inFlightIntoGiB(p)] as const));
    this.pools = new Map((await this.cp.listPools()).map((p) => [p.name, p]));
    this.inFlightAtRead = new Map([...this.pools.keys()].map((p) => [p, before.get(p) ?? this.slots.inFlightIntoGiB(p)]));
    if (!this.thickTypes) {
      this.thickTypes = new Set((await this.cp.listVolumeTypes()).filter((t) => t.extraSpecs['provisioning:type'] === 'thick').map((t) => t.name));
    }
  }

  /** GiB of moves into `pool` started after it was read (not in its provisioned numbers yet). */
  startedSinceRead(pool: string): number {
    return Math.max(0, this.slots.inFlightIntoGiB(pool) - (this.inFlightAtRead.get(pool) ?? 0));
  }

  /** Whether a move (to `newType`, or keeping its type) asks for thin capacity (Cinder: `provisioning:type`). */
  thin(newType: string | null): boolean {
    return newType === null || !this.thickTypes?.has(newType);
  }
}
