/**
 * The Cinder v3-compatible API over the embedded block service, as one route module.
 *
 * @module
 */
import type { RequestContext, Route, RouteModule } from '../http/types.js';
import { actionRoutes } from './actions.js';
import { microversion, type CinderDeps } from './access.js';
import { renderCinderError } from './faults.js';
import { formatMicroversion } from './microversion.js';
import { schedulerRoutes } from './scheduler.js';
import { typeRoutes } from './types.js';
import { versionRoutes } from './versions.js';
import { volumeRoutes } from './volumes.js';

export type { CinderDeps } from './access.js';
export { MAX_MICROVERSION, MIN_MICROVERSION } from './microversion.js';

const PROJECT_PREFIX = '/v3/:project_id/';

/**
 * Every `/v3/{project_id}/…` route also without the project (`/v3/…`, the project then comes from
 * the token), as Cinder accepts since Xena and as cinderclient calls it when `CINDER_ENDPOINT`
 * ends in `/v3`.
 */
function withProjectless(routes: readonly Route[]): Route[] {
  const bare = routes.filter((r) => r.pattern.startsWith(PROJECT_PREFIX)).map((r) => ({ ...r, pattern: `/v3/${r.pattern.slice(PROJECT_PREFIX.length)}` }));
  return [...routes, ...bare];
}

/** The Cinder module: `/`, `/v3/`, `/v3/{project_id}/…` and `/v3/…`. */
export function cinderModule(deps: CinderDeps, nowMs: () => number = Date.now): RouteModule {
  return {
    name: 'cinder',
    routes: withProjectless([...versionRoutes(), ...volumeRoutes(deps), ...actionRoutes(deps), ...typeRoutes(deps), ...schedulerRoutes(deps, nowMs)]),
    owns: (path) => path === '/' || path === '/v3' || path.startsWith('/v3/'),
    renderError: renderCinderError,
    prepare: (ctx: RequestContext): Record<string, string> => {
      if (!ctx.path.startsWith('/v3/')) return {};
      return { 'openstack-api-version': `volume ${formatMicroversion(microversion(ctx))}`, vary: 'OpenStack-API-Version' };
    },
  };
}
