/**
 * Admin views of the back-end side: `scheduler-stats/get_pools` (summary, `detail=true`, the
 * `name` filter and, from 3.28, capability filters) and `os-services` (one cinder-volume per
 * back-end, one cinder-scheduler; all up, as they live in this process).
 *
 * @module
 */
import { poolView } from '../../blockstore/index.js';
import type { Route } from '../http/types.js';
import { atLeast } from './microversion.js';
import { microversion, projectCaller, requireAdmin, strictBool, type CinderDeps } from './access.js';
import { cinderTime } from './views.js';

/** The scheduler-stats and services routes. */
export function schedulerRoutes(deps: CinderDeps, nowMs: () => number): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v3/:project_id/scheduler-stats/get_pools',
      auth: 'required',
      handle: async (ctx) => {
        const who = projectCaller(ctx);
        requireAdmin(who, 'scheduler_extension:scheduler_stats:get_pools');
        const q = ctx.query;
        const detail = strictBool(q.get('detail') ?? undefined, 'detail', false);
        const filters = [...q.entries()].filter(([k]) => k !== 'detail' && (k === 'name' || atLeast(microversion(ctx), '3.28')));
        const pools = (await deps.service.listPools())
          .map(poolView)
          .filter((p) => filters.every(([k, v]) => (k === 'name' ? p.name === v : String(p.capabilities[k]) === v)))
          .sort((a, b) => a.name.localeCompare(b.name));
        return { status: 200, body: { pools: detail ? pools : pools.map((p) => ({ name: p.name })) } };
      },
    },
    {
      method: 'GET',
      pattern: '/v3/:project_id/os-services',
      auth: 'required',
      handle: async (ctx) => {
        const who = projectCaller(ctx);
        requireAdmin(who, 'volume_extension:services:index');
        const pools = await deps.service.listPools();
        const updated = cinderTime(new Date(nowMs()).toISOString());
        const backends = new Map<string, string>();
        for (const p of pools) {
          const backend = p.host.split('#')[0]!;
          if (!backends.has(backend)) backends.set(backend, p.availabilityZone);
        }
        const schedulerHost = [...backends.keys()][0]?.split('@')[0] ?? 'ballast';
        const base = { status: 'enabled', state: 'up', updated_at: updated, cluster: null, disabled_reason: null };
        const services = [
          { binary: 'cinder-scheduler', host: schedulerHost, zone: [...backends.values()][0] ?? 'nova', ...base },
          ...[...backends.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([host, zone]) => ({
            binary: 'cinder-volume',
            host,
            zone,
            ...base,
            replication_status: 'disabled',
            active_backend_id: null,
            frozen: false,
            ...(atLeast(microversion(ctx), '3.49') ? { backend_state: 'up' } : {}),
          })),
        ];
        const host = ctx.query.get('host');
        const binary = ctx.query.get('binary');
        return { status: 200, body: { services: services.filter((s) => (host === null || s.host === host) && (binary === null || s.binary === binary)) } };
      },
    },
  ];
}
