/**
 * Cinder microversions: the `OpenStack-API-Version: volume 3.x` request header (absent: 3.0,
 * `latest`: the maximum), echoed in the response with `Vary`, as cinderclient expects.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';

/** Lowest and highest microversions served (the maximum of Debian's Cinder 21, which cinderclient 9.1 knows). */
export const MIN_MICROVERSION = '3.0';
export const MAX_MICROVERSION = '3.70';

/** A parsed `3.x`. */
export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

function parse(s: string): Microversion | null {
  const m = /^(\d+)\.(\d+)$/.exec(s);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

function cmp(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

const MIN = parse(MIN_MICROVERSION)!;
const MAX = parse(MAX_MICROVERSION)!;

/** The microversion a request asks for; INVALID_INPUT when malformed, API_VERSION_NOT_SUPPORTED out of range. */
export function requestedMicroversion(header: string | string[] | undefined): Microversion {
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (raw === undefined || raw.trim() === '') return MIN;
  const entry = raw
    .split(',')
    .map((s) => s.trim().split(/\s+/))
    .find((parts) => parts[0]?.toLowerCase() === 'volume');
  if (!entry) return MIN;
  const value = entry[1] ?? '';
  if (value.toLowerCase() === 'latest') return MAX;
  const v = parse(value);
  if (!v) throw new AppError('INVALID_INPUT', `API Version String ${value} is of invalid format. Must be of format MajorNum.MinorNum.`);
  if (cmp(v, MIN) < 0 || cmp(v, MAX) > 0) {
    throw new AppError('API_VERSION_NOT_SUPPORTED', `Version ${value} is not supported by the API. Minimum is ${MIN_MICROVERSION} and maximum is ${MAX_MICROVERSION}.`);
  }
  return v;
}

/** Is `v` at least `min` (e.g. `'3.63'`)? */
export function atLeast(v: Microversion, min: string): boolean {
  return cmp(v, parse(min)!) >= 0;
}

/** `3.59` as a string. */
export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}
