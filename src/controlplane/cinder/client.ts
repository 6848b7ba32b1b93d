/**
 * Cinder's v3 REST API as Ballast uses it: authenticated requests with the negotiated
 * microversion, one token renewal on 401, marker pagination, and typed errors that carry the HTTP
 * status and Cinder's own message.
 *
 * @module
 */
import { AppError, type ErrorCode } from '../../shared/index.js';
import type { Authenticator } from './auth.js';
import { openstackErrorMessage, safeUrl, type HttpClient, type HttpResponse } from './http.js';
import { formatMicroversion, negotiateMicroversion, serverVersions, versionDocumentUrl, WANTED_MICROVERSION, type Microversion } from './microversion.js';

/** How many times a paginated listing starts over when a marker row vanishes between pages. */
const LIST_RESTARTS = 3;

export interface CinderClientOptions {
  /** Cap on the microversion to use (default {@link WANTED_MICROVERSION}). */
  readonly maxMicroversion?: Microversion;
  /** Rows per page when listing (Cinder caps it at `osapi_max_limit`, 1000 by default). */
  readonly pageSize?: number;
}

/** What went wrong, in Cinder's words, for an answer that is not a success. */
export function requestError(what: string, res: HttpResponse, overrides: Partial<Record<number, ErrorCode>> = {}): AppError {
  const message = openstackErrorMessage(res);
  const code: ErrorCode = overrides[res.status] ?? (res.status === 401 || res.status === 403 ? 'CINDER_AUTH_FAILED' : 'CINDER_REQUEST_FAILED');
  return new AppError(code, `${what}: Cinder answered HTTP ${res.status}: ${message}`, {
    details: { httpStatus: res.status, cinderMessage: message, requestId: res.headers.get('x-openstack-request-id') },
    retryable: res.status >= 500 || res.status === 409,
  });
}

/** An authenticated client of one Cinder endpoint. */
export class CinderClient {
  private version: Promise<Microversion> | null = null;
  /** The volume endpoint of the last request, without query (null before the first). */
  lastEndpoint: string | null = null;
  private readonly pageSize: number;

  constructor(
    private readonly http: HttpClient,
    readonly auth: Authenticator,
    private readonly opts: CinderClientOptions = {},
  ) {
    this.pageSize = opts.pageSize ?? 1000;
  }

  /** The negotiated microversion (asks Cinder once). */
  async microversion(): Promise<Microversion> {
    this.version ??= (async () => {
      const { endpoint } = await this.auth.session();
      this.lastEndpoint = safeUrl(endpoint);
      const url = versionDocumentUrl(endpoint);
      const res = await this.http.send({ method: 'GET', url });
      if (res.status !== 300 && res.status !== 200) throw requestError(`reading Cinder's version document at ${safeUrl(url)}`, res);
      return negotiateMicroversion(serverVersions(res.json), this.opts.maxMicroversion ?? WANTED_MICROVERSION);
    })().catch((e: unknown) => {
      this.version = null;
      throw e;
    });
    return this.version;
  }

  /** The volume endpoint in use (authenticates when needed). */
  async endpoint(): Promise<string> {
    return (await this.auth.session()).endpoint;
  }

  /**
   * Sends a request relative to the volume endpoint (`/volumes/detail?…`). On 401 the token is
   * renewed once and the request sent again.
   */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<HttpResponse> {
    const version = formatMicroversion(await this.microversion());
    for (let attempt = 0; ; attempt++) {
      const s = await this.auth.session();
      this.lastEndpoint = safeUrl(s.endpoint);
      const res = await this.http.send({
        method,
        url: `${s.endpoint}${path}`,
        headers: { 'X-Auth-Token': s.token, 'OpenStack-API-Version': `volume ${version}` },
        ...(body !== undefined ? { body } : {}),
      });
      if (res.status === 401 && attempt === 0 && this.auth.invalidate()) continue;
      return res;
    }
  }

  /** GET that must answer 200; returns the JSON body. */
  async getJson(path: string, what: string): Promise<Record<string, unknown>> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw requestError(what, res);
    return (res.json ?? {}) as Record<string, unknown>;
  }

  /**
   * Every row of a paginated list (`volumes/detail`, `snapshots/detail`), sorted by id and walked
   * with markers until a short page without a `next` link. When the marker row is deleted between
   * two pages, Cinder answers 404 for the marker: the listing starts over (a few times), so a
   * fleet that changes while it is read still gives one consistent list.
   */
  async listAll(resource: string, key: string, query: Readonly<Record<string, string>> = {}): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      const rows = await this.listOnce(resource, key, query);
      if (rows !== null) return rows;
      if (attempt >= LIST_RESTARTS) {
        throw new AppError('CINDER_REQUEST_FAILED', `listing ${resource}: rows kept disappearing under the page markers (${LIST_RESTARTS} tries); the fleet is changing too fast to list`, { retryable: true });
      }
    }
  }

  /** One walk of the pages; null when a marker row vanished (404 on a later page). */
  private async listOnce(resource: string, key: string, query: Readonly<Record<string, string>>): Promise<Record<string, unknown>[] | null> {
    const out: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    let marker: string | null = null;
    for (;;) {
      const q = new URLSearchParams({ ...query, limit: String(this.pageSize), sort: 'id:asc', ...(marker !== null ? { marker } : {}) });
      const res = await this.request('GET', `/${resource}?${q.toString()}`);
      if (res.status === 404 && marker !== null) return null;
      if (res.status !== 200) throw requestError(`listing ${resource}`, res);
      const body = (res.json ?? {}) as Record<string, unknown>;
      const rows = Array.isArray(body[key]) ? (body[key] as Record<string, unknown>[]) : [];
      let fresh = 0;
      for (const r of rows) {
        const id = typeof r['id'] === 'string' ? r['id'] : null;
        if (id === null || seen.has(id)) continue;
        seen.add(id);
        out.push(r);
        fresh++;
      }
      const links = Array.isArray(body[`${key}_links`]) ? (body[`${key}_links`] as { rel?: unknown }[]) : [];
      const hasNext = links.some((l) => l.rel === 'next');
      const last = rows[rows.length - 1];
      if (fresh === 0 || last === undefined || typeof last['id'] !== 'string' || (!hasNext && rows.length < this.pageSize)) return out;
      marker = last['id'];
    }
  }
}
