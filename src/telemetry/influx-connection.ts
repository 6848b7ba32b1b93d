/**
 * One InfluxDB 1.x server as the telemetry store and the external source see it: a client made
 * anew after a failure (reconnect), InfluxQL queries with results as plain rows, and errors sorted
 * into "unreachable" (retryable: the server is down, slow or failing) and "refused" (4xx).
 *
 * @module
 */
import { InfluxDB, type IPoint } from 'influx';
import { AppError } from '../shared/index.js';

/** Where and how to reach one InfluxDB 1.x database. */
export interface InfluxEndpoint {
  /** `http://host:8086` (a path prefix is kept). */
  readonly url: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  /** Bound of one HTTP request; a slower server counts as unreachable. */
  readonly requestTimeoutMs: number;
}

/** One series of a query result. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly unknown[])[];
}

interface RawResults {
  results?: { series?: InfluxSeries[]; error?: string }[];
  error?: string;
}

/** True when an error from the `influx` client is a 4xx (the server answered and refused). */
function refusedStatus(e: unknown): number | null {
  const status = (e as { res?: { statusCode?: number } } | null)?.res?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/** Quotes an identifier for InfluxQL. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Quotes a string literal (tag value) for InfluxQL. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A connection to one InfluxDB database that reconnects after failures. */
export class InfluxConnection {
  private client: InfluxDB | null = null;

  constructor(readonly endpoint: InfluxEndpoint) {}

  /** `influx:http://host:8086/db`. */
  get label(): string {
    return `influx:${this.endpoint.url.replace(/\/+$/, '')}/${this.endpoint.database}`;
  }

  /** Runs InfluxQL statements (`;`-separated) and returns each statement's series. */
  async query(q: string, opts: { method?: 'GET' | 'POST'; retentionPolicy?: string } = {}): Promise<InfluxSeries[][]> {
    const raw = (await this.call(`query ${q.slice(0, 120)}`, (c) =>
      c.queryRaw(q, {
        precision: 'ms',
        database: this.endpoint.database,
        ...(opts.retentionPolicy ? { retentionPolicy: opts.retentionPolicy } : {}),
        ...(opts.method ? { method: opts.method } : {}),
      }),
    )) as RawResults;
    if (raw.error) throw new AppError('TELEMETRY_WRITE_REJECTED', `InfluxDB refused a query: ${raw.error} (${q.slice(0, 200)})`);
    return (raw.results ?? []).map((r) => {
      if (r.error) throw new AppError('TELEMETRY_WRITE_REJECTED', `InfluxDB refused a query: ${r.error} (${q.slice(0, 200)})`);
      return r.series ?? [];
    });
  }

  /** Writes points (ms precision) to a retention policy. */
  async writePoints(points: IPoint[], retentionPolicy: string): Promise<void> {
    await this.call(`write of ${points.length} points`, (c) => c.writePoints(points, { precision: 'ms', retentionPolicy, database: this.endpoint.database }));
  }

  /** Answers `/ping` within the request timeout. */
  async ping(): Promise<boolean> {
    const c = this.connect();
    const hosts = await c.ping(this.endpoint.requestTimeoutMs);
    return hosts.some((h) => h.online);
  }

  private connect(): InfluxDB {
    if (!this.client) {
      const u = new URL(this.endpoint.url);
      this.client = new InfluxDB({
        host: u.hostname,
        port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
        protocol: u.protocol === 'https:' ? 'https' : 'http',
        ...(u.pathname && u.pathname !== '/' ? { path: u.pathname } : {}),
        database: this.endpoint.database,
        ...(this.endpoint.username ? { username: this.endpoint.username } : {}),
        ...(this.endpoint.password ? { password: this.endpoint.password } : {}),
        // No retries inside the client: the store decides (it buffers and reconnects).
        pool: { maxRetries: 0, requestTimeout: this.endpoint.requestTimeoutMs },
      });
    }
    return this.client;
  }

  private async call<T>(what: string, fn: (c: InfluxDB) => Promise<T>): Promise<T> {
    try {
      return await fn(this.connect());
    } catch (e) {
      if (e instanceof AppError) throw e;
      const status = refusedStatus(e);
      const message = e instanceof Error ? e.message : String(e);
      // The client's errors carry whole HTTP requests: keep only their message as the cause.
      const cause = new Error(message);
      if (status !== null) throw new AppError('TELEMETRY_WRITE_REJECTED', `InfluxDB at ${this.endpoint.url} refused the ${what}: ${message}`, { cause });
      // Down, slow or failing: forget the client so the next call connects afresh.
      this.client = null;
      throw new AppError('TELEMETRY_STORE_UNAVAILABLE', `InfluxDB at ${this.endpoint.url} is unreachable (${message || 'no answer'}) during the ${what}`, { cause });
    }
  }
}
