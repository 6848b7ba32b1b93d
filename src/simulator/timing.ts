/**
 * The timing model of simulated moves, and how concurrent copies share bandwidth.
 *
 * A copy reads from its source pool, writes to its destination pool and, when it crosses back-ends
 * and a link is modelled, goes through the one shared link. Bandwidth is shared max-min fairly
 * (progressive filling): every copy gets the same rate until a resource it uses is saturated; the
 * copies on a saturated resource are then frozen and the others share what is left. A live copy of
 * an attached volume also has to re-copy what its consumer writes meanwhile, so it advances at its
 * rate minus the consumer's write rate. Every move pays a fixed overhead (half before copying, half
 * after: scheduling, target creation, completion and the name swap).
 *
 * Pure: no clock, no I/O.
 *
 * @module
 */

/** Read and write bandwidth of one pool, bytes per second. */
export interface PoolBandwidth {
  readonly readBytesPerSec: number;
  readonly writeBytesPerSec: number;
}

/** How long moves take and how often they fail. */
export interface TimingModel {
  /** Bandwidth of pools without an entry in `pools`. */
  readonly defaultPool: PoolBandwidth;
  /** Per pool (`host@backend#pool`) bandwidth. */
  readonly pools: Readonly<Record<string, PoolBandwidth>>;
  /** The shared link copies between back-ends go through; null: no shared bottleneck. */
  readonly linkBytesPerSec: number | null;
  /** Fixed cost of every move (ms), half before copying, half after. */
  readonly moveOverheadMs: number;
  /** What the consumer of an attached volume writes while it is live-copied, bytes per second. */
  readonly liveWriteBytesPerSec: number;
  /** Probability (0–1) that a move fails partway. */
  readonly failureProbability: number;
  /** Per back-end (`host@backend`) failure probability, overriding `failureProbability`. */
  readonly failureProbabilityByBackend: Readonly<Record<string, number>>;
}

/** A plausible default: 500 MiB/s pools, a 1 GiB/s link, 30 s overhead, no failures. */
export const DEFAULT_TIMING: TimingModel = Object.freeze({
  defaultPool: { readBytesPerSec: 500 * 1024 ** 2, writeBytesPerSec: 500 * 1024 ** 2 },
  pools: {},
  linkBytesPerSec: 1024 ** 3,
  moveOverheadMs: 30_000,
  liveWriteBytesPerSec: 10 * 1024 ** 2,
  failureProbability: 0,
  failureProbabilityByBackend: {},
});

/** One copy in progress, as the allocator sees it. */
export interface Flow {
  readonly id: string;
  /** Resource names the copy uses (`read:<pool>`, `write:<pool>`, `link`). */
  readonly resources: readonly string[];
}

/** Resources a copy from `from` to `to` uses. */
export function flowResources(from: string, fromBackend: string, to: string, toBackend: string, model: TimingModel): string[] {
  const r = [`read:${from}`, `write:${to}`];
  if (fromBackend !== toBackend && model.linkBytesPerSec !== null) r.push('link');
  return r;
}

/** Capacity of a resource named by {@link flowResources}, bytes per second (`total`: the executor's cap). */
export function resourceCapacity(resource: string, model: TimingModel, totalCap: number | null = null): number {
  if (resource === 'link') return model.linkBytesPerSec ?? Number.POSITIVE_INFINITY;
  if (resource === 'total') return totalCap ?? Number.POSITIVE_INFINITY;
  const sep = resource.indexOf(':');
  const kind = resource.slice(0, sep);
  const pool = resource.slice(sep + 1);
  const bw = model.pools[pool] ?? model.defaultPool;
  return kind === 'read' ? bw.readBytesPerSec : bw.writeBytesPerSec;
}

/**
 * Max-min fair rates (bytes per second) of concurrent copies by progressive filling. Flows are
 * processed in the order given; the result does not depend on that order.
 */
export function allocateBandwidth(flows: readonly Flow[], capacityOf: (resource: string) => number): Map<string, number> {
  const rate = new Map<string, number>(flows.map((f) => [f.id, 0]));
  const remaining = new Map<string, number>();
  for (const f of flows) for (const r of f.resources) if (!remaining.has(r)) remaining.set(r, Math.max(0, capacityOf(r)));
  let active = flows.filter((f) => f.resources.length > 0);
  while (active.length > 0) {
    const users = new Map<string, number>();
    for (const f of active) for (const r of f.resources) users.set(r, (users.get(r) ?? 0) + 1);
    let inc = Number.POSITIVE_INFINITY;
    for (const [r, n] of users) inc = Math.min(inc, remaining.get(r)! / n);
    if (!Number.isFinite(inc)) break;
    for (const f of active) rate.set(f.id, rate.get(f.id)! + inc);
    const saturated = new Set<string>();
    for (const [r, n] of users) {
      const left = remaining.get(r)! - inc * n;
      remaining.set(r, left);
      if (Number.isFinite(left) && left <= 1e-9 * Math.max(1, capacityOf(r))) saturated.add(r);
    }
    active = active.filter((f) => !f.resources.some((r) => saturated.has(r)));
  }
  return rate;
}

/**
 * Time (ms) one copy of `bytes` takes alone on the model: overhead plus bytes over the slowest of
 * its resources, less the consumer's writes when it is a live copy. Infinity when a live copy can
 * never converge.
 */
export function soloMoveMs(bytes: number, resources: readonly string[], live: boolean, model: TimingModel): number {
  const rate = Math.min(...resources.map((r) => resourceCapacity(r, model)));
  const progress = live ? rate - model.liveWriteBytesPerSec : rate;
  if (bytes === 0) return model.moveOverheadMs;
  if (progress <= 0) return Number.POSITIVE_INFINITY;
  return model.moveOverheadMs + (bytes / progress) * 1000;
}
