/**
 * A consumer of an attached volume, for proving live moves (tests, the demo, the benchmark): a tiny
 * NBD client (fixed newstyle handshake, NBD_OPT_GO, simple replies, pipelined READ/WRITE/FLUSH/DISC)
 * and a "guest" that writes self-describing 4 KiB patterns without pause through one connection,
 * remembering only acknowledged writes, plus the verifier that checks an image against them.
 */
import net from 'node:net';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

const NBDMAGIC = Buffer.from('NBDMAGIC');
const IHAVEOPT = Buffer.from('IHAVEOPT');
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3 } as const;

/** Byte queue with one awaited `take(n)` at a time. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.serve();
  }

  fail(e: Error): void {
    this.failed ??= e;
    const w = this.want;
    this.want = null;
    w?.reject(e);
  }

  take(n: number): Promise<Buffer> {
    if (this.want) return Promise.reject(new Error('ByteQueue: concurrent take'));
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.serve();
    });
  }

  private serve(): void {
    const w = this.want;
    if (!w) return;
    if (this.size < w.n) {
      if (this.failed) {
        this.want = null;
        w.reject(this.failed);
      }
      return;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, w.n);
    const rest = all.subarray(w.n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    this.want = null;
    w.resolve(out);
  }
}

interface Pending {
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
  readonly readLen: number;
}

/** A minimal NBD client on a unix socket. */
export class NbdClient {
  /** Export size in bytes. */
  readonly size: number;
  readonly transmissionFlags: number;
  private readonly sock: net.Socket;
  private readonly q: ByteQueue;
  private nextHandle = 1n;
  private readonly pending = new Map<bigint, Pending>();
  private error: Error | null = null;

  private constructor(sock: net.Socket, q: ByteQueue, size: number, flags: number) {
    this.sock = sock;
    this.q = q;
    this.size = size;
    this.transmissionFlags = flags;
    void this.replyLoop();
  }

  /** Connects and negotiates `exportName` with NBD_OPT_GO. */
  static async connect(socketPath: string, exportName: string): Promise<NbdClient> {
    const sock = net.createConnection(socketPath);
    const q = new ByteQueue();
    sock.on('data', (c: Buffer) => q.push(c));
    sock.on('error', (e) => q.fail(e));
    sock.on('close', () => q.fail(new Error('NBD connection closed')));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    try {
      const hello = await q.take(18);
      if (!hello.subarray(0, 8).equals(NBDMAGIC) || !hello.subarray(8, 16).equals(IHAVEOPT)) {
        throw new Error('not a fixed-newstyle NBD server');
      }
      const serverFlags = hello.readUInt16BE(16);
      if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new Error('server lacks fixed newstyle');
      const clientFlags = Buffer.alloc(4);
      clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
      const name = Buffer.from(exportName);
      const data = Buffer.alloc(4 + name.length + 2);
      data.writeUInt32BE(name.length, 0);
      name.copy(data, 4);
      data.writeUInt16BE(0, 4 + name.length); // no information requests
      const opt = Buffer.alloc(16);
      IHAVEOPT.copy(opt, 0);
      opt.writeUInt32BE(OPT_GO, 8);
      opt.writeUInt32BE(data.length, 12);
      sock.write(Buffer.concat([clientFlags, opt, data]));
      let size = -1;
      let flags = 0;
      for (;;) {
        const rep = await q.take(20);
        if (rep.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new Error('bad option reply magic');
        const type = rep.readUInt32BE(12);
        const len = rep.readUInt32BE(16);
        const body = len ? await q.take(len) : Buffer.alloc(0);
        if (type & 0x80000000) throw new Error(`NBD_OPT_GO refused: type 0x${type.toString(16)} ${body.subarray(0).toString()}`);
        if (type === REP_INFO && body.readUInt16BE(0) === INFO_EXPORT) {
          size = Number(body.readBigUInt64BE(2));
          flags = body.readUInt16BE(10);
        } else if (type === REP_ACK) break;
      }
      if (size < 0) throw new Error('no NBD_INFO_EXPORT in the reply');
      return new NbdClient(sock, q, size, flags);
    } catch (e) {
      sock.destroy();
      throw e;
    }
  }

  /** Writes `data` at `offset`; resolves on the server's acknowledgement. */
  write(offset: number, data: Buffer): Promise<void> {
    return this.request(CMD.WRITE, offset, data.length, data).then(() => undefined);
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.request(CMD.READ, offset, length);
  }

  flush(): Promise<void> {
    return this.request(CMD.FLUSH, 0, 0).then(() => undefined);
  }

  /** Sends NBD_CMD_DISC and closes. */
  async disconnect(): Promise<void> {
    if (!this.error) {
      this.sock.write(this.header(CMD.DISC, 0n, 0, 0));
      this.error = new Error('NBD client disconnected');
    }
    await new Promise<void>((resolve) => {
      if (this.sock.destroyed) resolve();
      else {
        this.sock.once('close', () => resolve());
        this.sock.end();
      }
    });
  }

  private header(type: number, handle: bigint, offset: number, length: number): Buffer {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(REQUEST_MAGIC, 0);
    h.writeUInt16BE(0, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    return h;
  }

  private request(type: number, offset: number, length: number, payload?: Buffer): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    const handle = this.nextHandle++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(handle, { resolve, reject, readLen: type === CMD.READ ? length : 0 });
      const hdr = this.header(type, handle, offset, length);
      this.sock.write(payload ? Buffer.concat([hdr, payload]) : hdr);
    });
  }

  private async replyLoop(): Promise<void> {
    try {
      for (;;) {
        const r = await this.q.take(16);
        if (r.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new Error(`bad reply magic 0x${r.readUInt32BE(0).toString(16)}`);
        const err = r.readUInt32BE(4);
        const handle = r.readBigUInt64BE(8);
        const p = this.pending.get(handle);
        if (!p) throw new Error(`reply for unknown handle ${handle}`);
        this.pending.delete(handle);
        const data = p.readLen && !err ? await this.q.take(p.readLen) : Buffer.alloc(0);
        if (err) p.reject(new Error(`NBD error ${err}`));
        else p.resolve(data);
      }
    } catch (e) {
      this.error ??= e as Error;
      for (const p of this.pending.values()) p.reject(this.error);
      this.pending.clear();
    }
  }
}

