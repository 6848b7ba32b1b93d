/**
 * An NBD server in Ballast: the export side of a volume (like Cinder's target helpers). It serves
 * one driver `VolumeHandle` on a unix socket so that QEMU (`qemu-storage-daemon`, `qemu-io`,
 * `qemu-img`, a VM) can open volumes whose driver has no block path (`chunked`).
 *
 * Protocol (`NetworkBlockDevice/nbd` `doc/proto.md`):
 * - fixed newstyle negotiation with `NO_ZEROES`; options `GO`, `INFO`, `EXPORT_NAME`, `LIST`,
 *   `ABORT`; `STRUCTURED_REPLY`, `STARTTLS` and every other option are refused with
 *   `NBD_REP_ERR_UNSUP`, so the transmission phase uses simple replies only;
 * - commands `READ`, `WRITE`, `FLUSH`, `TRIM`, `WRITE_ZEROES`, `DISC`, flag `FUA` (and `NO_HOLE`
 *   on `WRITE_ZEROES`); errors as the spec asks: out-of-range read/trim `EINVAL`, out-of-range
 *   write/write-zeroes `ENOSPC`, any write on a read-only export `EPERM`, unknown command or flag
 *   `EINVAL`, a payload over 32 MiB `EINVAL` (a write's payload is read and dropped first), a
 *   failure of the handle `EIO` (`ENOSPC` when the cause is ENOSPC/EDQUOT/EFBIG).
 *
 * Semantics chosen:
 * - `TRIM` is accepted and does nothing (the spec allows it: trim is a hint). The handle has no
 *   discard, and writing zeros instead would allocate space on a `raw` volume, the opposite of a trim.
 * - `WRITE_ZEROES` writes zeros through the handle, skipping ranges the handle reports as not
 *   allocated (they already read as zeros) unless `NO_HOLE` is set; pieces are aligned so that a
 *   `chunked` volume sees whole objects of zeros and drops them.
 * - Every connection uses the same handle, and writes and flushes of all connections go through one
 *   gate: a flush waits for the writes in flight on every connection and holds new ones until it
 *   is done. So a flush on any connection makes durable every write any connection had completed
 *   before it, which is what `NBD_FLAG_CAN_MULTI_CONN` promises: the flag is advertised. (The gate
 *   also protects drivers whose flush tracks dirty objects from a write racing a flush.)
 * - Requests of one connection run concurrently (at most {@link NBD_MAX_IN_FLIGHT}, and at most
 *   {@link NBD_MAX_IN_FLIGHT_BYTES} of payload); past that, or when the client does not read its
 *   replies, the socket is paused. A reply (header and data) is written in one synchronous step,
 *   so replies never interleave.
 * - An export name of `""` (the NBD default export) means this server's only export.
 */
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { AppError, isAppError } from '../shared/index.js';
import type { VolumeHandle } from './driver-port.js';
import {
  ByteQueue,
  decodeRequest,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoName,
  encodeOptionReply,
  encodeRepServer,
  encodeSimpleReply,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_EPERM,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_NO_ZEROES,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_INFO_NAME,
  NBD_MAX_PAYLOAD_BYTES,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPTION_HEADER_BYTES,
  NBD_OPTS_MAGIC,
  NBD_PREFERRED_BLOCK_BYTES,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_SERVER,
  NBD_REQUEST_HEADER_BYTES,
  type NbdRequest,
} from './nbd-protocol.js';

/** Requests of one connection processed at once; past this the socket is paused. */
export const NBD_MAX_IN_FLIGHT = 16;
/** Payload bytes (reads and writes) of one connection in flight at once; past this the socket is paused. */
export const NBD_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Reply bytes queued to a client that is not reading them; past this the socket is paused. */
const MAX_PENDING_REPLY_BYTES = 64 * 1024 * 1024;
/** Largest option the server reads; a longer one ends the connection (no legal option is near it). */
const MAX_OPTION_BYTES = 64 * 1024;
/** Zeros are written in pieces of this size, aligned to it (whole objects for chunk sizes dividing it). */
const ZERO_PIECE_BYTES = 8 * 1024 * 1024;
/** Longest unix socket path on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
/** Longest export name the protocol allows. */
const MAX_EXPORT_NAME_BYTES = 4096;

