/**
 * Microversion negotiation with Cinder's v3 API: read the version document (`GET /` answers 300
 * with `{"versions": [{"id": "v3.0", "version": "3.70", "min_version": "3.0"}]}`), then use the
 * highest version both sides know, capped at what Ballast was written against. Pure.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';

/** A microversion `major.minor`. */
export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

/** The oldest microversion Ballast works with (plain v3). */
export const MIN_MICROVERSION: Microversion = { major: 3, minor: 0 };
/**
 * The newest microversion Ballast was written against: 3.65 shows `volume_type_id` (3.63) and
 * `consumes_quota` (3.65) in volume details. Older servers work too, with the type id looked up by name.
 */
export const WANTED_MICROVERSION: Microversion = { major: 3, minor: 65 };

/** Parses `3.59` (also `v3.59`); null when it is not a version. */
export function parseMicroversion(s: unknown): Microversion | null {
  if (typeof s !== 'string') return null;
  const m = /^v?(\d+)\.(\d+)$/.exec(s.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export function compareMicroversion(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The v3 range a server supports, from its version document; null max means no microversions. */
export interface ServerVersions {
  readonly min: Microversion | null;
  readonly max: Microversion | null;
}

/**
 * Reads the v3 entry of a version document (`{"versions": [...]}` from `/`, or `{"version": {...}}`).
 *
 * @throws AppError `CINDER_MICROVERSION_UNSUPPORTED` when the document lists no v3 API.
 */
export function serverVersions(doc: unknown): ServerVersions {
  const root = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  const list = Array.isArray(root['versions']) ? (root['versions'] as unknown[]) : root['version'] ? [root['version']] : [];
  const v3 = list.find((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && /^v3(\.|$)/.test(String((v as Record<string, unknown>)['id'])));
  if (!v3) {
    const ids = list.map((v) => String((v as Record<string, unknown> | null)?.['id'] ?? '?'));
    throw new AppError('CINDER_MICROVERSION_UNSUPPORTED', `the block-storage endpoint offers no v3 API (versions: ${ids.length > 0 ? ids.join(', ') : 'none listed'})`);
  }
  return { min: parseMicroversion(v3['min_version']), max: parseMicroversion(v3['version']) };
}

/**
 * The microversion to send: min(server max, wanted), which must be at least max(server min,
 * Ballast's minimum). A server without microversions (empty `version`) gets 3.0.
 *
 * @throws AppError `CINDER_MICROVERSION_UNSUPPORTED` when the ranges do not overlap.
 */
export function negotiateMicroversion(server: ServerVersions, wanted: Microversion = WANTED_MICROVERSION, minimum: Microversion = MIN_MICROVERSION): Microversion {
  if (server.max === null) return MIN_MICROVERSION;
  const pick = compareMicroversion(server.max, wanted) < 0 ? server.max : wanted;
  const floor = server.min !== null && compareMicroversion(server.min, minimum) > 0 ? server.min : minimum;
  if (compareMicroversion(pick, floor) < 0) {
    throw new AppError(
      'CINDER_MICROVERSION_UNSUPPORTED',
      `no common microversion: Cinder supports ${server.min ? formatMicroversion(server.min) : '?'}–${formatMicroversion(server.max)}, Ballast needs ${formatMicroversion(minimum)}–${formatMicroversion(wanted)}`,
    );
  }
  return pick;
}

/** The URL of the version document for a volume endpoint: everything before `/v3`, plus `/`. */
export function versionDocumentUrl(endpoint: string): string {
  const u = new URL(endpoint);
  const i = u.pathname.search(/\/v3(\/|$)/);
  u.pathname = i >= 0 ? `${u.pathname.slice(0, i)}/` : '/';
  u.search = '';
  return u.toString();
}
