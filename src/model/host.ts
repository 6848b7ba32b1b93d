import { AppError } from '../shared/index.js';

/** A parsed Cinder host string `host@backend#pool` (pool optional, as in Cinder). */
export interface HostRef {
  readonly host: string;
  readonly backend: string;
  readonly pool: string | null;
}

// Cinder accepts any non-empty name; Ballast restricts names to what is safe in paths and URLs.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Parses `host@backend#pool` or `host@backend` (section 0.3). Errors name the string and the rule.
 * Ballast requires the back-end part: a bare `host` names no back-end.
 */
export function parseHost(s: string): HostRef {
  const fail = (why: string): never => {
    throw new AppError('INVALID_HOST', `invalid host '${s}': ${why} (expected host@backend#pool)`, { details: { host: s } });
  };
  if (typeof s !== 'string' || s.length === 0) fail('empty');
  if (s.length > 255) fail('longer than 255 characters');
  const hashParts = s.split('#');
  if (hashParts.length > 2) fail("more than one '#'");
  const [hostBackend = '', pool] = hashParts;
  const atParts = hostBackend.split('@');
  if (atParts.length !== 2) fail(atParts.length === 1 ? "missing '@backend'" : "more than one '@'");
  const [host = '', backend = ''] = atParts;
  if (!NAME_RE.test(host)) fail(`host name '${host}' is empty or has characters outside [A-Za-z0-9._:-]`);
  if (!NAME_RE.test(backend)) fail(`back-end name '${backend}' is empty or has characters outside [A-Za-z0-9._:-]`);
  if (pool !== undefined && !NAME_RE.test(pool)) fail(`pool name '${pool}' is empty or has characters outside [A-Za-z0-9._:-]`);
  return { host, backend, pool: pool ?? null };
}

/** `extract_host(h, level)`: host, backend (`host@backend`) or pool. */
export function extractHost(s: string, level: 'host' | 'backend' | 'pool'): string | null {
  const h = parseHost(s);
  if (level === 'host') return h.host;
  if (level === 'backend') return `${h.host}@${h.backend}`;
  return h.pool;
}

export function formatHost(h: HostRef): string {
  return h.pool === null ? `${h.host}@${h.backend}` : `${h.host}@${h.backend}#${h.pool}`;
}

/** `append_host(host, pool)`. */
export function appendPool(hostBackend: string, pool: string): string {
  return `${hostBackend}#${pool}`;
}

/** `hosts_are_equivalent`: equal at back-end level (pools stripped). */
export function hostsAreEquivalent(a: string, b: string): boolean {
  return extractHost(a, 'backend') === extractHost(b, 'backend');
}