/** What {@link startNbdServer} needs. */
export interface NbdServerOptions {
  /** Absolute path of the unix socket to listen on; a stale socket file there is removed first. */
  readonly socketPath: string;
  /** The export's name (1 to 4096 bytes of UTF-8, no NUL). */
  readonly exportName: string;
  /** The open volume to serve. The server never closes it: the caller does, after {@link NbdServerHandle.close}. */
  readonly handle: VolumeHandle;
  /** Advertise `READ_ONLY` and refuse writes, write-zeroes and trims with `EPERM`. */
  readonly readOnly?: boolean;
  /**
   * Told about failures the clients only see as an error code: a failed handle call (`IO_ERROR`), a
   * client that broke the protocol and was disconnected (`INVALID_INPUT`), a socket failure
   * (`IO_ERROR`). Never told about a client that simply went away. A throw from it is ignored.
   */
  readonly onError?: (e: AppError) => void;
}

/** A running NBD server: its address and how to stop it. */
export interface NbdServerHandle {
  readonly socketPath: string;
  readonly exportName: string;
  /** The consumer's address, `nbd+unix:///NAME?socket=PATH` (percent-encoded as QEMU decodes it). */
  readonly uri: string;
  /** Clients connected now (in negotiation or transmission). */
  connections(): number;
  /**
   * Stops listening, lets the requests in flight finish and their replies go out, closes every
   * client, and removes the socket file. Idempotent; does not close the volume handle.
   */
  close(): Promise<void>;
}

/**
 * Starts serving `opts.handle` over NBD on the unix socket `opts.socketPath`.
 *
 * Fails with `INVALID_INPUT` for a bad name or path, when the path exists and is not a socket, or
 * when a live server already listens there; with `IO_ERROR` when the socket cannot be created.
 */
export async function startNbdServer(opts: NbdServerOptions): Promise<NbdServerHandle> {
  validateOptions(opts);
  await clearStaleSocket(opts.socketPath);
  const server = new NbdServer(opts);
  await server.listen();
  return {
    socketPath: opts.socketPath,
    exportName: opts.exportName,
    uri: nbdUnixUri(opts.exportName, opts.socketPath),
    connections: () => server.connectionCount(),
    close: () => server.close(),
  };
}

/** The `nbd+unix` URI of an export, percent-encoding what QEMU percent-decodes. */
export function nbdUnixUri(exportName: string, socketPath: string): string {
  const sock = socketPath.split('/').map(encodeURIComponent).join('/');
  return `nbd+unix:///${encodeURIComponent(exportName)}?socket=${sock}`;
}

function validateOptions(opts: NbdServerOptions): void {
  const { socketPath, exportName, handle } = opts;
  if (typeof exportName !== 'string' || exportName.length === 0 || exportName.includes('\0') || Buffer.byteLength(exportName) > MAX_EXPORT_NAME_BYTES) {
    throw new AppError('INVALID_INPUT', `nbd: the export name must be 1 to ${MAX_EXPORT_NAME_BYTES} bytes without NUL, got ${JSON.stringify(exportName)}`);
  }
  if (typeof socketPath !== 'string' || !path.isAbsolute(socketPath) || socketPath.includes('\0')) {
    throw new AppError('INVALID_INPUT', `nbd: the socket path must be absolute, got ${JSON.stringify(socketPath)}`);
  }
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new AppError(
      'INVALID_INPUT',
      `nbd: the socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`,
    );
  }
  if (!Number.isSafeInteger(handle.sizeBytes) || handle.sizeBytes < 0) {
    throw new AppError('INVALID_INPUT', `nbd: the handle's size ${handle.sizeBytes} is not a byte count`);
  }
}

