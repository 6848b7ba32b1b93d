/**
 * A small client for the QEMU Machine Protocol (QMP) over a unix socket: newline-delimited JSON,
 * a greeting, `qmp_capabilities`, commands correlated with replies by `id`, and asynchronous events.
 *
 * Events are kept in a bounded backlog, each with a sequence number, so a caller can take a mark
 * (`eventSeq`) before a command and then wait for an event that may already have arrived
 * (`waitForEvent(..., { since: mark })`) without a race.
 */
import net from 'node:net';
import { AppError } from '../shared/index.js';

/** One QMP event as received, with the client's sequence number and arrival time. */
export interface QmpEvent {
  /** Event name, e.g. `BLOCK_JOB_READY`. */
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** QEMU's own timestamp of the event. */
  readonly timestamp: { readonly seconds: number; readonly microseconds: number } | undefined;
  /** Sequence number given by this client (1, 2, ...): compare with a mark taken from `eventSeq`. */
  readonly seq: number;
  /** `Date.now()` when the event was read from the socket. */
  readonly receivedAtMs: number;
}

/** Options of {@link QmpClient.connect}. */
export interface QmpConnectOptions {
  /** How long to wait for the connection and the greeting (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Options of {@link QmpClient.waitForEvent}. */
export interface WaitForEventOptions {
  readonly signal?: AbortSignal;
  /** Reject with DRIVER_ERROR after this long (default: wait without a time limit). */
  readonly timeoutMs?: number;
  /**
   * Also consider backlog events whose `seq` is greater than this mark (take it from `eventSeq`
   * before sending the command that causes the event). Without it only future events count.
   */
  readonly since?: number;
}

type Listener = (e: QmpEvent) => void;

interface Pending {
  readonly command: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: unknown) => void;
}

interface Waiter {
  readonly name: string;
  readonly predicate: (e: QmpEvent) => boolean;
  readonly resolve: (e: QmpEvent) => void;
  readonly reject: (e: unknown) => void;
}

const BACKLOG_MAX = 2048;

