/**
 * A model run of a plan under the policy's concurrency limits, to report each pool's peak used
 * share. Moves start in id order as soon as their dependencies have ended and the limits allow
 * (total, per pool, per back-end, in-use); a move reserves its size on the destination when it
 * starts and frees the source when it ends. Durations are proportional to size (a retype in place
 * takes none): the times are a model, the order of events is what matters.
 *
 * @module
 */
import type { CompiledExecution } from '../policy/index.js';

/** What the run needs of a move. */
export interface SimMove {
  readonly from: string;
  readonly to: string;
  readonly sizeGiB: number;
  readonly attached: boolean;
  readonly dependsOn: readonly number[];
}

/** A pool in the model run: its back-end (for the per-back-end limit) and capacity. */
export interface SimPool {
  readonly name: string;
  readonly backend: string;
  readonly usedGiB: number;
  readonly usableGiB: number;
}

/** What the model run measured. */
export interface SimResult {
  /** Highest used share (0–1) of each pool at any moment, the start included. */
  readonly peakShare: ReadonlyMap<string, number>;
  /** Model time units until the last move ends. */
  readonly makespan: number;
}

type Limits = Pick<CompiledExecution, 'maxConcurrentTotal' | 'maxConcurrentPerPool' | 'maxConcurrentPerBackend' | 'maxConcurrentInUse'>;

/** A binary min-heap of move indexes (the lowest id starts first). */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): number | undefined {
    return this.a[0];
  }
  push(x: number): void {
    const a = this.a;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Runs the plan in the model (see the module comment). A move that cannot start waits on the
 * first limit that stops it (a pool, a back-end, the in-use slots, the total) and is looked at
 * again only when that limit frees a slot, so the run stays fast for large plans. Throws only on
 * a plan that cannot finish (a bug).
 */
export function simulatePlan(moves: readonly SimMove[], pools: readonly SimPool[], limits: Limits): SimResult {
  // Pools and back-ends as small integers (moves may name pools the list lacks: they get their own).
  const poolIds = new Map<string, number>();
  const backendIds = new Map<string, number>();
  const backendOf = new Map(pools.map((p) => [p.name, p.backend]));
  const poolId = (name: string) => poolIds.get(name) ?? (poolIds.set(name, poolIds.size), poolIds.size - 1);
  const backendId = (name: string) => backendIds.get(name) ?? (backendIds.set(name, backendIds.size), backendIds.size - 1);
  for (const p of pools) poolId(p.name);
  const raw = moves.map((m) => ({ from: poolId(m.from), to: poolId(m.to), bf: backendId(backendOf.get(m.from) ?? m.from), bt: backendId(backendOf.get(m.to) ?? m.to) }));
  const P = poolIds.size;
  const B = backendIds.size;
  const IN_USE = P + B;
  const TOTAL = P + B + 1;
  /** Resources a move holds while it runs: pools, then back-ends (each once). */
  const holds = raw.map((k) => [...new Set([k.from, k.to])].concat([...new Set([P + k.bf, P + k.bt])]));
  // A limit of 0 stops the executor altogether (the plan notes it); the model runs with 1.
  const cap = (r: number) => Math.max(1, r < P ? limits.maxConcurrentPerPool : r < P + B ? limits.maxConcurrentPerBackend : r === IN_USE ? limits.maxConcurrentInUse : limits.maxConcurrentTotal);
  const busy = new Int32Array(P + B + 2);
  const waitingOn = Array.from({ length: P + B + 2 }, () => new MinHeap());

  const used = new Float64Array(P);
  const usable = new Float64Array(P);
  for (const p of pools) {
    used[poolIds.get(p.name)!] = p.usedGiB;
    usable[poolIds.get(p.name)!] = p.usableGiB;
  }
  const peak = new Float64Array(P);
  const touch = (i: number) => {
    const share = usable[i]! > 0 ? used[i]! / usable[i]! : 0;
    if (share > peak[i]!) peak[i] = share;
  };
  for (let i = 0; i < P; i++) touch(i);

  const blocker = (i: number): number => {
    for (const r of holds[i]!) if (busy[r]! >= cap(r)) return r;
    if (moves[i]!.attached && busy[IN_USE]! >= cap(IN_USE)) return IN_USE;
    return busy[TOTAL]! >= cap(TOTAL) ? TOTAL : -1;
  };
  const running: { index: number; endsAt: number }[] = [];
  let now = 0;
  const start = (i: number) => {
    const mv = moves[i]!;
    for (const r of holds[i]!) busy[r]! += 1;
    if (mv.attached) busy[IN_USE]! += 1;
    busy[TOTAL]! += 1;
    const k = raw[i]!;
    const copies = k.from !== k.to;
    if (copies) {
      used[k.to]! += mv.sizeGiB;
      touch(k.to);
    }
    running.push({ index: i, endsAt: now + (copies ? Math.max(mv.sizeGiB, 1e-3) : 0) });
  };
  /**
   * Admits in id order: the candidates merged with the moves waiting on the limits in `freed`
   * (taken from a limit only while it has a free slot). Each starts or waits on its first
   * blocker, so a waiting move is looked at again only when that limit frees a slot.
   */
  const admit = (candidates: MinHeap, freed: readonly number[]) => {
    for (;;) {
      let best = candidates.peek();
      let from: MinHeap = candidates;
      for (const r of freed) {
        if (busy[r]! >= cap(r)) continue;
        const head = waitingOn[r]!.peek();
        if (head !== undefined && (best === undefined || head < best)) {
          best = head;
          from = waitingOn[r]!;
        }
      }
      if (best === undefined) return;
      from.pop();
      const b = blocker(best);
      if (b < 0) start(best);
      else waitingOn[b]!.push(best);
    }
  };

  const waiting = moves.map((m) => m.dependsOn.length);
  const dependents: number[][] = moves.map(() => []);
  moves.forEach((m, i) => m.dependsOn.forEach((d) => dependents[d]!.push(i)));
  const initial = new MinHeap();
  moves.forEach((_, i) => waiting[i] === 0 && initial.push(i));
  admit(initial, []);
  let left = moves.length;
  while (left > 0) {
    if (running.length === 0) throw new Error('plan simulation stalled: a move waits for one that never ends');
    running.sort((a, b) => a.endsAt - b.endsAt || a.index - b.index);
    const { index: e, endsAt } = running.shift()!;
    now = endsAt;
    left -= 1;
    const mv = moves[e]!;
    const k = raw[e]!;
    if (k.from !== k.to) used[k.from]! -= mv.sizeGiB;
    const freed = [...holds[e]!, ...(mv.attached ? [IN_USE] : []), TOTAL];
    for (const r of freed) busy[r]! -= 1;
    const candidates = new MinHeap();
    for (const j of dependents[e]!) if (--waiting[j]! === 0) candidates.push(j);
    admit(candidates, freed);
  }
  return { peakShare: new Map([...poolIds.entries()].map(([name, i]) => [name, peak[i]!])), makespan: now };
}
