/**
 * The API server of `ballast serve`: authentication from the `api:` section, the Cinder route
 * module over an open block service, background moves, and one close that stops it all in order
 * (no new requests, in-flight requests answered, running moves finished or rolled back).
 *
 * @module
 */
import type { BlockService } from '../blockstore/index.js';
import { parseListen, type ApiConfig } from '../config/index.js';
import { AppError } from '../shared/index.js';
import { Authenticator } from './auth.js';
import { BackgroundMoves } from './background-moves.js';
import { cinderModule } from './cinder/index.js';
import { startHttpServer, type HttpServerHandle, type LogSink } from './http/server.js';
import type { RouteModule } from './http/types.js';

export interface ApiServerOptions {
  readonly service: BlockService;
  readonly api: ApiConfig;
  /** Names of the volume types ballast.yaml defines (the file owns them). */
  readonly configTypeNames: readonly string[];
  /** Overrides `api.listen` (`host:port`; port 0 picks a free one). */
  readonly listen?: string;
  readonly log: LogSink;
  /** Environment for `tokenEnv` (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** More route modules (Ballast's own API, metrics) served beside Cinder's. */
  readonly extraModules?: readonly RouteModule[];
  readonly nowMs?: () => number;
}

export interface ApiServer {
  /** `http://host:port`; Cinder's endpoint is `${url}/v3`. */
  readonly url: string;
  readonly http: HttpServerHandle;
  readonly moves: BackgroundMoves;
  /**
   * Graceful stop: no new connections, in-flight requests finish (up to `requestTimeoutMs`),
   * running moves get `moveGraceMs` to finish and are then cancelled (rolled back, journaled).
   */
  close(opts?: { requestTimeoutMs?: number; moveGraceMs?: number }): Promise<void>;
}

/** Starts the API over an open block service. CONFIG_INVALID for a bad listen address or auth setup. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const listenText = opts.listen ?? opts.api.listen;
  const listen = parseListen(listenText);
  if (!listen) throw new AppError('INVALID_INPUT', `invalid listen address '${listenText}': expected host:port, e.g. 127.0.0.1:8776`);
  const auth = Authenticator.fromConfig(opts.api, listen.host, opts.env ?? process.env);
  const nowMs = opts.nowMs ?? Date.now;
  const moves = new BackgroundMoves(opts.service, opts.log, nowMs);
  const cinder = cinderModule(
    { service: opts.service, moves, configTypeNames: new Set(opts.configTypeNames), memberWrites: opts.api.memberWrites },
    nowMs,
  );
  const http = await startHttpServer({
    host: listen.host,
    port: listen.port,
    modules: [...(opts.extraModules ?? []), cinder],
    authenticate: (req) => auth.authenticateRequest(req),
    maxBodyBytes: opts.api.maxBodyBytes,
    log: opts.log,
    nowMs,
  });
  let closing: Promise<void> | null = null;
  return {
    url: http.url,
    http,
    moves,
    close: (o = {}) => {
      closing ??= (async () => {
        await http.close(o.requestTimeoutMs ?? 10_000);
        await moves.stop(o.moveGraceMs ?? 5_000);
      })();
      return closing;
    },
  };
}