function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Removes a stale socket file at `p`; refuses a live one or a file that is not a socket. */
async function clearStaleSocket(p: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw new AppError('IO_ERROR', `nbd: cannot inspect the socket path ${p}: ${messageOf(e)}`, { cause: e });
  }
  if (!st.isSocket()) {
    throw new AppError('INVALID_INPUT', `nbd: ${p} exists and is not a socket; refusing to replace it`);
  }
  const live = await new Promise<boolean | Error>((resolve) => {
    const probe = net.connect(p);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (e) => {
      probe.destroy();
      const code = errnoCode(e);
      resolve(code === 'ECONNREFUSED' || code === 'ENOENT' ? false : e);
    });
  });
  if (live === true) throw new AppError('INVALID_INPUT', `nbd: the socket ${p} is in use by a live server`, { retryable: false });
  if (live instanceof Error) throw new AppError('IO_ERROR', `nbd: cannot probe the socket ${p}: ${live.message}`, { cause: live });
  try {
    await fsp.rm(p, { force: true });
  } catch (e) {
    throw new AppError('IO_ERROR', `nbd: cannot remove the stale socket ${p}: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * Orders writes against flushes across all connections: writes share the gate, a flush holds it
 * alone. A waiting flush holds back later writes, so flushes are not starved.
 */
class FlushGate {
  private writers = 0;
  private flushing = false;
  private readonly waiters: { exclusive: boolean; go: () => void }[] = [];

  async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive);
    try {
      return await fn();
    } finally {
      if (exclusive) this.flushing = false;
      else this.writers--;
      this.wake();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.waiters.length === 0 && !this.flushing && (!exclusive || this.writers === 0)) {
      if (exclusive) this.flushing = true;
      else this.writers++;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiters.push({ exclusive, go }));
  }

  private wake(): void {
    while (this.waiters.length > 0 && !this.flushing) {
      const next = this.waiters[0]!;
      if (next.exclusive) {
        if (this.writers > 0) return;
        this.flushing = true;
      } else {
        this.writers++;
      }
      this.waiters.shift();
      next.go();
    }
  }
}

let zeroPiece: Buffer | undefined;
function zeros(): Buffer {
  zeroPiece ??= Buffer.alloc(ZERO_PIECE_BYTES);
  return zeroPiece;
}

class NbdServer {
  readonly net: net.Server;
  readonly conns = new Set<Connection>();
  readonly gate = new FlushGate();
  readonly transmissionFlags: number;
  private closing: Promise<void> | null = null;

  constructor(readonly opts: NbdServerOptions) {
    let flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN;
    if (opts.readOnly) flags |= NBD_FLAG_READ_ONLY;
    else flags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
    this.transmissionFlags = flags;
    this.net = net.createServer((socket) => this.accept(socket));
  }

  get handle(): VolumeHandle {
    return this.opts.handle;
  }

  get readOnly(): boolean {
    return this.opts.readOnly === true;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        const code = errnoCode(e);
        reject(
          code === 'EADDRINUSE'
            ? new AppError('INVALID_INPUT', `nbd: the socket ${this.opts.socketPath} is in use by a live server`, { cause: e, retryable: false })
            : new AppError('IO_ERROR', `nbd: cannot listen on ${this.opts.socketPath}: ${e.message}`, { cause: e }),
        );
      };
      this.net.once('error', onError);
      this.net.listen(this.opts.socketPath, () => {
        this.net.off('error', onError);
        this.net.on('error', (e) => this.report(new AppError('IO_ERROR', `nbd: the server on ${this.opts.socketPath} failed: ${e.message}`, { cause: e })));
        resolve();
      });
    });
  }

  /** True when `name` names this server's export (`""` is the default export). */
  matches(name: string): boolean {
    return name === this.opts.exportName || name === '';
  }

  connectionCount(): number {
    let n = 0;
    for (const c of this.conns) if (c.open) n++;
    return n;
  }

  report(e: AppError): void {
    try {
      this.opts.onError?.(e);
    } catch {
      // a failing observer must not break serving
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = new Connection(this, socket);
    this.conns.add(conn);
    void conn.done.then(() => this.conns.delete(conn));
  }

  private async doClose(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const c of this.conns) c.shutdown();
    await Promise.all([...this.conns].map((c) => c.done));
    await stopped;
    try {
      await fsp.rm(this.opts.socketPath, { force: true });
    } catch (e) {
      throw new AppError('IO_ERROR', `nbd: cannot remove the socket ${this.opts.socketPath}: ${messageOf(e)}`, { cause: e });
    }
  }
}

type Phase =
  | { readonly kind: 'clientFlags' }
  | { readonly kind: 'option' }
  | { readonly kind: 'request' }
  | { readonly kind: 'payload'; readonly req: NbdRequest; readonly buf: Buffer; filled: number }
  | { readonly kind: 'discard'; readonly req: NbdRequest; remaining: number; readonly error: number }
  /** After DISC, a fatal error or a shutdown: input is ignored, the socket ends when nothing is in flight. */
  | { readonly kind: 'ending' };

/** One client: a streaming parser over its socket, and its requests in flight. */
class Connection {
  /** Resolves when the socket is closed and nothing is in flight any more. */
  readonly done: Promise<void>;
  open = true;
  private resolveDone!: () => void;
  private readonly queue = new ByteQueue();
  private phase: Phase = { kind: 'clientFlags' };
  private fixedNewstyle = false;
  private noZeroes = false;
  private inFlight = 0;
  private inFlightBytes = 0;
  private ended = false;

  constructor(
    private readonly server: NbdServer,
    private readonly socket: net.Socket,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    socket.on('data', (chunk: Buffer) => {
      if (this.phase.kind === 'ending') return;
      this.queue.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', (e) => {
      const code = errnoCode(e);
      if (code !== 'ECONNRESET' && code !== 'EPIPE') {
        this.server.report(new AppError('IO_ERROR', `nbd: a client socket of export ${this.name} failed: ${e.message}`, { cause: e }));
      }
    });
    socket.on('close', () => {
      this.open = false;
      this.phase = { kind: 'ending' };
      this.queue.clear();
      this.settle();
    });
    socket.write(encodeGreeting(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
  }

  private get name(): string {
    return JSON.stringify(this.server.opts.exportName);
  }

  /** Server shutdown: drop clients still negotiating; let transmission requests in flight finish. */
  shutdown(): void {
    if (this.phase.kind === 'clientFlags' || this.phase.kind === 'option') {
      this.socket.destroy();
      return;
    }
    this.end();
  }

  // ---------------------------------------------------------------- parsing

  /** Consumes whatever complete units the queue holds, within the in-flight limits. */
  private pump(): void {
    try {
      while (!this.ended && !this.blocked() && this.step()) {
        // each step consumed something
      }
    } catch (e) {
      this.fatal(`internal error: ${messageOf(e)}`);
    }
    if (this.ended || this.blocked()) this.socket.pause();
    else this.socket.resume();
  }

  private blocked(): boolean {
    return (
      this.inFlight >= NBD_MAX_IN_FLIGHT ||
      this.inFlightBytes >= NBD_MAX_IN_FLIGHT_BYTES ||
      this.socket.writableLength >= MAX_PENDING_REPLY_BYTES
    );
  }

  /** One unit of parsing; false when more bytes are needed. */
  private step(): boolean {
    const phase = this.phase;
    switch (phase.kind) {
      case 'clientFlags':
        return this.stepClientFlags();
      case 'option':
        return this.stepOption();
      case 'request':
        return this.stepRequest();
      case 'payload': {
        phase.filled += this.queue.takeInto(phase.buf, phase.filled, phase.buf.length - phase.filled);
        if (phase.filled < phase.buf.length) return false;
        this.phase = { kind: 'request' };
        this.dispatch(phase.req, phase.buf);
        return true;
      }
      case 'discard': {
        phase.remaining -= this.queue.skip(phase.remaining);
        if (phase.remaining > 0) return false;
        this.phase = { kind: 'request' };
        this.reply(phase.req.cookie, phase.error);
        return true;
      }
      case 'ending':
        this.queue.clear();
        return false;
    }
  }

  private stepClientFlags(): boolean {
    if (this.queue.length < 4) return false;
    const flags = this.queue.take(4).readUInt32BE(0);
    if ((flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) !== 0) {
      this.fatal(`unknown client flags 0x${flags.toString(16)}`);
      return false;
    }
    this.fixedNewstyle = (flags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0;
    this.noZeroes = (flags & NBD_FLAG_C_NO_ZEROES) !== 0;
    this.phase = { kind: 'option' };
    return true;
  }

  private stepOption(): boolean {
    if (this.queue.length < NBD_OPTION_HEADER_BYTES) return false;
    const h = this.queue.peek(NBD_OPTION_HEADER_BYTES);
    if (h.readBigUInt64BE(0) !== NBD_OPTS_MAGIC) {
      this.fatal('bad option magic');
      return false;
    }
    const option = h.readUInt32BE(8);
    const length = h.readUInt32BE(12);
    if (length > MAX_OPTION_BYTES) {
      this.fatal(`option ${option} is ${length} bytes long (at most ${MAX_OPTION_BYTES})`);
      return false;
    }
    if (this.queue.length < NBD_OPTION_HEADER_BYTES + length) return false;
    this.queue.skip(NBD_OPTION_HEADER_BYTES);
    const data = Buffer.from(this.queue.take(length));
    this.handleOption(option, data);
    return true;
  }

  private handleOption(option: number, data: Buffer): void {
    const srv = this.server;
    switch (option) {
      case NBD_OPT_EXPORT_NAME: {
        const name = data.toString('utf8');
        if (!srv.matches(name)) {
          // this option cannot fail with a reply: the spec says to close
          this.socket.destroy();
          this.phase = { kind: 'ending' };
          return;
        }
        this.socket.write(encodeExportNameReply(srv.handle.sizeBytes, srv.transmissionFlags, this.noZeroes));
        this.phase = { kind: 'request' };
        return;
      }
      case NBD_OPT_ABORT:
        this.optReply(option, NBD_REP_ACK);
        this.end();
        return;
      case NBD_OPT_LIST:
        if (data.length !== 0) {
          this.optError(option, NBD_REP_ERR_INVALID, 'NBD_OPT_LIST takes no data');
          return;
        }
        this.optReply(option, NBD_REP_SERVER, encodeRepServer(srv.opts.exportName));
        this.optReply(option, NBD_REP_ACK);
        return;
      case NBD_OPT_INFO:
      case NBD_OPT_GO:
        this.infoOrGo(option, data);
        return;
      default:
        // STRUCTURED_REPLY, STARTTLS, meta contexts, extended headers, anything newer
        this.optError(option, NBD_REP_ERR_UNSUP, `option ${option} is not supported by this server`);
    }
  }

  private infoOrGo(option: number, data: Buffer): void {
    const srv = this.server;
    if (data.length < 6) {
      this.optError(option, NBD_REP_ERR_INVALID, 'option data too short');
      return;
    }
    const nameLength = data.readUInt32BE(0);
    if (nameLength > data.length - 6) {
      this.optError(option, NBD_REP_ERR_INVALID, 'export name length past the option data');
      return;
    }
    const name = data.toString('utf8', 4, 4 + nameLength);
    const count = data.readUInt16BE(4 + nameLength);
    if (data.length !== 6 + nameLength + 2 * count) {
      this.optError(option, NBD_REP_ERR_INVALID, 'information request count does not match the option length');
      return;
    }
    const requests = new Set<number>();
    for (let i = 0; i < count; i++) requests.add(data.readUInt16BE(6 + nameLength + 2 * i));
    if (!srv.matches(name)) {
      this.optError(option, NBD_REP_ERR_UNKNOWN, `no export ${JSON.stringify(name)}; this server exports ${this.name}`);
      return;
    }
    this.optReply(option, NBD_REP_INFO, encodeInfoExport(srv.handle.sizeBytes, srv.transmissionFlags));
    if (requests.has(NBD_INFO_NAME)) this.optReply(option, NBD_REP_INFO, encodeInfoName(srv.opts.exportName));
    this.optReply(option, NBD_REP_INFO, encodeInfoBlockSize(1, NBD_PREFERRED_BLOCK_BYTES, NBD_MAX_PAYLOAD_BYTES));
    this.optReply(option, NBD_REP_ACK);
    if (option === NBD_OPT_GO) this.phase = { kind: 'request' };
  }

  private optReply(option: number, type: number, data?: Buffer): void {
    this.socket.write(encodeOptionReply(option, type, data));
  }

  private optError(option: number, type: number, message: string): void {
    if (!this.fixedNewstyle) {
      // a non-fixed newstyle client cannot read an error reply: the spec says to close
      this.socket.destroy();
      this.phase = { kind: 'ending' };
      return;
    }
    this.optReply(option, type, Buffer.from(message, 'utf8'));
  }

  private stepRequest(): boolean {
    if (this.queue.length < NBD_REQUEST_HEADER_BYTES) return false;
    const req = decodeRequest(this.queue.take(NBD_REQUEST_HEADER_BYTES));
    if (!req) {
      this.fatal('bad request magic');
      return false;
    }
    if (req.type === NBD_CMD_DISC) {
      this.end();
      return false;
    }
    const error = this.precheck(req);
    if (req.type === NBD_CMD_WRITE) {
      if (error !== 0) {
        this.phase = { kind: 'discard', req, remaining: req.length, error };
      } else {
        this.phase = { kind: 'payload', req, buf: Buffer.allocUnsafe(req.length), filled: 0 };
      }
      return true;
    }
    if (error !== 0) this.reply(req.cookie, error);
    else this.dispatch(req, null);
    return true;
  }

  /** The error a request gets before it touches the handle (0: none). */
  private precheck(req: NbdRequest): number {
    const srv = this.server;
    const allowedFlags = NBD_CMD_FLAG_FUA | (req.type === NBD_CMD_WRITE_ZEROES ? NBD_CMD_FLAG_NO_HOLE : 0);
    if ((req.flags & ~allowedFlags) !== 0) return NBD_EINVAL;
    const inRange = req.offset + BigInt(req.length) <= BigInt(srv.handle.sizeBytes);
    switch (req.type) {
      case NBD_CMD_READ:
        if (req.length > NBD_MAX_PAYLOAD_BYTES) return NBD_EINVAL;
        return inRange ? 0 : NBD_EINVAL;
      case NBD_CMD_WRITE:
        if (req.length > NBD_MAX_PAYLOAD_BYTES) return NBD_EINVAL;
        if (srv.readOnly) return NBD_EPERM;
        return inRange ? 0 : NBD_ENOSPC;
      case NBD_CMD_WRITE_ZEROES:
        if (srv.readOnly) return NBD_EPERM;
        return inRange ? 0 : NBD_ENOSPC;
      case NBD_CMD_TRIM:
        if (srv.readOnly) return NBD_EPERM;
        return inRange ? 0 : NBD_EINVAL;
      case NBD_CMD_FLUSH:
        return 0;
      default:
        return NBD_EINVAL; // CACHE, BLOCK_STATUS, RESIZE, unknown: not advertised
    }
  }

  // ---------------------------------------------------------------- execution

  private dispatch(req: NbdRequest, payload: Buffer | null): void {
    const bytes = req.type === NBD_CMD_READ || req.type === NBD_CMD_WRITE ? req.length : 0;
    this.inFlight++;
    this.inFlightBytes += bytes;
    void this.execute(req, payload).then(
      ({ error, data }) => this.finish(req, bytes, error, data),
      (e: unknown) => this.finish(req, bytes, this.failure(req, e), null),
    );
  }

  private finish(req: NbdRequest, bytes: number, error: number, data: Buffer | null): void {
    this.inFlight--;
    this.inFlightBytes -= bytes;
    this.reply(req.cookie, error, data);
    if (this.phase.kind === 'ending') this.settle();
    else this.pump();
  }

  private async execute(req: NbdRequest, payload: Buffer | null): Promise<{ error: number; data: Buffer | null }> {
    const srv = this.server;
    const h = srv.handle;
    const offset = Number(req.offset); // in range, so a safe integer
    const fua = (req.flags & NBD_CMD_FLAG_FUA) !== 0;
    switch (req.type) {
      case NBD_CMD_READ: {
        const buf = Buffer.allocUnsafe(req.length);
        if (req.length > 0) {
          const n = await h.read(buf, offset, req.length);
          if (n !== req.length) throw new Error(`short read: ${n} of ${req.length} bytes inside the volume`);
        }
        return { error: 0, data: buf };
      }
      case NBD_CMD_WRITE:
        if (req.length > 0) await srv.gate.run(false, () => h.write(payload!, offset, req.length));
        break;
      case NBD_CMD_WRITE_ZEROES:
        if (req.length > 0) await srv.gate.run(false, () => this.writeZeroes(offset, req.length, (req.flags & NBD_CMD_FLAG_NO_HOLE) !== 0));
        break;
      case NBD_CMD_TRIM:
        return { error: 0, data: null }; // a hint; nothing written, so FUA has nothing to persist
      case NBD_CMD_FLUSH:
        if (!srv.readOnly) await srv.gate.run(true, () => h.flush());
        return { error: 0, data: null };
    }
    if (fua) await srv.gate.run(true, () => h.flush());
    return { error: 0, data: null };
  }

  private async writeZeroes(offset: number, length: number, noHole: boolean): Promise<void> {
    const h = this.server.handle;
    const end = offset + length;
    let spans: { start: number; end: number }[] = [{ start: offset, end }];
    if (!noHole) {
      // outside the allocated ranges everything already reads as zeros
      spans = [];
      for (const r of await h.allocatedRanges()) {
        const start = Math.max(offset, r.offset);
        const stop = Math.min(end, r.offset + r.length);
        if (start < stop) spans.push({ start, end: stop });
      }
    }
    const z = zeros();
    for (const span of spans) {
      let pos = span.start;
      while (pos < span.end) {
        const next = Math.min(span.end, (Math.floor(pos / ZERO_PIECE_BYTES) + 1) * ZERO_PIECE_BYTES);
        await h.write(z, pos, next - pos);
        pos = next;
      }
    }
  }

  /** Maps a handle failure to an NBD error and tells the owner. */
  private failure(req: NbdRequest, e: unknown): number {
    const what = ['read', 'write', 'disc', 'flush', 'trim', 'cache', 'write-zeroes'][req.type] ?? `command ${req.type}`;
    this.server.report(
      new AppError('IO_ERROR', `nbd: ${what} of ${req.length} bytes at offset ${req.offset} of export ${this.name} failed: ${messageOf(e)}`, {
        cause: e,
        details: { exportName: this.server.opts.exportName, command: what, offset: Number(req.offset), length: req.length },
        ...(isAppError(e) ? { retryable: e.retryable } : {}),
      }),
    );
    for (let c: unknown = e, depth = 0; c && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
      const code = errnoCode(c);
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return NBD_ENOSPC;
    }
    return NBD_EIO;
  }

  /** Writes one whole simple reply in a single synchronous step (replies never interleave). */
  private reply(cookie: Buffer, error: number, data: Buffer | null = null): void {
    if (this.socket.destroyed || !this.socket.writable) return; // the client is gone
    const header = encodeSimpleReply(error, cookie);
    if (error === 0 && data && data.length > 0) {
      this.socket.cork();
      this.socket.write(header);
      this.socket.write(data);
      this.socket.uncork();
    } else {
      this.socket.write(header);
    }
  }

  // ---------------------------------------------------------------- ending

  /** Stops reading; the socket ends once every request in flight has replied. */
  private end(): void {
    this.ended = true;
    this.phase = { kind: 'ending' };
    this.queue.clear();
    this.socket.pause();
    this.settle();
  }

  /** Hard disconnect after a protocol violation. */
  private fatal(why: string): void {
    this.ended = true;
    this.phase = { kind: 'ending' };
    this.queue.clear();
    this.server.report(new AppError('INVALID_INPUT', `nbd: client of export ${this.name} disconnected: ${why}`, { retryable: false }));
    this.socket.destroy();
    this.settle();
  }

  private settle(): void {
    if (this.inFlight > 0) return;
    if (this.open) {
      if (this.ended && !this.socket.writableEnded) this.socket.end(() => this.socket.destroy());
      return;
    }
    this.resolveDone();
  }
}