// ---- patterns ----

export const BLOCK = 4096;
const MAGIC_WRITE = 0x42414c57; // 'BALW'
const MAGIC_BASE = 0x42415345; // 'BASE'

function fnv1a(buf: Buffer, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193) >>> 0;
  return h >>> 0;
}

/** Fills `out` (4 KiB) with the pattern of block `block`, write `seq` (seq 0 = the baseline). */
export function fillPattern(out: Buffer, block: number, seq: number): Buffer {
  out.writeUInt32BE(seq === 0 ? MAGIC_BASE : MAGIC_WRITE, 0);
  out.writeUInt32BE(block, 4);
  out.writeUInt32BE(seq, 8);
  let x = (block * 2654435761 + seq * 40503 + 1) >>> 0 || 1;
  for (let i = 12; i < BLOCK - 4; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32BE(x >>> 0, i);
  }
  out.writeUInt32BE(fnv1a(out, BLOCK - 4), BLOCK - 4);
  return out;
}

/** What a 4 KiB block holds, for failure messages. */
export function describeBlock(b: Buffer): string {
  const magic = b.readUInt32BE(0);
  const sumOk = fnv1a(b, BLOCK - 4) === b.readUInt32BE(BLOCK - 4);
  if (magic === MAGIC_WRITE || magic === MAGIC_BASE) {
    return `${magic === MAGIC_WRITE ? 'write' : 'baseline'} block=${b.readUInt32BE(4)} seq=${b.readUInt32BE(8)}${sumOk ? '' : ' (bad checksum: torn)'}`;
  }
  return b.every((v) => v === 0) ? 'zeroes' : 'unknown bytes';
}

/** Writes the baseline pattern of every block of a `bytes`-sized image (creating the file). */
export async function writeBaseline(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    const per = chunk.length / BLOCK;
    for (let off = 0; off < bytes; off += chunk.length) {
      const first = off / BLOCK;
      for (let i = 0; i < per; i++) fillPattern(chunk.subarray(i * BLOCK, (i + 1) * BLOCK), first + i, 0);
      await fh.write(chunk, 0, Math.min(chunk.length, bytes - off), off);
    }
  } finally {
    await fh.close();
  }
}

// ---- the writer ----

/** One acknowledged write. Times: `Date.now()`-based epoch ms (fractional), from performance.now(). */
export interface AckedWrite {
  readonly block: number;
  readonly seq: number;
  readonly sentAt: number;
  readonly ackAt: number;
}

