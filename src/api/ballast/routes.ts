/**
 * The routes of Ballast's own API (see docs/daemon.md): health, readiness, inventory, telemetry,
 * plans, runs, run events and metrics.
 *
 * @module
 */
import { parseDurationMs } from '../../config/index.js';
import { AppError } from '../../shared/index.js';
import { isMetricName } from '../../telemetry/index.js';
import type { RequestContext } from '../http/types.js';
import type { Actor } from './backend.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import { RawResponse, type BallastRoute } from './route-def.js';
import type { DecisionRequest, PlanCreateRequest, RunStartRequest } from './schemas.js';
import { streamRunEvents } from './sse.js';

function actor(ctx: RequestContext): Actor {
  return { user: ctx.identity?.user ?? 'anonymous', via: 'api' };
}

function limitOf(ctx: RequestContext): number {
  const raw = ctx.query.get('limit');
  if (raw === null) return 50;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw new AppError('INVALID_INPUT', `limit '${raw.slice(0, 40)}' must be an integer from 1 to 1000`);
  return Number(raw);
}

function timeOf(raw: string | null, what: string, fallback: number): number {
  if (raw === null) return fallback;
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new AppError('INVALID_INPUT', `${what} '${raw.slice(0, 40)}' must be milliseconds since the epoch or an ISO-8601 time`);
  return t;
}

const LIMIT = { name: 'limit', description: 'How many, newest first (1-1000, default 50).', type: 'integer' } as const;

