/**
 * Ballast's API as a route module of the HTTP server: access rules (public, any caller, admin),
 * request bodies checked with ajv before the backend sees them, response bodies checked before
 * they are sent, and errors as `{"error": {"code", "message"}}` with a status per code.
 *
 * @module
 */
import { AppError } from '../../shared/index.js';
import type { Route, RouteModule, RouteResponse } from '../http/types.js';
import type { BallastBackend } from './backend.js';
import { openApiDocument, OPENAPI_VERSION } from './openapi.js';
import { RawResponse, type BallastRoute } from './route-def.js';
import { BALLAST_ROUTES } from './routes.js';
import { checkRequest, checkResponse } from './validate.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  INVALID_INPUT: 400,
  API_UNSUPPORTED_MEDIA_TYPE: 415,
  API_UNAUTHORIZED: 401,
  API_FORBIDDEN: 403,
  API_NOT_FOUND: 404,
  PLAN_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  API_METHOD_NOT_ALLOWED: 405,
  API_BODY_TOO_LARGE: 413,
  PLAN_NOT_WAITING: 409,
  PLAN_EXPIRED: 409,
  PLAN_INVALID: 409,
  RUN_BUSY: 409,
  PLAN_REFUSED: 422,
  POLICY_INVALID: 422,
  TELEMETRY_STALE: 503,
  TELEMETRY_NO_DATA: 404,
  DAEMON_STOPPING: 503,
  CINDER_UNREACHABLE: 503,
  STATE_LOCKED: 503,
};

/** HTTP status of an error code in Ballast's API. */
export function statusOf(err: AppError): number {
  return STATUS_BY_CODE[err.code] ?? (err.code === 'INTERNAL' ? 500 : err.exitCode === 3 ? 404 : err.exitCode === 4 ? 409 : err.exitCode === 2 ? 400 : 500);
}

function toRoute(r: BallastRoute, backend: BallastBackend, version: string): Route {
  let openapi: Record<string, unknown> | null = null;
  return {
    method: r.method,
    pattern: r.pattern,
    auth: r.access === 'public' ? 'none' : 'required',
    async handle(ctx): Promise<RouteResponse> {
      if (r.access === 'admin' && ctx.identity?.role !== 'admin') {
        throw new AppError('API_FORBIDDEN', `${r.method} ${r.pattern.replace(/:([a-z_]+)/gi, '{$1}')} needs an admin; ${ctx.identity?.user ?? 'the caller'} is a ${ctx.identity?.role ?? 'guest'}`);
      }
      let body: unknown;
      if (r.request) {
        if (ctx.hasBody) body = checkRequest(r.request.schema, ctx.json());
        else if (!r.request.optional) throw new AppError('INVALID_INPUT', `Malformed request body: ${r.method} ${r.pattern} needs a JSON body (${r.request.schema})`);
      } else if (ctx.hasBody) throw new AppError('INVALID_INPUT', `${r.method} ${r.pattern} takes no request body`);
      if (r.response.body === 'openapi') {
        openapi ??= openApiDocument(version);
        return { status: 200, body: openapi };
      }
      const out = await r.handle(backend, ctx, body);
      if (out instanceof RawResponse) {
        const res = out.response;
        if (res.body !== undefined && typeof r.response.body === 'string' && !['prometheus', 'event-stream', 'openapi'].includes(r.response.body)) checkResponse(r.response.body as never, res.body);
        return res;
      }
      checkResponse(r.response.body as never, out);
      return { status: r.response.status, body: out };
    },
  };
}

/** Options of {@link ballastModule}. */
export interface BallastModuleOptions {
  /** Version shown in the OpenAPI document (default {@link OPENAPI_VERSION}). */
  readonly version?: string;
}

/** The route module of Ballast's API over a backend. */
export function ballastModule(backend: BallastBackend, opts: BallastModuleOptions = {}): RouteModule {
  const version = opts.version ?? OPENAPI_VERSION;
  return {
    name: 'ballast',
    routes: BALLAST_ROUTES.map((r) => toRoute(r, backend, version)),
    owns: (path) => path === '/healthz' || path === '/readyz' || path === '/metrics' || path === '/api' || path.startsWith('/api/'),
    renderError: (err) => ({
      status: statusOf(err),
      body: { error: { code: err.code, message: err.message, ...(Object.keys(err.details).length > 0 && err.code !== 'INTERNAL' ? { details: err.details } : {}) } },
      headers: { 'x-ballast-error-code': err.code, ...(err.code === 'API_METHOD_NOT_ALLOWED' && Array.isArray(err.details['allow']) ? { allow: (err.details['allow'] as string[]).join(', ') } : {}) },
    }),
  };
}
