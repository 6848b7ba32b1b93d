/**
 * Keystone v3 token bodies: the expiry and the service catalog, and the choice of the block-storage
 * endpoint by service type, region and interface (as python-keystoneclient's `url_for`). Pure.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';

/** Service types of Cinder's v3 API, in order of preference (`volumev3` first, then the newer name). */
export const VOLUME_SERVICE_TYPES: readonly string[] = ['volumev3', 'block-storage'];

/** Endpoint interface, as Keystone lists them. */
export type EndpointInterface = 'public' | 'internal' | 'admin';

/** One endpoint of the catalog. */
export interface CatalogEndpoint {
  readonly serviceType: string;
  readonly interface: string;
  readonly region: string | null;
  readonly url: string;
}

/** What Ballast keeps from a token body. */
export interface ParsedToken {
  readonly expiresAtMs: number | null;
  readonly projectId: string | null;
  readonly catalog: readonly CatalogEndpoint[];
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * Parses the body of `POST /v3/auth/tokens` (`{"token": {"expires_at", "project", "catalog"}}`).
 *
 * @throws AppError `CINDER_AUTH_FAILED` when the body has no token.
 */
export function parseTokenBody(body: unknown): ParsedToken {
  const token = body !== null && typeof body === 'object' ? (body as { token?: unknown }).token : undefined;
  if (token === null || typeof token !== 'object') {
    throw new AppError('CINDER_AUTH_FAILED', 'Keystone answered without a token body (expected {"token": {...}})');
  }
  const t = token as Record<string, unknown>;
  const expires = str(t['expires_at']);
  const expiresAtMs = expires !== null && Number.isFinite(Date.parse(expires)) ? Date.parse(expires) : null;
  const project = t['project'];
  const projectId = project !== null && typeof project === 'object' ? str((project as Record<string, unknown>)['id']) : null;
  const catalog: CatalogEndpoint[] = [];
  const services = Array.isArray(t['catalog']) ? (t['catalog'] as unknown[]) : [];
  for (const s of services) {
    if (s === null || typeof s !== 'object') continue;
    const svc = s as Record<string, unknown>;
    const serviceType = str(svc['type']);
    if (serviceType === null || !Array.isArray(svc['endpoints'])) continue;
    for (const e of svc['endpoints'] as unknown[]) {
      if (e === null || typeof e !== 'object') continue;
      const ep = e as Record<string, unknown>;
      const url = str(ep['url']);
      const iface = str(ep['interface']);
      if (url === null || iface === null) continue;
      catalog.push({ serviceType, interface: iface, region: str(ep['region_id']) ?? str(ep['region']), url });
    }
  }
  return { expiresAtMs, projectId, catalog };
}

/**
 * The block-storage endpoint for a region and interface: the first of {@link VOLUME_SERVICE_TYPES}
 * that has one. With no region given, an endpoint in any region is taken only when all candidates
 * agree on one region (else the choice would be arbitrary).
 *
 * @throws AppError `CINDER_ENDPOINT_NOT_FOUND` naming what the catalog does offer.
 */
export function selectVolumeEndpoint(catalog: readonly CatalogEndpoint[], region: string | null, iface: EndpointInterface): string {
  for (const type of VOLUME_SERVICE_TYPES) {
    const candidates = catalog.filter((e) => e.serviceType === type && e.interface === iface && (region === null || e.region === region));
    if (candidates.length === 0) continue;
    const regions = [...new Set(candidates.map((c) => c.region ?? ''))];
    if (region === null && regions.length > 1) {
      throw new AppError(
        'CINDER_ENDPOINT_NOT_FOUND',
        `the service catalog has ${type} endpoints in several regions (${regions.sort().join(', ')}): choose one with region (or OS_REGION_NAME)`,
      );
    }
    return candidates[0]!.url.replace(/\/+$/, '');
  }
  const offered = catalog
    .filter((e) => VOLUME_SERVICE_TYPES.includes(e.serviceType))
    .map((e) => `${e.serviceType}/${e.interface}/${e.region ?? 'no region'}`);
  throw new AppError(
    'CINDER_ENDPOINT_NOT_FOUND',
    `the service catalog has no ${VOLUME_SERVICE_TYPES.join(' or ')} endpoint with interface ${iface}${region !== null ? ` in region ${region}` : ''}` +
      (offered.length > 0 ? ` (it offers: ${[...new Set(offered)].sort().join(', ')})` : ' (it has no block-storage service at all)'),
  );
}