/** The error of an operation on a closed or broken QMP connection. */
function connectionError(path: string, what: string, cause?: unknown): AppError {
  return new AppError('DRIVER_ERROR', `QMP ${path}: ${what}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { socket: path },
  });
}

function abortError(signal: AbortSignal, what: string): AppError {
  return new AppError('CANCELLED', `${what} was cancelled`, { cause: signal.reason });
}

/** A connected QMP session (capabilities negotiated). Create with {@link QmpClient.connect}. */
export class QmpClient {
  /** The greeting QEMU sent (`{"QMP": {...}}`'s inner object). */
  readonly greeting: Readonly<Record<string, unknown>>;
  readonly path: string;
  private readonly sock: net.Socket;
  private nextId = 1;
  private seq = 0;
  private closedError: AppError | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly backlog: QmpEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly closeListeners = new Set<(e: AppError) => void>();

  private constructor(path: string, sock: net.Socket, greeting: Record<string, unknown>, rest: string) {
    this.path = path;
    this.sock = sock;
    this.greeting = greeting;
    sock.on('data', (chunk: string) => this.feed(chunk));
    sock.on('error', (e) => this.shutdown(connectionError(path, `connection error: ${e.message}`, e)));
    sock.on('close', () => this.shutdown(connectionError(path, 'connection closed')));
    // Lines that arrived in the same chunk as the greeting.
    this.feed(rest);
  }

  private buf = '';

  /** Splits the stream into lines (chunks may hold part of a line or several lines). */
  private feed(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).trim();
      this.buf = this.buf.slice(i + 1);
      if (line) this.onLine(line);
    }
  }

  /**
   * Connects to a QMP unix socket, reads the greeting and negotiates capabilities. Rejects with
   * DRIVER_ERROR when nothing listens (ENOENT / ECONNREFUSED), when the connection closes, or when
   * no greeting comes in time (QEMU accepts one QMP client at a time on a socket: a second one
   * waits for the first to leave).
   */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal, 'QMP connect');
    const sock = net.createConnection(path);
    sock.setEncoding('utf8');
    const hello = await new Promise<{ greeting: Record<string, unknown>; rest: string }>((resolve, reject) => {
      let buf = '';
      const done = (err: unknown, value?: { greeting: Record<string, unknown>; rest: string }): void => {
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', onError);
        sock.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          sock.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onData = (chunk: string): void => {
        buf += chunk;
        const i = buf.indexOf('\n');
        if (i < 0) return;
        let msg: unknown;
        try {
          msg = JSON.parse(buf.slice(0, i));
        } catch (e) {
          done(connectionError(path, 'the greeting is not JSON', e));
          return;
        }
        const greeting = (msg as { QMP?: Record<string, unknown> }).QMP;
        if (!greeting) done(connectionError(path, `expected a QMP greeting, got ${buf.slice(0, 200)}`));
        else done(null, { greeting, rest: buf.slice(i + 1) });
      };
      const onError = (e: NodeJS.ErrnoException): void => {
        const why =
          e.code === 'ENOENT' ? 'no such socket' : e.code === 'ECONNREFUSED' ? 'connection refused (nothing listens)' : e.message;
        done(connectionError(path, why, e));
      };
      const onClose = (): void => done(connectionError(path, 'connection closed before the greeting'));
      const onAbort = (): void => done(abortError(signal!, 'QMP connect'));
      const timer = setTimeout(
        () => done(connectionError(path, `no greeting within ${timeoutMs} ms (is another QMP client connected?)`)),
        timeoutMs,
      );
      sock.on('data', onData);
      sock.on('error', onError);
      sock.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const client = new QmpClient(path, sock, hello.greeting, hello.rest);
    try {
      await client.execute('qmp_capabilities');
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** True once the connection is closed (by either side). */
  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Sequence number of the newest event received so far (0 before any): a mark for `since`. */
  get eventSeq(): number {
    return this.seq;
  }

  /**
   * Runs one QMP command and resolves with its `return` value. A QMP error rejects with
   * DRIVER_ERROR whose `details` carry `command`, `class` and `desc`; a closed connection rejects
   * with DRIVER_ERROR too.
   */
  execute<T = unknown>(command: string, args?: Readonly<Record<string, unknown>>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg['arguments'] = args;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /**
   * Calls `fn` for every event named `event` (`'*'`: every event). Returns a function that removes
   * the listener.
   */
  on(event: string, fn: (e: QmpEvent) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /** Calls `fn` once when the connection closes, with the error pending operations got. */
  onClose(fn: (e: AppError) => void): () => void {
    if (this.closedError) {
      const err = this.closedError;
      queueMicrotask(() => fn(err));
      return () => undefined;
    }
    this.closeListeners.add(fn);
    return () => {
      this.closeListeners.delete(fn);
    };
  }

  /**
   * Resolves with the first event named `name` for which `predicate` holds: from the backlog when
   * `since` is given (events after that mark), else from future events. Rejects with CANCELLED on
   * abort, DRIVER_ERROR on timeout or when the connection closes.
   */
  waitForEvent(
    name: string,
    predicate: (e: QmpEvent) => boolean = () => true,
    options: WaitForEventOptions = {},
  ): Promise<QmpEvent> {
    const { signal, timeoutMs, since } = options;
    const match = (e: QmpEvent): boolean => (name === '*' || e.event === name) && predicate(e);
    if (since !== undefined) {
      const hit = this.backlog.find((e) => e.seq > since && match(e));
      if (hit) return Promise.resolve(hit);
    }
    if (signal?.aborted) return Promise.reject(abortError(signal, `waiting for ${name}`));
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<QmpEvent>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        this.waiters.delete(waiter);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        name,
        predicate: match,
        resolve: (e) => {
          cleanup();
          resolve(e);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = (): void => waiter.reject(abortError(signal!, `waiting for ${name}`));
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => waiter.reject(connectionError(this.path, `no ${name} event within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Closes the connection (the QEMU process keeps running). Pending calls reject. */
  close(): void {
    this.sock.end();
    this.sock.destroy();
    this.shutdown(connectionError(this.path, 'connection closed by the client'));
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      this.shutdown(connectionError(this.path, `unparseable message: ${line.slice(0, 200)}`, e));
      this.sock.destroy();
      return;
    }
    if (typeof msg['event'] === 'string') {
      this.onEvent(msg);
      return;
    }
    const id = msg['id'];
    if (typeof id !== 'number') return; // a reply to a command without id (none are sent): ignore
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    const error = msg['error'] as { class?: string; desc?: string } | undefined;
    if (error) {
      p.reject(
        new AppError('DRIVER_ERROR', `QMP ${p.command}: ${error.desc ?? 'error'} (${error.class ?? 'unknown class'})`, {
          details: { command: p.command, class: error.class, desc: error.desc },
        }),
      );
    } else p.resolve(msg['return']);
  }

  private onEvent(msg: Record<string, unknown>): void {
    const e: QmpEvent = {
      event: msg['event'] as string,
      data: (msg['data'] as Record<string, unknown> | undefined) ?? {},
      timestamp: msg['timestamp'] as QmpEvent['timestamp'],
      seq: ++this.seq,
      receivedAtMs: Date.now(),
    };
    this.backlog.push(e);
    if (this.backlog.length > BACKLOG_MAX) this.backlog.splice(0, this.backlog.length - BACKLOG_MAX);
    for (const w of [...this.waiters]) if (w.predicate(e)) w.resolve(e);
    for (const key of [e.event, '*']) {
      const set = this.listeners.get(key);
      if (set) for (const fn of [...set]) fn(e);
    }
  }

  private shutdown(err: AppError): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of [...this.waiters]) w.reject(err);
    for (const fn of [...this.closeListeners]) fn(err);
    this.closeListeners.clear();
  }
}
