/**
 * A small JSON-over-HTTP client for OpenStack APIs: a timeout on every request, and retries with
 * backoff on connection errors and 5xx answers, for idempotent requests (GET) only. A POST is sent
 * once: Cinder's actions are not idempotent, and a retried `os-migrate_volume` could start a second
 * move. Messages name the method and the URL's path, never a header (tokens stay out of errors).
 *
 * @module
 */
import { AppError } from '../../shared/index.js';

/** One answer, body parsed as JSON when it is JSON. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON body; null when empty or not JSON. */
  readonly json: unknown;
  /** The raw body text (for errors that are not JSON). */
  readonly text: string;
}

/** A request to send. */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
}

export interface HttpClientOptions {
  /** Per-attempt timeout (ms). Default 30 000. */
  readonly timeoutMs?: number;
  /** Extra attempts for idempotent requests after a connection error or a 5xx. Default 3. */
  readonly retries?: number;
  /** First backoff (ms), doubled on each retry. Default 500. */
  readonly backoffMs?: number;
  /** Injected for tests; default waits with a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** What the peer is, for messages ("Cinder", "Keystone"). */
  readonly peer?: string;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A URL without its query string and credentials, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Whether an answer with this status is worth retrying for an idempotent request. */
export function isRetryableStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/** Sends JSON requests with timeouts and (for GET) retries. */
export class HttpClient {
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetchFn: typeof fetch;
  private readonly peer: string;

  constructor(opts: HttpClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
    this.sleep = opts.sleep ?? realSleep;
    this.fetchFn = opts.fetch ?? fetch;
    this.peer = opts.peer ?? 'Cinder';
  }

  /**
   * Sends a request. Resolves with any HTTP answer (callers decide what a status means); throws
   * `CINDER_UNREACHABLE` when no answer came (refused, reset, DNS, timeout) after the retries.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const idempotent = req.method === 'GET';
    const attempts = idempotent ? this.retries + 1 : 1;
    let lastError: unknown = null;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await this.sleep(this.backoffMs * 2 ** (i - 1));
      let res: Response;
      try {
        res = await this.fetchFn(req.url, {
          method: req.method,
          headers: {
            Accept: 'application/json',
            ...(req.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...req.headers,
          },
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'manual',
        });
      } catch (e) {
        lastError = e;
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        lastError = e;
        continue;
      }
      const out: HttpResponse = { status: res.status, headers: res.headers, json: parseJson(text), text };
      if (idempotent && isRetryableStatus(res.status) && i < attempts - 1) continue;
      return out;
    }
    throw new AppError('CINDER_UNREACHABLE', `${this.peer} did not answer ${req.method} ${safeUrl(req.url)}${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${describeFetchError(lastError, this.timeoutMs)}`, {
      cause: lastError,
      details: { method: req.method, url: safeUrl(req.url), attempts },
    });
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A short reason for a failed fetch: timeout, or the system error code under undici's "fetch failed". */
export function describeFetchError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? `${code} (${cause.message})` : cause.message;
    }
    return e.message;
  }
  return String(e);
}

/**
 * Cinder's (and Keystone's) error text from a body such as `{"badRequest": {"code": 400,
 * "message": "…"}}` or `{"error": {"message": "…"}}`; falls back to the start of the raw text.
 */
export function openstackErrorMessage(res: Pick<HttpResponse, 'json' | 'text'>): string {
  const j = res.json;
  if (j !== null && typeof j === 'object') {
    for (const v of Object.values(j as Record<string, unknown>)) {
      if (v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
        return (v as { message: string }).message;
      }
    }
    const m = (j as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  }
  const t = res.text.trim().replace(/\s+/g, ' ');
  return t.length === 0 ? '(empty body)' : t.length > 300 ? `${t.slice(0, 300)}…` : t;
}
