/**
 * Ordering moves so that no pool exceeds its headroom at any moment of execution, whatever order
 * and concurrency the executor picks among the moves whose dependencies are done.
 *
 * Model: a move reserves its size on the destination when it starts and frees it on the source
 * only when it ends. A pool's state is its net change `D` (GiB); it is safe while `D <= room`.
 *
 * Scheduling is greedy in passes: a move is appended when the destination's incoming so far plus
 * this move, less the outgoing moves scheduled so far, fits its room. Its `dependsOn` is the
 * shortest prefix (in schedule order) of the destination's outgoing moves that makes it fit. For
 * any set of started moves consistent with the dependencies, let j be the latest-scheduled
 * incoming move of a pool that has started: every started incoming move was scheduled no later
 * than j, and j's dependencies have ended, so `D <= in(<= j) - out(deps of j) <= room`.
 *
 * When no pending move fits (a cycle: A→B while B→A, both full), one move of the cycle is staged
 * through a third pool with room (two moves, the second depending on the first), within the run's
 * move and byte budgets; when no pool can stage it, the smallest blocked move is dropped with a
 * note. Moves whose final state cannot fit are dropped first. The order is never unsafe.
 *
 * @module
 */
import type { Move, MoveKind } from '../model/index.js';

const EPS = 1e-6;

/** A move before ordering: a plan's move without its id and dependencies (given by the order). */
export interface DraftMove extends Omit<Move, 'id' | 'dependsOn'> {
  /** Serves a hard rule (a drain, an exclusion): ordered first, dropped last. */
  readonly hard: boolean;
}

/** A move in execution order; `dependsOn` holds indexes of earlier moves. */
export interface OrderedMove extends DraftMove {
  readonly dependsOn: readonly number[];
}

/** What ordering needs: the moves, each pool's room, and how to stage a move. */
export interface OrderInput {
  readonly drafts: readonly DraftMove[];
  /** Net GiB each pool may gain during execution (see `headroom.ts`). */
  readonly roomGiB: (pool: string) => number;
  /** Pools (best first) a volume could be staged on, other than its source and destination. */
  readonly stagingPools: (d: DraftMove) => readonly string[];
  /** The kind of moving `d`'s volume from `from` to `to` (for staged hops). */
  readonly kindOf: (d: DraftMove, from: string, to: string) => MoveKind;
  /** Moves and bytes left in the run's budget for staging hops (Infinity when uncapped). */
  readonly spareMoves: number;
  readonly spareGiB: number;
}

/** The ordered moves, the moves dropped (with why) and how many volumes were staged. */
export interface OrderResult {
  readonly moves: readonly OrderedMove[];
  readonly dropped: readonly { readonly move: DraftMove; readonly why: string }[];
  /** Number of volumes routed through a staging pool. */
  readonly staged: number;
}

const movesData = (d: DraftMove) => d.from !== d.to;

function priority(a: DraftMove, b: DraftMove): number {
  if (a.hard !== b.hard) return a.hard ? -1 : 1;
  if (a.sizeGiB !== b.sizeGiB) return b.sizeGiB - a.sizeGiB;
  return a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0;
}

