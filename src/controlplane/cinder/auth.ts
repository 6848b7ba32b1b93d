/**
 * Authentication to Cinder: Keystone v3 (password or application credential; the token is kept
 * until shortly before it expires, and renewed once when Cinder answers 401) or noauth
 * (`X-Auth-Token: user:project`, for labs and Cinder's own noauth mode). An authenticator yields
 * the token and the volume endpoint; it never puts a secret in a message.
 *
 * @module
 */
import { AppError, systemClock, type Clock } from '../../shared/index.js';
import { parseTokenBody, selectVolumeEndpoint, type EndpointInterface } from './catalog.js';
import { openstackErrorMessage, safeUrl, type HttpClient } from './http.js';

/** A token and the endpoint to use it on. */
export interface AuthSession {
  readonly token: string;
  /** The volume endpoint, e.g. `https://cinder.example.com:8776/v3/<project>`, no trailing slash. */
  readonly endpoint: string;
}

/** Something that can authenticate Ballast to Cinder. */
export interface Authenticator {
  /** A valid session, from cache when it has not expired. */
  session(): Promise<AuthSession>;
  /** Drops the cached token (Cinder said 401). Returns whether a new one can be asked for. */
  invalidate(): boolean;
  /** A human description without secrets (for `name` and logs). */
  readonly description: string;
}

/** Keystone v3 identity: user and password scoped to a project, or an application credential. */
export type KeystoneIdentity =
  | {
      readonly method: 'password';
      /** `name` (with a domain) or `id`. */
      readonly user: { readonly id?: string; readonly name?: string; readonly domainName?: string; readonly domainId?: string };
      readonly password: string;
      readonly project: { readonly id?: string; readonly name?: string; readonly domainName?: string; readonly domainId?: string };
    }
  | {
      readonly method: 'application_credential';
      /** `id`, or `name` with the owning user. */
      readonly id?: string;
      readonly name?: string;
      readonly user?: { readonly id?: string; readonly name?: string; readonly domainName?: string; readonly domainId?: string };
      readonly secret: string;
    };

export interface KeystoneAuthOptions {
  /** Keystone's URL; `/v3` is appended when missing. */
  readonly authUrl: string;
  readonly identity: KeystoneIdentity;
  readonly region: string | null;
  readonly interface: EndpointInterface;
  /** Use this volume endpoint instead of the catalog's. */
  readonly endpointOverride: string | null;
  /** Renew this long before the token expires (ms). Default 60 000. */
  readonly refreshMarginMs?: number;
  readonly clock?: Clock;
}

/** `http://keystone:5000` → `http://keystone:5000/v3`; a URL already ending in `/v3` is kept. */
export function normalizeAuthUrl(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/v3$/.test(u) ? u : `${u}/v3`;
}

function scopeRef(r: { id?: string; name?: string; domainName?: string; domainId?: string }): Record<string, unknown> {
  if (r.id !== undefined) return { id: r.id };
  const domain = r.domainId !== undefined ? { id: r.domainId } : { name: r.domainName ?? 'Default' };
  return { name: r.name, domain };
}

/** The body of `POST /v3/auth/tokens` for an identity (documented Keystone v3 shapes). */
export function keystoneAuthBody(identity: KeystoneIdentity): Record<string, unknown> {
  if (identity.method === 'password') {
    return {
      auth: {
        identity: { methods: ['password'], password: { user: { ...scopeRef(identity.user), password: identity.password } } },
        scope: { project: scopeRef(identity.project) },
      },
    };
  }
  const cred: Record<string, unknown> = { secret: identity.secret };
  if (identity.id !== undefined) cred['id'] = identity.id;
  else {
    cred['name'] = identity.name;
    if (identity.user) cred['user'] = scopeRef(identity.user);
  }
  return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
}

function describeIdentity(i: KeystoneIdentity): string {
  if (i.method === 'password') {
    const user = i.user.id ?? i.user.name ?? '?';
    const project = i.project.id ?? i.project.name ?? '?';
    return `user ${user} in project ${project}`;
  }
  return `application credential ${i.id ?? i.name ?? '?'}`;
}

/** Keystone v3 authentication with token caching and renewal. */
export class KeystoneAuthenticator implements Authenticator {
  readonly description: string;
  private readonly clock: Clock;
  private readonly margin: number;
  private readonly authUrl: string;
  private cached: { session: AuthSession; expiresAtMs: number | null } | null = null;
  private pending: Promise<AuthSession> | null = null;

  constructor(
    private readonly http: HttpClient,
    private readonly opts: KeystoneAuthOptions,
  ) {
    this.authUrl = normalizeAuthUrl(opts.authUrl);
    this.clock = opts.clock ?? systemClock;
    this.margin = opts.refreshMarginMs ?? 60_000;
    this.description = `keystone ${safeUrl(this.authUrl)} (${describeIdentity(opts.identity)})`;
  }

  async session(): Promise<AuthSession> {
    const c = this.cached;
    if (c && (c.expiresAtMs === null || this.clock.nowMs() < c.expiresAtMs - this.margin)) return c.session;
    // One request at a time: concurrent callers share the same renewal.
    this.pending ??= this.issue().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  invalidate(): boolean {
    this.cached = null;
    return true;
  }

  private async issue(): Promise<AuthSession> {
    const url = `${this.authUrl}/auth/tokens`;
    const res = await this.http.send({ method: 'POST', url, body: keystoneAuthBody(this.opts.identity) });
    if (res.status === 401 || res.status === 403) {
      throw new AppError('CINDER_AUTH_FAILED', `Keystone at ${safeUrl(this.authUrl)} refused ${describeIdentity(this.opts.identity)} (HTTP ${res.status}): ${openstackErrorMessage(res)}`, {
        details: { httpStatus: res.status },
      });
    }
    if (res.status !== 201 && res.status !== 200) {
      throw new AppError('CINDER_REQUEST_FAILED', `Keystone at ${safeUrl(this.authUrl)} answered HTTP ${res.status} to a token request: ${openstackErrorMessage(res)}`, {
        details: { httpStatus: res.status, cinderMessage: openstackErrorMessage(res) },
        retryable: res.status >= 500,
      });
    }
    const token = res.headers.get('x-subject-token');
    if (token === null || token.length === 0) {
      throw new AppError('CINDER_AUTH_FAILED', `Keystone at ${safeUrl(this.authUrl)} answered ${res.status} without an X-Subject-Token header`);
    }
    const parsed = parseTokenBody(res.json);
    const endpoint = this.opts.endpointOverride ?? selectVolumeEndpoint(parsed.catalog, this.opts.region, this.opts.interface);
    const session = { token, endpoint: endpoint.replace(/\/+$/, '') };
    this.cached = { session, expiresAtMs: parsed.expiresAtMs };
    return session;
  }
}

/** Cinder's noauth mode: the token is `user:project`; the endpoint is given. */
export class NoAuthAuthenticator implements Authenticator {
  readonly description: string;
  private readonly value: AuthSession;

  /**
   * @param endpoint the volume endpoint, with or without the project (`http://h:8776/v3` gets
   *   `/<projectId>` appended, as cinderclient's noauth plugin does).
   */
  constructor(endpoint: string, projectId: string, userId: string) {
    const e = endpoint.replace(/\/+$/, '');
    const full = e.endsWith(`/${projectId}`) ? e : `${e}/${projectId}`;
    this.value = { token: `${userId}:${projectId}`, endpoint: full };
    this.description = `noauth ${safeUrl(full)}`;
  }

  async session(): Promise<AuthSession> {
    return this.value;
  }

  invalidate(): boolean {
    return false;
  }
}
