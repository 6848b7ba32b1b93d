/**
 * How Ballast's API routes are declared: one table drives the HTTP routes, their access rule,
 * request and response validation, and the OpenAPI document.
 *
 * @module
 */
import type { RequestContext, RouteResponse } from '../http/types.js';
import type { BallastBackend } from './backend.js';
import type { SchemaName } from './schemas.js';

/** Who may call: anyone (health, metrics), any authenticated caller, or an admin (state changes). */
export type Access = 'public' | 'reader' | 'admin';

/** A query parameter, for the OpenAPI document. */
export interface QueryParam {
  readonly name: string;
  readonly description: string;
  readonly type: 'string' | 'integer' | 'boolean';
  readonly required?: boolean;
}

/** One route of Ballast's API. */
export interface BallastRoute {
  readonly method: 'GET' | 'POST';
  /** Router pattern with `:name` segments. */
  readonly pattern: string;
  readonly operationId: string;
  readonly summary: string;
  readonly access: Access;
  /** Request body schema (POST); `optional` when an empty body is allowed. */
  readonly request?: { readonly schema: SchemaName; readonly optional: boolean };
  /** Success status and body: a schema (JSON), Prometheus text, or an event stream. */
  readonly response: { readonly status: number; readonly body: SchemaName | 'prometheus' | 'event-stream' | 'openapi' };
  readonly query?: readonly QueryParam[];
  /** Statuses of refusals this route can answer (besides 401/403 from `access`). */
  readonly errors: readonly number[];
  /** The handler: gets the validated body (undefined without one); returns a JSON body, or a full response. */
  handle(b: BallastBackend, ctx: RequestContext, body: unknown): Promise<unknown> | unknown;
}

/** A handler result that is already a full response (text, stream), not a JSON body to validate. */
export class RawResponse {
  constructor(readonly response: RouteResponse) {}
}
