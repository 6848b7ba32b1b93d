/**
 * The contract between the HTTP server and its route modules (Cinder's API today; Ballast's own
 * plan/run API, health and metrics later): a module is a list of routes plus the way it renders
 * errors and the headers it adds.
 *
 * @module
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AppError } from '../../shared/index.js';

/** Who is calling. `via` says how they proved it. */
export interface Identity {
  /** User id (from the token's configuration, or the noauth token's `user` part). */
  readonly user: string;
  readonly projectId: string;
  readonly role: 'admin' | 'member';
  readonly via: 'token' | 'noauth';
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets for one request. */
export interface RequestContext {
  readonly method: HttpMethod;
  /** The path, without the query string and without a trailing slash (except `/`). */
  readonly path: string;
  /** `:name` segments of the route pattern, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** `req-<uuid>`, also sent back as `x-openstack-request-id`. */
  readonly requestId: string;
  /** The authenticated caller; null only on routes with `auth: 'none'`. */
  readonly identity: Identity | null;
  /** `scheme://host:port` as the client addressed the server (for links). */
  readonly baseUrl: string;
  /** The request body parsed as JSON; INVALID_INPUT (400) if empty or malformed. */
  json(): unknown;
  /** True when the request carried a body. */
  readonly hasBody: boolean;
}

/** What a handler answers. A body of `undefined` sends no body. */
export interface RouteResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** A plain-text body instead of JSON (e.g. Prometheus' format); set its `content-type` in `headers`. */
  readonly text?: string;
  /**
   * A long-lived streamed answer (server-sent events): the server writes the status and headers,
   * then hands the response over until the promise settles. `signal` aborts when the server closes.
   */
  readonly stream?: (res: ServerResponse, signal: AbortSignal) => Promise<void>;
}

/** One route: method, pattern (`/v3/:project_id/volumes/:id`), whether it needs a caller. */
export interface Route {
  readonly method: HttpMethod;
  readonly pattern: string;
  readonly auth: 'none' | 'required';
  handle(ctx: RequestContext): Promise<RouteResponse> | RouteResponse;
}

/** A group of routes sharing an error shape and response headers. */
export interface RouteModule {
  readonly name: string;
  readonly routes: readonly Route[];
  /** Does this module own a path (for 404s and 405s with its error shape)? */
  owns(path: string): boolean;
  /** The status, body and headers of an error, in this API's shape. */
  renderError(err: AppError): RouteResponse;
  /**
   * Runs before the handler (after authentication): validates module-wide headers (e.g. a
   * microversion) and returns headers to add to the response, errors included. Throws AppError.
   */
  prepare?(ctx: RequestContext): Readonly<Record<string, string>>;
}