export interface WriterOptions {
  /** Number of 4 KiB blocks the volume has. */
  readonly blocks: number;
  /** Writes in flight (never two on one block). Default 4. */
  readonly queueDepth?: number;
  /** NBD_CMD_FLUSH after every this many writes. Default 64. */
  readonly flushEvery?: number;
  readonly seed?: number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * Writes distinct patterns (block, seq, checksum) to random blocks without pause through one NBD
 * connection; `last` keeps, per block, the last acknowledged write.
 */
export class PatternWriter {
  readonly last = new Map<number, AckedWrite>();
  /** Every acknowledged write, in acknowledgement order. */
  readonly log: AckedWrite[] = [];
  readonly errors: string[] = [];
  private readonly inFlight = new Set<number>();
  private seq = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private rng: number;
  private writesSinceFlush = 0;
  private flushes: Promise<void> = Promise.resolve();
  private waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  constructor(
    private readonly client: NbdClient,
    private readonly options: WriterOptions,
  ) {
    this.rng = (options.seed ?? 12345) >>> 0 || 1;
  }

  /** Starts the writing loops. */
  start(): void {
    this.running = true;
    const qd = this.options.queueDepth ?? 4;
    for (let i = 0; i < qd; i++) this.loops.push(this.loop());
  }

  /** Acknowledged writes so far. */
  get acked(): number {
    return this.log.length;
  }

  /** Resolves once `pred()` holds (checked after each acknowledgement); rejects on a writer error or timeout. */
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`writer: timed out after ${timeoutMs} ms waiting for ${what} (${this.acked} acked, errors: ${this.errors.join('; ') || 'none'})`));
      }, timeoutMs);
      const waiter = {
        pred: () => pred() || this.errors.length > 0,
        resolve: () => {
          clearTimeout(timer);
          if (this.errors.length) reject(new Error(`writer error: ${this.errors.join('; ')}`));
          else resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Stops issuing writes, waits for those in flight, flushes. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.flushes;
    try {
      await this.client.flush();
    } catch (e) {
      this.errors.push(`final flush: ${(e as Error).message}`);
    }
  }

  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  private async loop(): Promise<void> {
    const buf = Buffer.alloc(BLOCK);
    while (this.running && this.errors.length === 0) {
      let block: number;
      do block = this.random() % this.options.blocks;
      while (this.inFlight.has(block));
      this.inFlight.add(block);
      const seq = ++this.seq;
      const sentAt = epochNow();
      try {
        await this.client.write(block * BLOCK, Buffer.from(fillPattern(buf, block, seq)));
        const w: AckedWrite = { block, seq, sentAt, ackAt: epochNow() };
        this.last.set(block, w);
        this.log.push(w);
      } catch (e) {
        this.errors.push(`write block ${block} seq ${seq}: ${(e as Error).message}`);
      } finally {
        this.inFlight.delete(block);
      }
      if (++this.writesSinceFlush >= (this.options.flushEvery ?? 64)) {
        this.writesSinceFlush = 0;
        this.flushes = this.flushes.then(() =>
          this.client.flush().catch((e: Error) => {
            this.errors.push(`flush: ${e.message}`);
          }),
        );
      }
      for (const w of [...this.waiters]) {
        if (w.pred()) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve();
        }
      }
    }
  }
}

/** One block whose content differs from what the writes say. */
export interface BadBlock {
  readonly block: number;
  readonly expected: string;
  readonly found: string;
}

/**
 * Compares an image with the writer's acknowledged writes (the last per block) and, elsewhere, the
 * baseline. Returns the differing blocks (at most `limit` listed) and how many there are.
 */
export async function verifyImage(
  path: string,
  bytes: number,
  last: ReadonlyMap<number, AckedWrite>,
  options: { readonly limit?: number; readonly only?: ReadonlySet<number> } = {},
): Promise<{ checked: number; badCount: number; bad: BadBlock[] }> {
  const { limit = 20, only } = options;
  let checked = 0;
  const fh = await open(path, 'r');
  const bad: BadBlock[] = [];
  let badCount = 0;
  try {
    const chunk = Buffer.alloc(1 << 20);
    const expected = Buffer.alloc(BLOCK);
    for (let off = 0; off < bytes; off += chunk.length) {
      const n = Math.min(chunk.length, bytes - off);
      const { bytesRead } = await fh.read(chunk, 0, n, off);
      if (bytesRead !== n) throw new Error(`${path}: short read at ${off}`);
      for (let i = 0; i < n / BLOCK; i++) {
        const block = off / BLOCK + i;
        if (only && !only.has(block)) continue;
        checked++;
        const got = chunk.subarray(i * BLOCK, (i + 1) * BLOCK);
        const seq = last.get(block)?.seq ?? 0;
        if (!got.equals(fillPattern(expected, block, seq))) {
          badCount++;
          if (bad.length < limit) bad.push({ block, expected: describeBlock(expected), found: describeBlock(got) });
        }
      }
    }
  } finally {
    await fh.close();
  }
  return { checked, badCount, bad };
}
