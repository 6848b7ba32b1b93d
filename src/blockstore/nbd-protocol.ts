/**
 * NBD wire constants and encoders (fixed newstyle negotiation, simple replies), after
 * `NetworkBlockDevice/nbd` `doc/proto.md`. Every integer on the wire is big-endian.
 *
 * Only what the Ballast NBD server (`nbd-server.ts`) speaks is here: no TLS, no structured replies,
 * no metadata contexts.
 */

/** `NBDMAGIC`: first 8 bytes the server sends. */
export const NBD_MAGIC = 0x4e42444d41474943n;
/** `IHAVEOPT`: second 8 bytes the server sends, and the magic of every client option. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** Magic of every option reply. */
export const NBD_REP_MAGIC = 0x3e889045565a9n;
/** Magic of every transmission request. */
export const NBD_REQUEST_MAGIC = 0x25609513;
/** Magic of a simple reply. */
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;

// handshake flags (server) and client flags
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

// transmission flags
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
export const NBD_FLAG_SEND_FUA = 1 << 3;
export const NBD_FLAG_ROTATIONAL = 1 << 4;
export const NBD_FLAG_SEND_TRIM = 1 << 5;
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const NBD_FLAG_SEND_DF = 1 << 7;
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

// options
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;

// option reply types
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
const REP_ERR = 0x80000000;
export const NBD_REP_ERR_UNSUP = REP_ERR + 1;
export const NBD_REP_ERR_POLICY = REP_ERR + 2;
export const NBD_REP_ERR_INVALID = REP_ERR + 3;
export const NBD_REP_ERR_UNKNOWN = REP_ERR + 6;
export const NBD_REP_ERR_SHUTDOWN = REP_ERR + 7;

// NBD_REP_INFO item types
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

// commands
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;
export const NBD_CMD_BLOCK_STATUS = 7;

// command flags
export const NBD_CMD_FLAG_FUA = 1 << 0;
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;
export const NBD_CMD_FLAG_DF = 1 << 2;
export const NBD_CMD_FLAG_REQ_ONE = 1 << 3;
export const NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

// error values of the reply `error` field
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ESHUTDOWN = 108;

/** Size of a transmission request header. */
export const NBD_REQUEST_HEADER_BYTES = 28;
/** Size of a client option header (magic, option, length). */
export const NBD_OPTION_HEADER_BYTES = 16;
/** Size of a simple reply header. */
export const NBD_SIMPLE_REPLY_HEADER_BYTES = 16;
/** Largest payload of one request (read or write) the server accepts; advertised as the maximum block size. */
export const NBD_MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** Preferred block size advertised in `NBD_INFO_BLOCK_SIZE`. */
export const NBD_PREFERRED_BLOCK_BYTES = 4096;

/** One transmission request header, decoded. */
export interface NbdRequest {
  readonly flags: number;
  readonly type: number;
  /** The client's 8-byte handle (cookie), echoed in the reply. */
  readonly cookie: Buffer;
  /** 64-bit offset; a bigint because it may exceed 2^53. */
  readonly offset: bigint;
  readonly length: number;
}

/** The 18-byte greeting of fixed newstyle negotiation. */
export function encodeGreeting(handshakeFlags: number): Buffer {
  const b = Buffer.allocUnsafe(18);
  b.writeBigUInt64BE(NBD_MAGIC, 0);
  b.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
  b.writeUInt16BE(handshakeFlags, 16);
  return b;
}

/** One option reply (header and data). */
export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.allocUnsafe(20 + data.length);
  b.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(type >>> 0, 12);
  b.writeUInt32BE(data.length, 16);
  data.copy(b, 20);
  return b;
}

/** `NBD_REP_INFO` / `NBD_INFO_EXPORT` payload: size and transmission flags. */
export function encodeInfoExport(sizeBytes: number, transmissionFlags: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt16BE(NBD_INFO_EXPORT, 0);
  b.writeBigUInt64BE(BigInt(sizeBytes), 2);
  b.writeUInt16BE(transmissionFlags, 10);
  return b;
}

/** `NBD_REP_INFO` / `NBD_INFO_BLOCK_SIZE` payload: minimum, preferred and maximum block sizes. */
export function encodeInfoBlockSize(min: number, preferred: number, max: number): Buffer {
  const b = Buffer.allocUnsafe(14);
  b.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  b.writeUInt32BE(min, 2);
  b.writeUInt32BE(preferred, 6);
  b.writeUInt32BE(max, 10);
  return b;
}

/** `NBD_REP_INFO` / `NBD_INFO_NAME` payload. */
export function encodeInfoName(name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.allocUnsafe(2 + n.length);
  b.writeUInt16BE(NBD_INFO_NAME, 0);
  n.copy(b, 2);
  return b;
}

/** `NBD_REP_SERVER` payload (reply to `NBD_OPT_LIST`): name length and name. */
export function encodeRepServer(name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.allocUnsafe(4 + n.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  return b;
}

/** The reply to `NBD_OPT_EXPORT_NAME`: size, transmission flags, and 124 zero bytes unless NO_ZEROES. */
export function encodeExportNameReply(sizeBytes: number, transmissionFlags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(BigInt(sizeBytes), 0);
  b.writeUInt16BE(transmissionFlags, 8);
  return b;
}

/** A simple reply header (the read payload, if any, follows it). */
export function encodeSimpleReply(error: number, cookie: Buffer): Buffer {
  const b = Buffer.allocUnsafe(NBD_SIMPLE_REPLY_HEADER_BYTES);
  b.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error >>> 0, 4);
  cookie.copy(b, 8, 0, 8);
  return b;
}

/** Decodes a request header; `null` when its magic is wrong (the stream cannot be resynchronised). */
export function decodeRequest(h: Buffer): NbdRequest | null {
  if (h.length < NBD_REQUEST_HEADER_BYTES || h.readUInt32BE(0) !== NBD_REQUEST_MAGIC) return null;
  return {
    flags: h.readUInt16BE(4),
    type: h.readUInt16BE(6),
    cookie: Buffer.from(h.subarray(8, 16)),
    offset: h.readBigUInt64BE(16),
    length: h.readUInt32BE(24),
  };
}

/** Encodes a request header (used by clients and tests). */
export function encodeRequest(type: number, flags: number, cookie: bigint, offset: bigint | number, length: number): Buffer {
  const b = Buffer.allocUnsafe(NBD_REQUEST_HEADER_BYTES);
  b.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(cookie, 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

/**
 * A FIFO of received bytes that copes with arbitrary chunking: chunks are kept as received and
 * bytes are copied out only when a whole unit (header, option, payload) is asked for.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes already consumed from `chunks[0]`. */
  private head = 0;
  private total = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Copies the first `n` bytes (n ≤ length) without consuming them. */
  peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    let i = 0;
    let start = this.head;
    while (done < n) {
      const c = this.chunks[i++]!;
      done += c.copy(out, done, start, Math.min(c.length, start + (n - done)));
      start = 0;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = this.peek(n);
    this.consume(n);
    return out;
  }

  /** Moves up to `max` bytes into `dest` at `destOffset`; returns how many were moved. */
  takeInto(dest: Buffer, destOffset: number, max: number): number {
    let done = 0;
    while (done < max && this.total > 0) {
      const c = this.chunks[0]!;
      const n = Math.min(c.length - this.head, max - done);
      c.copy(dest, destOffset + done, this.head, this.head + n);
      done += n;
      this.consume(n);
    }
    return done;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    const k = Math.min(n, this.total);
    this.consume(k);
    return k;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.total = 0;
  }

  private consume(n: number): void {
    this.total -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const left = c.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }
}
