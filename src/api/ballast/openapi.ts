/**
 * The OpenAPI 3.1 document of Ballast's API, generated from the route table and the zod schemas
 * (served at `/api/v1/openapi.json`, committed as `docs/openapi.json`; a test keeps them equal).
 *
 * @module
 */
import { BALLAST_ROUTES } from './routes.js';
import { API_SCHEMAS, type SchemaName } from './schemas.js';
import { jsonSchemaOf } from './validate.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Malformed request, invalid body or parameters',
  401: 'No valid X-Auth-Token',
  403: 'Authenticated, but not an admin',
  404: 'No such plan, run or path',
  409: 'Refused by state (plan not waiting, a run already active, run ended)',
  413: 'Request body too large',
  422: 'The policies cannot be met: no plan made',
  503: 'Not ready, stopping, or telemetry too old',
};

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

/** Rewrites zod's local `#/$defs/x` references (none today) and drops `$schema`/`$id`. */
function component(name: SchemaName): Record<string, unknown> {
  const { $id: _id, ...rest } = jsonSchemaOf(name);
  return rest;
}

function successContent(body: BallastRouteBody): Record<string, unknown> {
  if (body === 'prometheus') return { 'text/plain; version=0.0.4': { schema: { type: 'string' } } };
  if (body === 'event-stream') return { 'text/event-stream': { schema: { type: 'string', description: 'Events: snapshot (RunDetail), transition, progress, run, end.' } } };
  if (body === 'openapi') return { 'application/json': { schema: { type: 'object' } } };
  return { 'application/json': { schema: ref(body) } };
}

type BallastRouteBody = (typeof BALLAST_ROUTES)[number]['response']['body'];

/** Version of the API document (`/api/v1`): bumped when a schema or route changes incompatibly. */
export const OPENAPI_VERSION = '1.0.0';

/** The OpenAPI 3.1 document (deterministic: same routes and schemas, same text). */
export function openApiDocument(version: string = OPENAPI_VERSION): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of BALLAST_ROUTES) {
    const path = r.pattern.replace(/:([a-zA-Z_]+)/g, '{$1}');
    const pathParams = [...r.pattern.matchAll(/:([a-zA-Z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = (r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: q.required ?? false, description: q.description, schema: { type: q.type } }));
    const statuses = [...new Set([...r.errors, ...(r.access === 'public' ? [] : [401]), ...(r.access === 'admin' ? [403] : []), ...(r.request ? [413] : [])])].sort((a, b) => a - b);
    const responses: Record<string, unknown> = {
      [String(r.response.status)]: { description: r.summary, content: successContent(r.response.body) },
    };
    for (const s of statuses) responses[String(s)] = { description: STATUS_TEXT[s] ?? 'Error', content: { 'application/json': { schema: ref('Error') } } };
    paths[path] ??= {};
    paths[path]![r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'admin' ? { description: 'Requires an admin token.' } : {}),
      ...(pathParams.length + queryParams.length > 0 ? { parameters: [...pathParams, ...queryParams] } : {}),
      ...(r.request ? { requestBody: { required: !r.request.optional, content: { 'application/json': { schema: ref(r.request.schema) } } } } : {}),
      responses,
    };
  }
  const schemas = Object.fromEntries((Object.keys(API_SCHEMAS) as SchemaName[]).sort().map((n) => [n, component(n)]));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ballast API',
      version,
      description: "Ballast's own API (served by `ballast daemon`): health, inventory, telemetry, plans, runs, run events, metrics. Generated from the zod schemas of src/api/ballast; do not edit docs/openapi.json by hand.",
    },
    servers: [{ url: 'http://127.0.0.1:8776' }],
    security: [{ token: [] }],
    paths,
    components: {
      securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A token of api.tokens (admin or member), or user:project with api.noauth on loopback.' } },
      schemas,
    },
  };
}

/** The document as committed in `docs/openapi.json` (2-space indent, final newline). */
export function openApiText(version: string = OPENAPI_VERSION): string {
  return `${JSON.stringify(openApiDocument(version), null, 2)}\n`;
}
