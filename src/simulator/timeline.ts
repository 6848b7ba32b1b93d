/**
 * What a simulation records about its fleet over time: each pool's used share at every sample
 * (and its exact peak, reservations of moves in flight included), growth per pool, monthly cost,
 * and the constraint violations (stretches of samples above a pool's limit, and one-off losses).
 *
 * @module
 */
import { poolUsedShare } from '../model/index.js';
import { resolvePool, type CompiledPolicy } from '../policy/index.js';
import type { SimFleet, SimPool } from './fleet.js';
import type { GrowthEffect } from './growth.js';
import { fleetMonthlyCost } from './inventory-build.js';
import type { PoolSeries, ViolationRecord } from './result.js';

const DAY = 86_400_000;

interface PoolTrack {
  readonly name: string;
  readonly backend: string;
  readonly share: (number | null)[];
  /** Cumulative GiB grown on the pool at each sample. */
  readonly grownGiB: number[];
  grown: number;
  usableGiB: number;
  state: 'up' | 'down' | 'removed';
}

type OpenViolation = ViolationRecord & { readonly lastSample: number; readonly worst: number };

/** Usable capacity of a pool: total less reserved (Cinder's math). */
export function usableGiB(p: SimPool): number {
  return p.totalGiB - Math.floor((p.totalGiB * p.reservedPercentage) / 100);
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The record of a fleet over a simulation; `sampleTimesMs` are offsets from the start. */
export class FleetTimeline {
  private readonly tracks = new Map<string, PoolTrack>();
  private readonly peaks = new Map<string, number>();
  private readonly closed: ViolationRecord[] = [];
  private readonly open = new Map<string, OpenViolation>();
  /** Monthly cost at each sample taken so far. */
  readonly costs: number[] = [];

  constructor(
    private readonly fleet: SimFleet,
    readonly sampleTimesMs: readonly number[],
  ) {
    for (const p of fleet.pools.values()) this.track(p);
  }

  /** Starts recording a pool (an added one has no value at the samples before it existed). */
  track(p: SimPool): void {
    if (this.tracks.has(p.name)) return;
    const n = this.costs.length;
    this.tracks.set(p.name, { name: p.name, backend: p.backend, share: new Array<null>(n).fill(null), grownGiB: new Array<number>(n).fill(0), grown: 0, usableGiB: usableGiB(p), state: p.state });
  }

  setState(pool: string, state: PoolTrack['state']): void {
    const t = this.tracks.get(pool);
    if (t) t.state = state;
  }

  /** Records used shares now, for exact peaks (called whenever capacity changes). */
  observePeaks(): void {
    for (const p of this.fleet.pools.values()) {
      const share = round4(poolUsedShare({ capacity: this.fleet.capacityOf(p), allocatedGiB: p.allocatedGiB }));
      if (share > (this.peaks.get(p.name) ?? -1)) this.peaks.set(p.name, share);
    }
  }

  /** A loss at one moment (a pool removed with volumes, a failure, refused growth, an infeasible solve). */
  oneOff(kind: string, subject: string, atMs: number, message: string): void {
    this.closed.push({ kind, subject, firstMs: atMs, lastMs: atMs, samples: 1, message });
  }

  /** Counts growth (GiB per pool) toward the pools' growth rates. */
  addGrowth(effect: GrowthEffect): void {
    for (const [pool, gib] of effect) {
      const t = this.tracks.get(pool);
      if (t) t.grown += gib;
    }
  }

  /** Takes the sample at offset `t`: shares, limits broken, monthly cost. */
  sample(t: number, policy: CompiledPolicy): void {
    const idx = this.costs.length;
    for (const tr of this.tracks.values()) {
      const p = this.fleet.pools.get(tr.name);
      tr.grownGiB.push(tr.grown);
      if (!p) {
        tr.share.push(null);
        continue;
      }
      tr.usableGiB = usableGiB(p);
      const share = round4(poolUsedShare({ capacity: this.fleet.capacityOf(p), allocatedGiB: p.allocatedGiB }));
      tr.share.push(share);
      const limitPct = resolvePool(policy, { name: p.name, availabilityZone: p.availabilityZone }).maxUtilizationPct;
      if (limitPct !== null && p.state === 'up' && share > limitPct / 100 + 1e-9) this.overLimit(p.name, t, idx, share, limitPct);
    }
    this.costs.push(fleetMonthlyCost(this.fleet, policy));
  }

  private overLimit(pool: string, t: number, idx: number, share: number, limitPct: number): void {
    const key = `maxUtilization|${pool}`;
    const prev = this.open.get(key);
    const continues = prev !== undefined && prev.lastSample === idx - 1;
    if (prev && !continues) this.closed.push(stripOpen(prev));
    const worst = continues ? Math.max(prev.worst, share) : share;
    this.open.set(key, {
      kind: 'maxUtilization',
      subject: pool,
      firstMs: continues ? prev.firstMs : t,
      lastMs: t,
      samples: continues ? prev.samples + 1 : 1,
      message: `${pool} above its ${limitPct}% limit (worst ${pct(worst)})`,
      lastSample: idx,
      worst,
    });
  }

  /** A pool's growth (GiB/day) over the 30 days before `nowOffsetMs`, from the samples taken; null before any. */
  growthRate(pool: string, nowOffsetMs: number): number | null {
    const tr = this.tracks.get(pool);
    if (!tr || tr.grownGiB.length === 0) return null;
    const from = Math.max(0, nowOffsetMs - 30 * DAY);
    const i = Math.max(0, this.sampleTimesMs.findIndex((s) => s >= from));
    const j = tr.grownGiB.length - 1;
    const span = (this.sampleTimesMs[Math.min(j, this.sampleTimesMs.length - 1)]! - this.sampleTimesMs[i]!) / DAY;
    return span > 0 ? round2((tr.grownGiB[j]! - tr.grownGiB[i]!) / span) : 0;
  }

  /** Every pool ever seen, by name, with its series, peak, growth and time to full. */
  poolSeries(policy: CompiledPolicy, nowOffsetMs: number): PoolSeries[] {
    return [...this.tracks.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((tr) => {
        const p = this.fleet.pools.get(tr.name);
        const shares = tr.share.filter((s): s is number => s !== null);
        const rate = p ? (this.growthRate(tr.name, nowOffsetMs) ?? 0) : 0;
        const limitPct = p ? resolvePool(policy, { name: p.name, availabilityZone: p.availabilityZone }).maxUtilizationPct : null;
        const freeGiB = p ? usableGiB(p) - p.allocatedGiB : 0;
        return {
          name: tr.name,
          backend: tr.backend,
          usableGiB: tr.usableGiB,
          limitShare: limitPct === null ? null : limitPct / 100,
          share: tr.share,
          startShare: tr.share[0] ?? null,
          peakShare: Math.max(this.peaks.get(tr.name) ?? 0, ...shares),
          finalShare: tr.share[tr.share.length - 1] ?? null,
          growthGiBPerDay: rate,
          daysToFull: p && rate > 0 ? Math.max(0, Math.round((freeGiB / rate) * 10) / 10) : null,
          state: p ? p.state : 'removed',
        };
      });
  }

  /** Every violation, by first time, kind and subject. */
  violations(): ViolationRecord[] {
    return [...this.closed, ...[...this.open.values()].map(stripOpen)].sort(
      (a, b) => a.firstMs - b.firstMs || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0),
    );
  }
}

function stripOpen(v: OpenViolation): ViolationRecord {
  const { lastSample: _l, worst: _w, ...rest } = v;
  return rest;
}
