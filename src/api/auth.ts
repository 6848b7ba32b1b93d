/**
 * Authentication of API callers: configured tokens (compared in constant time: both sides are
 * hashed to SHA-256 and every token is compared with `timingSafeEqual`, no early exit) and, only
 * when enabled and only on loopback, Cinder's noauth form `X-Auth-Token: user:project`.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApiConfig } from '../config/index.js';
import { AppError } from '../shared/index.js';
import type { Identity } from './http/types.js';

/** A configured token, its secret kept only as a digest. */
export interface ResolvedToken {
  readonly user: string;
  readonly role: 'admin' | 'member';
  readonly projectId: string;
  readonly digest: Buffer;
}

const NOAUTH_PART_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * The tokens of the `api:` section with `tokenEnv` read from `env`. CONFIG_INVALID when a variable
 * is unset or too short, or two tokens share a secret (their roles would be ambiguous).
 */
export function resolveTokens(api: ApiConfig, env: NodeJS.ProcessEnv = process.env): ResolvedToken[] {
  const out: ResolvedToken[] = [];
  api.tokens.forEach((t, i) => {
    let secret = t.token;
    if (secret === undefined) {
      const v = env[t.tokenEnv!];
      if (v === undefined || v.length < 16) {
        throw new AppError('CONFIG_INVALID', `api.tokens[${i}] (user ${t.user}): environment variable ${t.tokenEnv} is ${v === undefined ? 'not set' : 'shorter than 16 characters'}`);
      }
      secret = v;
    }
    const digest = sha256(secret);
    if (out.some((o) => o.digest.equals(digest))) throw new AppError('CONFIG_INVALID', `api.tokens[${i}] (user ${t.user}): the same secret is configured twice`);
    out.push({ user: t.user, role: t.role, projectId: t.projectId, digest });
  });
  return out;
}

/** Is `host` a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::ffff:127.0.0.1';
}

/** Who may call the API. */
export class Authenticator {
  constructor(
    private readonly tokens: readonly ResolvedToken[],
    private readonly noauth: { readonly enabled: boolean; readonly admins: readonly string[] },
  ) {}

  /** From the `api:` section; refuses noauth on a non-loopback bind address. */
  static fromConfig(api: ApiConfig, bindHost: string, env: NodeJS.ProcessEnv = process.env): Authenticator {
    if (api.noauth && !isLoopback(bindHost)) {
      throw new AppError('CONFIG_INVALID', `api.noauth is true but the server would listen on ${bindHost}: noauth is for local use only (listen on 127.0.0.1 or ::1, or configure api.tokens)`);
    }
    const tokens = resolveTokens(api, env);
    if (tokens.length === 0 && !api.noauth) {
      throw new AppError('CONFIG_INVALID', 'the api: section has no tokens and noauth is false: nobody could call the API; add api.tokens (or api.noauth: true for local use)');
    }
    return new Authenticator(tokens, { enabled: api.noauth, admins: api.noauthAdmins });
  }

  /** The caller of a request (its X-Auth-Token), or null. */
  authenticateRequest(req: IncomingMessage): Identity | null {
    const h = req.headers['x-auth-token'];
    return this.authenticate(Array.isArray(h) ? undefined : h);
  }

  /** The caller a token stands for, or null. Configured tokens win over the noauth form. */
  authenticate(token: string | undefined): Identity | null {
    if (token === undefined || token.length === 0 || token.length > 1024) return null;
    const digest = sha256(token);
    let found: ResolvedToken | null = null;
    for (const t of this.tokens) {
      // No early exit: every configured token is compared, so timing says nothing about which.
      if (timingSafeEqual(t.digest, digest) && found === null) found = t;
    }
    if (found) return { user: found.user, projectId: found.projectId, role: found.role, via: 'token' };
    if (!this.noauth.enabled) return null;
    const sep = token.indexOf(':');
    const user = sep >= 0 ? token.slice(0, sep) : token;
    const projectId = sep >= 0 ? token.slice(sep + 1) : token;
    if (!NOAUTH_PART_RE.test(user) || !NOAUTH_PART_RE.test(projectId)) return null;
    return { user, projectId, role: this.noauth.admins.includes(user) ? 'admin' : 'member', via: 'noauth' };
  }
}