/** Drops moves until every pool's final net change fits its room (objective-only moves first). */
function dropUnfitting(drafts: DraftMove[], roomGiB: (pool: string) => number, dropped: OrderResult['dropped'][number][]): DraftMove[] {
  let kept = drafts;
  for (;;) {
    const net = new Map<string, number>();
    for (const d of kept.filter(movesData)) {
      net.set(d.to, (net.get(d.to) ?? 0) + d.sizeGiB);
      net.set(d.from, (net.get(d.from) ?? 0) - d.sizeGiB);
    }
    // A pool that ends over its headroom is fine only when nothing comes in (it just goes down).
    const hasIncoming = new Set(kept.filter(movesData).map((d) => d.to));
    const over = [...net.entries()].filter(([p, n]) => n > roomGiB(p) + EPS && hasIncoming.has(p)).sort(([a], [b]) => (a < b ? -1 : 1))[0];
    if (!over) return kept;
    const [pool, n] = over;
    const excess = n - roomGiB(pool);
    const incoming = kept.filter((d) => movesData(d) && d.to === pool).sort((a, b) => (a.hard !== b.hard ? (a.hard ? 1 : -1) : priority(b, a)));
    const victim = incoming.find((d) => d.sizeGiB >= excess - EPS) ?? incoming[incoming.length - 1]!;
    dropped.push({ move: victim, why: `${pool} would end ${round(excess)} GiB over its headroom` });
    kept = kept.filter((d) => d !== victim);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Orders moves safely (see the module comment). Deterministic for the same input. */
export function orderMoves(input: OrderInput): OrderResult {
  const dropped: { move: DraftMove; why: string }[] = [];
  const inPlace = input.drafts.filter((d) => !movesData(d)).sort(priority);
  let pending = dropUnfitting([...input.drafts.filter(movesData)], input.roomGiB, dropped).sort(priority);
  const out: OrderedMove[] = inPlace.map((d) => ({ ...d, dependsOn: [] }));
  const inSum = new Map<string, number>();
  const outgoing = new Map<string, { index: number; sizeGiB: number }[]>();
  const outSum = new Map<string, number>();
  /** Index of the first hop of a staged volume, for its second hop. */
  const hopOf = new Map<DraftMove, number>();
  let spareMoves = input.spareMoves;
  let spareGiB = input.spareGiB;
  let staged = 0;

  const need = (d: DraftMove, to = d.to) => (inSum.get(to) ?? 0) + d.sizeGiB - input.roomGiB(to);
  const fits = (d: DraftMove, to = d.to) => need(d, to) - (outSum.get(to) ?? 0) <= EPS;
  const schedule = (d: DraftMove): number => {
    const deps: number[] = [];
    let required = need(d);
    for (const o of outgoing.get(d.to) ?? []) {
      if (required <= EPS) break;
      deps.push(o.index);
      required -= o.sizeGiB;
    }
    const first = hopOf.get(d);
    if (first !== undefined && !deps.includes(first)) deps.push(first);
    const index = out.length;
    out.push({ ...d, dependsOn: deps.sort((a, b) => a - b) });
    inSum.set(d.to, (inSum.get(d.to) ?? 0) + d.sizeGiB);
    const outs = outgoing.get(d.from) ?? [];
    outs.push({ index, sizeGiB: d.sizeGiB });
    outgoing.set(d.from, outs);
    outSum.set(d.from, (outSum.get(d.from) ?? 0) + d.sizeGiB);
    return index;
  };

  while (pending.length > 0) {
    const before = pending.length;
    const rest: DraftMove[] = [];
    for (const d of pending) {
      if (fits(d)) schedule(d);
      else rest.push(d);
    }
    pending = rest;
    if (pending.length < before) continue;
    // Deadlock: stage one move of a cycle through a pool with room, else drop the smallest.
    const blockedInto = new Set(pending.map((d) => d.to));
    const stageable = [...pending]
      .filter((d) => blockedInto.has(d.from) && !hopOf.has(d) && spareMoves >= 1 && spareGiB >= d.sizeGiB - EPS)
      .sort((a, b) => a.sizeGiB - b.sizeGiB || priority(a, b));
    let done = false;
    for (const d of stageable) {
      const via = input.stagingPools(d).find((s) => s !== d.from && s !== d.to && fits(d, s));
      if (via === undefined) continue;
      const blocker = pending.find((e) => e !== d && e.to === d.from)!;
      const first = schedule({
        ...d,
        to: via,
        kind: input.kindOf(d, d.from, via),
        reason: `staged on ${via} (step 1 of 2) to break a cycle: ${d.from} and ${blocker.from} are both full; then: ${d.reason}`,
      });
      const second: DraftMove = { ...d, from: via, kind: input.kindOf(d, via, d.to), reason: `step 2 of 2 from staging pool ${via}: ${d.reason}` };
      hopOf.set(second, first);
      pending = pending.map((e) => (e === d ? second : e));
      spareMoves -= 1;
      spareGiB -= d.sizeGiB;
      staged += 1;
      done = true;
      break;
    }
    if (done) continue;
    // Second hops last: dropping one leaves its volume on the staging pool (still safe, noted).
    const rank = (d: DraftMove) => (hopOf.has(d) ? 2 : d.hard ? 1 : 0);
    const victim = [...pending].sort((a, b) => rank(a) - rank(b) || a.sizeGiB - b.sizeGiB || priority(a, b))[0]!;
    dropped.push({
      move: victim,
      why: hopOf.has(victim)
        ? `no safe order into ${victim.to}: the volume stays on staging pool ${victim.from}`
        : `no safe order: ${victim.to} has no room until moves that wait for ${victim.from} run (a cycle), and no pool can stage it`,
    });
    pending = pending.filter((d) => d !== victim);
  }
  return { moves: out, dropped, staged };
}
