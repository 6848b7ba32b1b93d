/**
 * Ballast's HTTP API: the server (`node:http`), authentication, and the route modules (today the
 * Cinder v3-compatible API over the embedded block service).
 *
 * @module
 */
export { startApiServer, type ApiServer, type ApiServerOptions } from './api-server.js';
export { Authenticator, isLoopback, resolveTokens, type ResolvedToken } from './auth.js';
export { BackgroundMoves } from './background-moves.js';
export { cinderModule, MAX_MICROVERSION, MIN_MICROVERSION, type CinderDeps } from './cinder/index.js';
export { startHttpServer, type HttpServerHandle, type HttpServerOptions, type LogSink } from './http/server.js';
export type { HttpMethod, Identity, RequestContext, Route, RouteModule, RouteResponse } from './http/types.js';
export * from './ballast/index.js';
