/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every machine, so simulated failures and generated growth are reproducible.
 *
 * @module
 */

/** A source of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32 over a 32-bit seed (non-integers and negatives are folded into 32 bits). */
export function mulberry32(seed: number): Random {
  let a = Math.trunc(seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from a base seed and a label (FNV-1a), so independent streams stay independent. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (Math.trunc(seed) >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