/** Every route of the API, in matching order. */
export const BALLAST_ROUTES: readonly BallastRoute[] = [
  {
    method: 'GET', pattern: '/healthz', operationId: 'health', summary: 'Liveness: the process answers', access: 'public',
    response: { status: 200, body: 'Health' }, errors: [],
    handle: (b) => b.health(),
  },
  {
    method: 'GET', pattern: '/readyz', operationId: 'ready', summary: 'Readiness: control plane, telemetry, not stopping (503 when not ready)', access: 'public',
    response: { status: 200, body: 'Ready' }, errors: [503],
    handle: async (b) => {
      const r = await b.readiness();
      return r.ready ? r : new RawResponse({ status: 503, body: r });
    },
  },
  {
    method: 'GET', pattern: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics', access: 'public',
    response: { status: 200, body: 'prometheus' }, errors: [],
    handle: async (b) => new RawResponse({ status: 200, text: renderPrometheus(await b.metrics()), headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } }),
  },
  {
    method: 'GET', pattern: '/api/v1/openapi.json', operationId: 'openapi', summary: 'This API as an OpenAPI 3.1 document', access: 'public',
    response: { status: 200, body: 'openapi' }, errors: [],
    handle: () => {
      throw new AppError('INTERNAL', 'the OpenAPI route is served by the module');
    },
  },
  {
    method: 'GET', pattern: '/api/v1/inventory', operationId: 'getInventory', summary: 'The inventory as it would be built now, with its freshness', access: 'reader',
    response: { status: 200, body: 'Inventory' }, errors: [503],
    handle: (b) => b.inventory(),
  },
  {
    method: 'GET', pattern: '/api/v1/telemetry/:entity/:metric', operationId: 'getTelemetry', summary: 'Samples of a metric over a window, per pool or volume', access: 'reader',
    response: { status: 200, body: 'TelemetrySeries' }, errors: [400],
    query: [
      { name: 'window', description: 'Window ending at `to` (e.g. 1h, 24h; default 1h).', type: 'string' },
      { name: 'from', description: 'Window start (ms since the epoch or ISO-8601); overrides window.', type: 'string' },
      { name: 'to', description: 'Window end (default now).', type: 'string' },
      { name: 'key', description: 'Pools (host@backend#pool) or volume ids, comma-separated (default all).', type: 'string' },
    ],
    handle: (b, ctx) => {
      const entity = ctx.params['entity'];
      const metric = ctx.params['metric'] ?? '';
      if (entity !== 'pool' && entity !== 'volume') throw new AppError('INVALID_INPUT', `entity '${String(entity).slice(0, 40)}' must be pool or volume`);
      if (!isMetricName(metric)) throw new AppError('INVALID_INPUT', `unknown metric '${metric.slice(0, 60)}'`);
      const toMs = timeOf(ctx.query.get('to'), 'to', Date.now());
      const windowText = ctx.query.get('window') ?? '1h';
      const windowMs = parseDurationMs(windowText);
      if (windowMs === null) throw new AppError('INVALID_INPUT', `window '${windowText.slice(0, 40)}' must be a duration such as 15m, 1h or 7d`);
      const fromMs = timeOf(ctx.query.get('from'), 'from', toMs - windowMs);
      if (fromMs > toMs) throw new AppError('INVALID_INPUT', 'from must not be after to');
      const keys = ctx.query.get('key')?.split(',').filter((k) => k.length > 0);
      return b.telemetry({ entity, metric, fromMs, toMs, ...(keys && keys.length > 0 ? { keys } : {}) });
    },
  },
  {
    method: 'GET', pattern: '/api/v1/plans', operationId: 'listPlans', summary: 'Plans, newest first', access: 'reader',
    response: { status: 200, body: 'PlanList' }, errors: [400], query: [LIMIT],
    handle: (b, ctx) => ({ plans: b.listPlans(limitOf(ctx)) }),
  },
  {
    method: 'POST', pattern: '/api/v1/plans', operationId: 'createPlan', summary: 'Make a plan now from the policies (a dry run: it waits for approval)', access: 'admin',
    request: { schema: 'PlanCreateRequest', optional: true }, response: { status: 201, body: 'PlanRecord' }, errors: [400, 409, 422, 503],
    handle: (b, ctx, body) => b.createPlan((body ?? {}) as PlanCreateRequest, actor(ctx)),
  },
  {
    method: 'GET', pattern: '/api/v1/plans/:id', operationId: 'getPlan', summary: 'A plan with every move and its reason', access: 'reader',
    response: { status: 200, body: 'PlanDetail' }, errors: [404],
    handle: (b, ctx) => b.getPlan(ctx.params['id']!),
  },
  {
    method: 'POST', pattern: '/api/v1/plans/:id/approve', operationId: 'approvePlan', summary: 'Approve a waiting plan: it runs when a window is open', access: 'admin',
    request: { schema: 'DecisionRequest', optional: true }, response: { status: 200, body: 'PlanRecord' }, errors: [400, 404, 409],
    handle: (b, ctx, body) => b.approvePlan(ctx.params['id']!, actor(ctx), (body as DecisionRequest | undefined)?.note ?? null),
  },
  {
    method: 'POST', pattern: '/api/v1/plans/:id/reject', operationId: 'rejectPlan', summary: 'Reject a waiting plan', access: 'admin',
    request: { schema: 'DecisionRequest', optional: true }, response: { status: 200, body: 'PlanRecord' }, errors: [400, 404, 409],
    handle: (b, ctx, body) => b.rejectPlan(ctx.params['id']!, actor(ctx), (body as DecisionRequest | undefined)?.note ?? null),
  },
  {
    method: 'GET', pattern: '/api/v1/runs', operationId: 'listRuns', summary: 'Runs, newest first', access: 'reader',
    response: { status: 200, body: 'RunList' }, errors: [400], query: [LIMIT],
    handle: (b, ctx) => ({ runs: b.listRuns(limitOf(ctx)) }),
  },
  {
    method: 'POST', pattern: '/api/v1/runs', operationId: 'startRun', summary: 'Start a run from a waiting or approved plan', access: 'admin',
    request: { schema: 'RunStartRequest', optional: false }, response: { status: 202, body: 'RunItem' }, errors: [400, 404, 409],
    handle: (b, ctx, body) => {
      const r = body as RunStartRequest;
      return b.startRun(r.planId, actor(ctx), { ignoreWindows: r.ignoreWindows === true });
    },
  },
  {
    method: 'GET', pattern: '/api/v1/runs/:id', operationId: 'getRun', summary: 'A run with its progress and every move', access: 'reader',
    response: { status: 200, body: 'RunDetail' }, errors: [404],
    handle: (b, ctx) => b.getRun(ctx.params['id']!),
  },
  {
    method: 'POST', pattern: '/api/v1/runs/:id/cancel', operationId: 'cancelRun', summary: 'Cancel a run: no new move starts, running moves stop where they can', access: 'admin',
    response: { status: 202, body: 'RunItem' }, errors: [404, 409],
    handle: (b, ctx) => b.cancelRun(ctx.params['id']!, actor(ctx)),
  },
  {
    method: 'GET', pattern: '/api/v1/runs/:id/events', operationId: 'runEvents', summary: 'Server-sent events of a run: snapshot, transition, progress, run, end', access: 'reader',
    response: { status: 200, body: 'event-stream' }, errors: [404],
    handle: (b, ctx) => {
      const id = ctx.params['id']!;
      b.getRun(id); // 404 before the stream starts
      return new RawResponse({
        status: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
        stream: (res, signal) => streamRunEvents(b, id, res, signal),
      });
    },
  },
];
