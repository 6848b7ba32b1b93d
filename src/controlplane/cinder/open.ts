/**
 * Opening a Cinder control plane from a resolved connection: the HTTP client, the authenticator
 * (Keystone v3 or noauth), the API client and the adapter.
 *
 * @module
 */
import type { Clock } from '../../shared/index.js';
import { KeystoneAuthenticator, NoAuthAuthenticator, type Authenticator } from './auth.js';
import { CinderClient } from './client.js';
import { CinderControlPlane } from './control-plane.js';
import { HttpClient } from './http.js';
import type { CinderConnection } from './settings.js';

/** Tuning of a Cinder control plane (all optional). */
export interface CinderTuning {
  /** Per-request timeout (ms, default 30 000). */
  readonly requestTimeoutMs?: number;
  /** Retries of a GET after a connection error or 5xx (default 3). */
  readonly retries?: number;
  /** First retry backoff (ms, default 500). */
  readonly backoffMs?: number;
  /** See {@link CinderControlPlane}: "not started" grace and destination settle time (ms). */
  readonly startGraceMs?: number;
  readonly settleMs?: number;
  /** Rows per page when listing (default 1000). */
  readonly pageSize?: number;
  readonly clock?: Clock;
  /** Injected for tests. */
  readonly fetch?: typeof fetch;
}

/** Builds the authenticator a connection describes. */
export function makeAuthenticator(conn: CinderConnection, http: HttpClient, clock?: Clock): Authenticator {
  if (conn.auth.type === 'noauth') return new NoAuthAuthenticator(conn.auth.endpoint, conn.auth.projectId, conn.auth.userId);
  return new KeystoneAuthenticator(http, {
    authUrl: conn.auth.authUrl,
    identity: conn.auth.identity,
    region: conn.region,
    interface: conn.interface,
    endpointOverride: conn.endpointOverride,
    ...(clock ? { clock } : {}),
  });
}

/** A Cinder control plane over a connection (nothing is sent until first use or {@link CinderControlPlane.connect}). */
export function openCinderControlPlane(conn: CinderConnection, tuning: CinderTuning = {}): CinderControlPlane {
  const http = new HttpClient({
    ...(tuning.requestTimeoutMs !== undefined ? { timeoutMs: tuning.requestTimeoutMs } : {}),
    ...(tuning.retries !== undefined ? { retries: tuning.retries } : {}),
    ...(tuning.backoffMs !== undefined ? { backoffMs: tuning.backoffMs } : {}),
    ...(tuning.fetch ? { fetch: tuning.fetch } : {}),
  });
  const auth = makeAuthenticator(conn, http, tuning.clock);
  const client = new CinderClient(http, auth, {
    ...(conn.maxMicroversion ? { maxMicroversion: conn.maxMicroversion } : {}),
    ...(tuning.pageSize !== undefined ? { pageSize: tuning.pageSize } : {}),
  });
  return new CinderControlPlane(client, {
    ...(tuning.clock ? { clock: tuning.clock } : {}),
    ...(tuning.startGraceMs !== undefined ? { startGraceMs: tuning.startGraceMs } : {}),
    ...(tuning.settleMs !== undefined ? { settleMs: tuning.settleMs } : {}),
  });
}
