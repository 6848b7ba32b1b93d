/**
 * Formatting shared by the plan renderings: fixed decimals, ISO times, bars. Everything is a pure
 * function of the plan, so the same plan renders to the same bytes.
 *
 * @module
 */
import type { Plan } from '../model/index.js';

/** A number with fixed decimals (never `-0`). */
export const fixed = (x: number, digits = 2): string => (Object.is(x, -0) ? 0 : x).toFixed(digits);
/** A share (0–1) as a percentage. */
export const percent = (share: number, digits = 1): string => `${fixed(share * 100, digits)}%`;
/** A change with its sign (`+1.00`, `-1.00`, `±0.00`). */
export const signed = (x: number, digits = 2): string => `${x > 0 ? '+' : x < 0 ? '-' : '±'}${fixed(Math.abs(x), digits)}`;
/** A time as ISO 8601 UTC to the second. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Bytes as GiB with two decimals (plans count in GiB). */
export const gibOf = (bytes: number): string => `${fixed(bytes / 1024 ** 3)} GiB`;

/** A 10-cell bar for a share (0–1; clamped). */
export function bar(share: number, cells = 10): string {
  const n = Math.max(0, Math.min(cells, Math.round(share * cells)));
  return `${'█'.repeat(n)}${'░'.repeat(cells - n)}`;
}

/** Relative objective change in percent, or null when the objective was 0. */
export function objectiveChangePct(plan: Plan): number | null {
  const { objectiveBefore: b, objectiveAfter: a } = plan.quality;
  return b === 0 ? null : ((a - b) / Math.abs(b)) * 100;
}

/** `3 moves, 30.00 GiB to move, cost per month 120.00 -> 110.00 (-10.00)` pieces. */
export function summaryParts(plan: Plan): { moves: string; data: string; cost: string } {
  const n = plan.totals.moves;
  const { costPerMonthBefore: cb, costPerMonthAfter: ca } = plan.totals;
  return {
    moves: `${n} move${n === 1 ? '' : 's'}`,
    data: gibOf(plan.totals.bytes),
    cost: `${fixed(cb)} -> ${fixed(ca)} per month (${signed(ca - cb)})`,
  };
}

/** The gap in words: `LP bound 0.9900: 2.1% of the achievable improvement left`. */
export function gapText(plan: Plan): string {
  const q = plan.quality;
  if (q.bound === null) return 'no LP bound computed';
  const left = q.improvementLeft === null ? 'n/a' : percent(q.improvementLeft);
  return `LP bound ${fixed(q.bound, 4)}: ${left} of the achievable improvement left`;
}

/** Moves sorted by id (their execution order); rows are stable for diffs. */
export function movesInOrder(plan: Plan): Plan['moves'] {
  return [...plan.moves].sort((a, b) => (a.id.length - b.id.length) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Pools sorted by name. */
export function poolsInOrder(plan: Plan): Plan['pools'] {
  return [...plan.pools].sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
}
