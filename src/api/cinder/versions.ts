/**
 * The version documents cinderclient reads to negotiate a microversion: `GET /` (300, all
 * versions) and `GET /v3/` (200). No authentication, as in Cinder.
 *
 * @module
 */
import type { RequestContext, Route } from '../http/types.js';
import { MAX_MICROVERSION, MIN_MICROVERSION } from './microversion.js';

/** Cinder's `_KNOWN_VERSIONS` for v3, with links to this server. */
export function versionDocument(baseUrl: string): { versions: Record<string, unknown>[] } {
  return {
    versions: [
      {
        id: 'v3.0',
        status: 'CURRENT',
        version: MAX_MICROVERSION,
        min_version: MIN_MICROVERSION,
        updated: '2022-08-31T00:00:00Z',
        links: [
          { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
          { rel: 'self', href: `${baseUrl}/v3/` },
        ],
        'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
      },
    ],
  };
}

/** The version routes. */
export function versionRoutes(): Route[] {
  return [
    { method: 'GET', pattern: '/', auth: 'none', handle: (ctx: RequestContext) => ({ status: 300, body: versionDocument(ctx.baseUrl) }) },
    { method: 'GET', pattern: '/v3', auth: 'none', handle: (ctx: RequestContext) => ({ status: 200, body: versionDocument(ctx.baseUrl) }) },
  ];
}
