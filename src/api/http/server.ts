/**
 * The HTTP server (`node:http`, no framework): routing to route modules, bounded JSON bodies,
 * authentication, request ids, one structured access-log line per request (never a header, so
 * never a token), and a graceful close that lets in-flight requests finish.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError, toAppError } from '../../shared/index.js';
import { checkJsonMediaType, parseJson, readBody } from './body.js';
import { normalizePath, Router, type RouteMatch } from './router.js';
import type { HttpMethod, Identity, RequestContext, RouteModule, RouteResponse } from './types.js';

/** A structured log line (JSON object); the sink decides where it goes. */
export type LogSink = (entry: Readonly<Record<string, unknown>>) => void;

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly modules: readonly RouteModule[];
  /** The caller of a request, or null when it has no valid credentials. Must not throw for bad tokens. */
  readonly authenticate: (req: IncomingMessage) => Identity | null;
  readonly maxBodyBytes: number;
  readonly log: LogSink;
  /** Wall clock for log timestamps (default Date.now). */
  readonly nowMs?: () => number;
}

export interface HttpServerHandle {
  /** `http://host:port` (IPv6 in brackets). */
  readonly url: string;
  readonly port: number;
  /** Requests being handled now. */
  inFlight(): number;
  /**
   * Stops accepting connections, lets in-flight requests finish (up to `timeoutMs`, then cuts
   * their connections) and resolves when the server is closed.
   */
  close(timeoutMs?: number): Promise<void>;
}

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'DELETE']);
const HOST_HEADER_RE = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/** Errors outside any module's paths: a small generic shape. */
function genericError(err: AppError): RouteResponse {
  return { status: statusOfGeneric(err), body: { error: { code: err.code, message: err.message } } };
}

function statusOfGeneric(err: AppError): number {
  switch (err.code) {
    case 'API_NOT_FOUND':
      return 404;
    case 'API_METHOD_NOT_ALLOWED':
      return 405;
    case 'API_BODY_TOO_LARGE':
      return 413;
    case 'API_UNAUTHORIZED':
      return 401;
    default:
      return err.code === 'INTERNAL' ? 500 : 400;
  }
}

/** Starts the server and resolves once it listens. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const router = new Router(opts.modules);
  const now = opts.nowMs ?? Date.now;
  let inFlight = 0;
  const streams = new Set<AbortController>();
  const server: Server = createServer((req, res) => {
    inFlight++;
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    handle(req, res).catch((e: unknown) => {
      // Only a failing log sink or socket gets here (handle renders every other error): drop the connection.
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = `req-${randomUUID()}`;
    const rawUrl = req.url ?? '/';
    const path = normalizePath(rawUrl);
    let identity: Identity | null = null;
    let match: RouteMatch | null = null;
    let bytesIn = 0;
    let errorCode: string | null = null;
    let extraHeaders: Readonly<Record<string, string>> = {};
    let response: RouteResponse;
    try {
      const method = (req.method ?? 'GET').toUpperCase();
      if (!METHODS.has(method)) throw new AppError('API_METHOD_NOT_ALLOWED', `The method ${method} is not supported`);
      match = router.match(method, path);
      const body = await readBody(req, opts.maxBodyBytes);
      bytesIn = body.length;
      if (body.length > 0) checkJsonMediaType(req.headers['content-type']);
      if (match.route.auth === 'required') {
        identity = opts.authenticate(req);
        if (!identity) throw new AppError('API_UNAUTHORIZED', 'The request you have made requires authentication.');
      }
      const host = req.headers.host;
      const ctx: RequestContext = {
        method: method as HttpMethod,
        path,
        params: match.params,
        query: new URL(rawUrl, 'http://localhost').searchParams,
        headers: req.headers,
        requestId,
        identity,
        baseUrl: `http://${host && HOST_HEADER_RE.test(host) ? host : hostPort(server)}`,
        hasBody: body.length > 0,
        json: () => parseJson(body),
      };
      extraHeaders = match.module.prepare?.(ctx) ?? {};
      response = await match.route.handle(ctx);
    } catch (e) {
      const err = toAppError(e);
      errorCode = err.code;
      const module = match?.module ?? router.moduleFor(path);
      response = module ? module.renderError(err) : genericError(err);
      if (err.code === 'INTERNAL') opts.log({ ts: new Date(now()).toISOString(), level: 'error', msg: 'internal error', request_id: requestId, error: err.message, stack: e instanceof Error ? e.stack : undefined });
    }
    if (response.stream && !res.headersSent) {
      await streamResponse(res, response, requestId, extraHeaders, streams);
      opts.log({ ts: new Date(now()).toISOString(), level: 'info', msg: 'request', request_id: requestId, method: req.method, path, status: response.status, duration_ms: Math.round((performance.now() - started) * 10) / 10, bytes_in: bytesIn, streamed: true, user: identity?.user ?? null, project: identity?.projectId ?? null, remote: req.socket.remoteAddress ?? null });
      return;
    }
    const payload = response.text !== undefined ? Buffer.from(response.text) : response.body === undefined ? null : Buffer.from(JSON.stringify(response.body));
    const headers: Record<string, string> = {
      'x-openstack-request-id': requestId,
      ...extraHeaders,
      ...(response.headers ?? {}),
      ...(payload && response.text === undefined ? { 'content-type': 'application/json' } : {}),
      'content-length': String(payload?.length ?? 0),
    };
    // A refused oversized body is not drained: close the connection after answering.
    if (errorCode === 'API_BODY_TOO_LARGE') headers['connection'] = 'close';
    if (!res.headersSent) res.writeHead(response.status, headers);
    res.end(payload ?? undefined);
    opts.log({
      ts: new Date(now()).toISOString(),
      level: response.status >= 500 ? 'error' : 'info',
      msg: 'request',
      request_id: requestId,
      method: req.method,
      path,
      status: response.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      bytes_in: bytesIn,
      bytes_out: payload?.length ?? 0,
      user: identity?.user ?? null,
      project: identity?.projectId ?? null,
      remote: req.socket.remoteAddress ?? null,
      ...(errorCode ? { error_code: errorCode } : {}),
    });
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new AppError('INVALID_INPUT', `cannot listen on ${opts.host}:${opts.port}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`, { cause: e }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostPort(server)}`,
    port,
    inFlight: () => inFlight,
    close: (timeoutMs = 10_000) => {
      for (const c of streams) c.abort(); // streams end first: they would hold the close to its timeout
      return closeGracefully(server, () => inFlight, timeoutMs);
    },
  };
}

function hostPort(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

async function closeGracefully(server: Server, inFlight: () => number, timeoutMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = performance.now() + timeoutMs;
  while (inFlight() > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    server.closeIdleConnections();
  }
  server.closeAllConnections();
  await closed;
}

/** Hands a response to a streaming handler (server-sent events) until it ends, the client leaves or the server closes. */
async function streamResponse(res: ServerResponse, response: RouteResponse, requestId: string, extra: Readonly<Record<string, string>>, streams: Set<AbortController>): Promise<void> {
  const ctl = new AbortController();
  streams.add(ctl);
  const onClose = () => ctl.abort();
  res.once('close', onClose);
  try {
    res.writeHead(response.status, { 'x-openstack-request-id': requestId, ...extra, ...(response.headers ?? {}) });
    res.flushHeaders();
    await response.stream!(res, ctl.signal);
  } finally {
    res.off('close', onClose);
    streams.delete(ctl);
    if (!res.writableEnded) res.end();
  }
}
