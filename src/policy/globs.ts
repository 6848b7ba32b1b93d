/**
 * Name patterns used by policies: `*` matches any run of characters (including none), `?` exactly
 * one; everything else matches itself. Matching is linear-time (no regular expressions built
 * from user input), so a hostile pattern cannot hang a check.
 *
 * @module
 */

/**
 * A pool pattern: `host@backend#pool`, each part a glob (`ballast@fast#*`); the `host@backend`
 * part may also be a single glob standing for both (`*#ssd-?`).
 */
import { matchesGlob } from '../shared/index.js';

export const POOL_PATTERN = '^(?:[^\\s@#]+@[^\\s@#]+|[^\\s@#]*\\*[^\\s@#]*)#[^\\s@#]+$';
const POOL_RE = new RegExp(POOL_PATTERN);

/** A back-end reference: `fast` (any host) or `ballast@fast` (one host); globs allowed. */
export const BACKEND_PATTERN = '^[^\\s@#]+(?:@[^\\s@#]+)?$';

export { isGlob, matchesGlob } from '../shared/index.js';

/** True when any pattern matches `name`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => matchesGlob(p, name));
}

/** Why a pool pattern is malformed (empty string when it is fine). */
export function poolPatternProblem(pattern: string): string {
  if (POOL_RE.test(pattern)) return '';
  if (!pattern.includes('@') && !pattern.includes('#')) {
    return ` (pools are written host@backend#pool: '*#${pattern}' matches a pool named '${pattern}' on any back-end)`;
  }
  if (!pattern.includes('#')) return ` (pools are written host@backend#pool: '${pattern}#*' selects every pool of that back-end)`;
  return ' (pools are written host@backend#pool, e.g. \'ballast@fast#ssd-a\')';
}

/** The back-end part of `host@backend#pool` (`fast`), or null when the name is not of that form. */
export function backendOfPool(pool: string): string | null {
  const at = pool.indexOf('@');
  const hash = pool.indexOf('#');
  if (at < 0) return null;
  return pool.slice(at + 1, hash < 0 ? undefined : hash);
}

/** The `host@backend` part of `host@backend#pool`. */
export function hostBackendOfPool(pool: string): string {
  const hash = pool.indexOf('#');
  return hash < 0 ? pool : pool.slice(0, hash);
}

/**
 * True when a back-end reference (`fast`, `ballast@fast`, or a glob of either) selects the pool
 * `host@backend#pool`.
 */
export function backendSelectsPool(ref: string, pool: string): boolean {
  if (ref.includes('@')) return matchesGlob(ref, hostBackendOfPool(pool));
  const backend = backendOfPool(pool);
  return backend !== null && matchesGlob(ref, backend);
}
