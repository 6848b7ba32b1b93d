/**
 * The NBD server against real QEMU tools (qemu-io, qemu-img, qemu-nbd, qemu-storage-daemon) and a
 * small raw NBD client for what the tools cannot send (bad ranges, read-only writes, odd chunking,
 * protocol violations). Volumes are real `chunked` (and `raw`) driver volumes in a temp directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createChunkedDriver, createRawDriver } from '../../drivers/index.js';
import {
  startNbdServer,
  NBD_MAX_IN_FLIGHT,
  type BackendSpec,
  type NbdServerHandle,
  type NbdServerOptions,
  type VolumeDriver,
  type VolumeHandle,
} from '../../src/blockstore/index.js';
import {
  ByteQueue,
  encodeRequest,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_INFO_BLOCK_SIZE,
  NBD_MAX_PAYLOAD_BYTES,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_SERVER,
} from '../../src/blockstore/nbd-protocol.js';
import { AppError, MiB } from '../../src/shared/index.js';

const TOOLS = ['qemu-io', 'qemu-img', 'qemu-nbd', 'qemu-storage-daemon'] as const;
const VOLUME_BYTES = 16 * MiB;
const CHUNK_MIB = 1;
const NAME = 'vol';

// ------------------------------------------------------------------ helpers

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Runs a tool asynchronously (the server under test lives in this process's event loop). */
function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

async function qemuIo(uri: string, commands: readonly string[], extra: readonly string[] = []): Promise<RunResult> {
  return run('qemu-io', ['-f', 'raw', ...extra, uri, ...commands.flatMap((c) => ['-c', c])]);
}

async function expectOk(p: Promise<RunResult>): Promise<RunResult> {
  const r = await p;
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  expect(r.stdout).not.toMatch(/failed|error|Pattern verification/i);
  return r;
}

/** Polls `cond` until true or fails after `timeoutMs` (bounded wait on a condition, not a sleep). */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function pattern(byte: number, n: number): Buffer {
  return Buffer.alloc(n, byte);
}

async function readHandle(h: VolumeHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  expect(await h.read(buf, offset, length)).toBe(length);
  return buf;
}

let dir: string;
const cleanups: (() => Promise<void>)[] = [];

/** QEMU tools not runnable here, checked once; every test fails (never skips) while any is missing. */
let missingTools: string[] | undefined;

beforeEach(() => {
  missingTools ??= TOOLS.filter((t) => {
    const r = spawnSync(t, ['--version'], { encoding: 'utf8' });
    return r.error !== undefined || r.status !== 0;
  });
  if (missingTools.length > 0) {
    throw new Error(
      `QEMU tools missing: ${missingTools.join(', ')}. Install the Debian packages qemu-utils (qemu-io, qemu-img, qemu-nbd) and ` +
        `qemu-system-common (qemu-storage-daemon): apt-get install -y --no-install-recommends qemu-utils qemu-system-common`,
    );
  }
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const child of children) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface Fixture {
  readonly driver: VolumeDriver;
  readonly handle: VolumeHandle;
  readonly nameId: string;
  readonly sock: string;
  readonly server: NbdServerHandle;
  readonly errors: AppError[];
}

function backend(kind: 'chunked' | 'raw', dataPath: string): BackendSpec {
  return {
    name: 'b',
    host: 'ballast',
    driver: kind,
    volumeBackendName: 'b',
    options: kind === 'chunked' ? { chunkSizeMiB: CHUNK_MIB } : {},
    pools: [
      {
        name: 'p',
        sizeGiB: 10,
        provisioning: 'thin',
        maxOverSubscriptionRatio: 20,
        reservedPercentage: 0,
        availabilityZone: 'nova',
        capabilities: {},
        dataPath,
      },
    ],
  };
}

/** A fresh volume served over NBD; `wrap` may put a test double around the real handle. */
async function serve(
  opts: { kind?: 'chunked' | 'raw'; readOnly?: boolean; wrap?: (h: VolumeHandle) => VolumeHandle } = {},
): Promise<Fixture> {
  dir = await mkdtemp(join(tmpdir(), 'ballast-nbd-'));
  const kind = opts.kind ?? 'chunked';
  const driver = (kind === 'chunked' ? createChunkedDriver : createRawDriver)(backend(kind, join(dir, 'pool')));
  await driver.setup();
  const nameId = 'v1';
  const locator = { nameId, pool: 'p', sizeGiB: VOLUME_BYTES / (1024 * MiB) };
  await driver.createVolume(locator);
  const real = await driver.openVolume(locator);
  cleanups.push(() => real.close());
  const handle = opts.wrap ? opts.wrap(real) : real;
  const errors: AppError[] = [];
  const sock = join(dir, 'nbd.sock');
  const server = await startNbdServer({
    socketPath: sock,
    exportName: NAME,
    handle,
    ...(opts.readOnly ? { readOnly: true } : {}),
    onError: (e) => errors.push(e),
  } satisfies NbdServerOptions);
  cleanups.push(() => server.close());
  return { driver, handle: real, nameId, sock, server, errors };
}

// ------------------------------------------------------------------ a minimal raw NBD client

interface Reply {
  readonly error: number;
  readonly data: Buffer | null;
}

/** Just enough of an NBD client to send what QEMU never would. */
class RawClient {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private readonly q = new ByteQueue();
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private readonly pending = new Map<bigint, { type: number; length: number; resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextCookie = 1n;
  private ended = false;
  size = 0;
  flags = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.q.push(d);
      this.feed();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        const err = new Error('connection closed');
        this.waiter?.reject(err);
        this.waiter = null;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve();
      }),
    );
  }

  /** Connects and reads the greeting (does not send client flags). */
  static async connect(sock: string): Promise<{ client: RawClient; greeting: Buffer }> {
    const socket = net.connect(sock);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    return { client, greeting: await client.need(18) };
  }

  /** Connects and negotiates with NBD_OPT_GO. */
  static async open(sock: string, name = NAME): Promise<RawClient> {
    const { client } = await RawClient.connect(sock);
    client.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    const replies = await client.option(NBD_OPT_GO, goData(name, [NBD_INFO_BLOCK_SIZE]));
    const last = replies[replies.length - 1]!;
    if (last.type !== NBD_REP_ACK) throw new Error(`GO refused: ${last.type} ${last.data.toString()}`);
    client.readInfo(replies);
    client.startReplies();
    return client;
  }

  need(n: number): Promise<Buffer> {
    if (this.q.length >= n) return Promise.resolve(Buffer.from(this.q.take(n)));
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  private feed(): void {
    if (this.waiter && this.q.length >= this.waiter.n) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(Buffer.from(this.q.take(w.n)));
    }
  }

  sendFlags(flags: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(flags);
    this.socket.write(b);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(0x49484156454f5054n, 0);
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([h, data]));
  }

  async optionReply(): Promise<{ option: number; type: number; data: Buffer }> {
    const h = await this.need(20);
    expect(h.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
    const length = h.readUInt32BE(16);
    return { option: h.readUInt32BE(8), type: h.readUInt32BE(12), data: length > 0 ? await this.need(length) : Buffer.alloc(0) };
  }

  /** Sends an option and collects its replies up to the final one (ACK or error). */
  async option(option: number, data?: Buffer): Promise<{ option: number; type: number; data: Buffer }[]> {
    this.sendOption(option, data);
    const out = [];
    for (;;) {
      const r = await this.optionReply();
      expect(r.option).toBe(option);
      out.push(r);
      if (r.type === NBD_REP_ACK || r.type >= 0x80000000) return out;
    }
  }

  readInfo(replies: readonly { type: number; data: Buffer }[]): void {
    for (const r of replies) {
      if (r.type === NBD_REP_INFO && r.data.readUInt16BE(0) === 0) {
        this.size = Number(r.data.readBigUInt64BE(2));
        this.flags = r.data.readUInt16BE(10);
      }
    }
  }

  startReplies(): void {
    void (async () => {
      try {
        for (;;) {
          const h = await this.need(16);
          expect(h.readUInt32BE(0)).toBe(0x67446698);
          const error = h.readUInt32BE(4);
          const cookie = h.readBigUInt64BE(8);
          const p = this.pending.get(cookie);
          if (!p) throw new Error(`reply for unknown cookie ${cookie}`);
          this.pending.delete(cookie);
          const data = p.type === NBD_CMD_READ && error === 0 ? await this.need(p.length) : null;
          p.resolve({ error, data });
        }
      } catch {
        // connection closed: pending requests were rejected
      }
    })();
  }

  /** Encodes a request and registers its reply; returns the bytes to send and the reply promise. */
  prepare(type: number, offset: bigint | number, length: number, opts: { flags?: number; data?: Buffer } = {}): { bytes: Buffer; reply: Promise<Reply> } {
    const cookie = this.nextCookie++;
    const header = encodeRequest(type, opts.flags ?? 0, cookie, offset, length);
    const bytes = opts.data ? Buffer.concat([header, opts.data]) : header;
    const reply =
      type === NBD_CMD_DISC
        ? Promise.resolve({ error: 0, data: null })
        : new Promise<Reply>((resolve, reject) => this.pending.set(cookie, { type, length, resolve, reject }));
    return { bytes, reply };
  }

  request(type: number, offset: bigint | number, length: number, opts: { flags?: number; data?: Buffer } = {}): Promise<Reply> {
    const { bytes, reply } = this.prepare(type, offset, length, opts);
    this.socket.write(bytes);
    return reply;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function goData(name: string, infos: readonly number[]): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(4 + n.length + 2 + 2 * infos.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(infos.length, 4 + n.length);
  infos.forEach((t, i) => b.writeUInt16BE(t, 6 + n.length + 2 * i));
  return b;
}

/** A handle wrapper that counts concurrent calls and can hold them until released. */
function gated(inner: VolumeHandle) {
  let active = 0;
  let max = 0;
  let started = 0;
  let holding = true;
  let release!: () => void;
  let released = new Promise<void>((r) => (release = r));
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      active++;
      started++;
      max = Math.max(max, active);
      try {
        if (holding) await released;
        return await fn(...a);
      } finally {
        active--;
      }
    };
  const handle: VolumeHandle = {
    get sizeBytes() {
      return inner.sizeBytes;
    },
    blockPath: inner.blockPath,
    read: wrap((b: Buffer, o: number, l?: number) => inner.read(b, o, l)),
    write: wrap((b: Buffer, o: number, l?: number) => inner.write(b, o, l)),
    flush: wrap(() => inner.flush()),
    allocatedRanges: () => inner.allocatedRanges(),
    close: () => inner.close(),
  };
  return {
    handle,
    stats: () => ({ active, max, started }),
    open(): void {
      holding = false;
      release();
    },
    hold(): void {
      holding = true;
      released = new Promise<void>((r) => (release = r));
    },
  };
}

// ------------------------------------------------------------------ tests

describe('NBD server: QEMU clients', () => {
  test.each(['chunked', 'raw'] as const)('qemu-io writes, flushes and reads through a %s volume; the data is in the handle', async (kind) => {
    const f = await serve({ kind });
    expect(f.server.uri).toBe(`nbd+unix:///${NAME}?socket=${f.sock}`);
    await expectOk(qemuIo(f.server.uri, ['write -P 0xab 1M 3M', 'flush', 'read -P 0xab 1M 3M', 'read -P 0 0 1M']));
    expect((await readHandle(f.handle, MiB, 3 * MiB)).equals(pattern(0xab, 3 * MiB))).toBe(true);
    expect((await readHandle(f.handle, 0, MiB)).equals(pattern(0, MiB))).toBe(true);
    expect((await readHandle(f.handle, 4 * MiB, MiB)).equals(pattern(0, MiB))).toBe(true);
    expect(f.errors).toEqual([]);
  });

  test('qemu-img info shows the virtual size; qemu-nbd --list shows the export, its flags and block sizes', async () => {
    const f = await serve();
    const info = await run('qemu-img', ['info', '--output=json', f.server.uri]);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ 'virtual-size': VOLUME_BYTES, format: 'raw' });
    const list = await run('qemu-nbd', ['--list', '-k', f.sock]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`export: '${NAME}'`);
    expect(list.stdout).toContain(`size:  ${VOLUME_BYTES}`);
    expect(list.stdout).toMatch(/flags: 0x[0-9a-f]+ \( flush fua trim zeroes multi \)/);
    expect(list.stdout).toMatch(/min block: 1\s+opt block: 4096\s+max block: 33554432/);
  });

  test('qemu-img convert copies exactly what was written', async () => {
    const f = await serve();
    const data = randomBytes(3 * MiB + 12345);
    await f.handle.write(data, 5 * MiB + 777);
    await expectOk(qemuIo(f.server.uri, ['write -P 0x11 0 64k', 'write -P 0x22 15M 1M']));
    const out = join(dir, 'out.raw');
    const r = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', f.server.uri, out]);
    expect(r.code, r.stderr).toBe(0);
    const copied = await readFile(out);
    expect(copied.length).toBe(VOLUME_BYTES);
    expect(copied.equals(await readHandle(f.handle, 0, VOLUME_BYTES))).toBe(true);
    expect(copied.subarray(5 * MiB + 777, 5 * MiB + 777 + data.length).equals(data)).toBe(true);
    expect(copied.subarray(0, 65536).equals(pattern(0x11, 65536))).toBe(true);
    expect(copied.subarray(15 * MiB).equals(pattern(0x22, MiB))).toBe(true);
  });

  test('a write at an unaligned offset spanning object boundaries lands exactly', async () => {
    const f = await serve();
    const offset = MiB - 4321; // object 0 tail, objects 1 and 2 whole, object 3 head
    const length = 2 * MiB + 9999;
    await expectOk(qemuIo(f.server.uri, [`write -P 0x5a ${offset} ${length}`, `read -P 0x5a ${offset} ${length}`, `read -P 0 0 ${offset}`]));
    const all = await readHandle(f.handle, 0, 4 * MiB);
    expect(all.subarray(offset, offset + length).equals(pattern(0x5a, length))).toBe(true);
    expect(all.subarray(0, offset).equals(pattern(0, offset))).toBe(true);
    expect(all.subarray(offset + length).equals(pattern(0, all.length - offset - length))).toBe(true);
  });

  test('write -z zeroes ranges (whole objects are dropped) and a FUA write flushes the handle', async () => {
    const f = await serve();
    await expectOk(qemuIo(f.server.uri, ['write -P 0xcd 0 6M']));
    const flushesBefore = f.driver.ioStats().volumes[f.nameId]?.flushOps ?? 0;
    await expectOk(
      qemuIo(f.server.uri, ['write -z 1M 2M', 'write -z 4000000 100000', 'write -f -P 0xee 5M 4k', 'read -P 0 1M 2M', 'read -P 0 4000000 100000', 'read -P 0xcd 0 1M']),
    );
    expect(f.driver.ioStats().volumes[f.nameId]!.flushOps).toBeGreaterThan(flushesBefore);
    const all = await readHandle(f.handle, 0, 6 * MiB);
    const expected = pattern(0xcd, 6 * MiB);
    expected.fill(0, MiB, 3 * MiB);
    expected.fill(0, 4000000, 4100000);
    expected.fill(0xee, 5 * MiB, 5 * MiB + 4096);
    expect(all.equals(expected)).toBe(true);
    // objects 1 and 2 (whole zeros) are gone; the partly zeroed object 3 stays
    const ranges = await f.handle.allocatedRanges();
    expect(ranges).toEqual([
      { offset: 0, length: MiB },
      { offset: 3 * MiB, length: 3 * MiB },
    ]);
    // write -z over never-written space allocates nothing
    await expectOk(qemuIo(f.server.uri, ['write -z 8M 4M', 'read -P 0 8M 4M']));
    expect(await f.handle.allocatedRanges()).toEqual(ranges);
  });

  test('a read past the end fails cleanly in qemu-io and the export keeps serving', async () => {
    const f = await serve();
    const r = await qemuIo(f.server.uri, [`read ${VOLUME_BYTES - 4096} 8192`]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/read failed/);
    await expectOk(qemuIo(f.server.uri, ['write -P 7 0 4k', 'read -P 7 0 4k']));
    expect(f.errors).toEqual([]);
  });

  test('readOnly: qemu-io reads, a read-write open is refused, writes get EPERM', async () => {
    const f = await serve({ readOnly: true });
    await f.handle.write(pattern(0x33, MiB), 0);
    await expectOk(qemuIo(f.server.uri, ['read -P 0x33 0 1M', 'read -P 0 1M 1M'], ['-r']));
    const rw = await qemuIo(f.server.uri, ['write -P 1 0 4k']);
    expect(rw.code).not.toBe(0);
    expect(rw.stdout + rw.stderr).toMatch(/Permission denied|read-only/i);
    const list = await run('qemu-nbd', ['--list', '-k', f.sock]);
    expect(list.stdout).toMatch(/flags: 0x[0-9a-f]+ \( readonly flush fua multi \)/);

    const c = await RawClient.open(f.sock);
    expect(c.flags & NBD_FLAG_READ_ONLY).toBe(NBD_FLAG_READ_ONLY);
    expect((await c.request(NBD_CMD_WRITE, 0, 4096, { data: pattern(9, 4096) })).error).toBe(1); // EPERM
    expect((await c.request(NBD_CMD_WRITE_ZEROES, 0, 4096)).error).toBe(1);
    expect((await c.request(NBD_CMD_TRIM, 0, 4096)).error).toBe(1);
    expect((await c.request(NBD_CMD_FLUSH, 0, 0)).error).toBe(0);
    const read = await c.request(NBD_CMD_READ, 0, 4096);
    expect(read).toEqual({ error: 0, data: pattern(0x33, 4096) });
    c.destroy();
    expect((await readHandle(f.handle, 0, MiB)).equals(pattern(0x33, MiB))).toBe(true);
  });

  test('two qemu-io clients at once on the same handle', async () => {
    const f = await serve();
    const [a, b] = await Promise.all([
      qemuIo(f.server.uri, ['write -P 0x41 0 4M', 'read -P 0x41 0 4M', 'flush']),
      qemuIo(f.server.uri, ['write -P 0x42 8M 4M', 'read -P 0x42 8M 4M', 'flush']),
    ]);
    for (const r of [a, b]) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await readHandle(f.handle, 0, 4 * MiB)).equals(pattern(0x41, 4 * MiB))).toBe(true);
    expect((await readHandle(f.handle, 8 * MiB, 4 * MiB)).equals(pattern(0x42, 4 * MiB))).toBe(true);
    // each client sees the other's writes (one handle behind both connections)
    await expectOk(qemuIo(f.server.uri, ['read -P 0x41 0 4M', 'read -P 0x42 8M 4M']));
  });

  test('qemu-storage-daemon opens the export as an nbd node and re-exports it; writes through it land in the chunked volume', async () => {
    const f = await serve();
    const sock2 = join(dir, 'qsd.sock');
    const qsd = spawn(
      'qemu-storage-daemon',
      [
        '--blockdev', `driver=nbd,node-name=n0,server.type=unix,server.path=${f.sock},export=${NAME}`,
        '--blockdev', 'driver=raw,node-name=r0,file=n0',
        '--nbd-server', `addr.type=unix,addr.path=${sock2}`,
        '--export', 'type=nbd,id=e0,node-name=r0,name=vol,writable=on',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(qsd);
    let qsdErr = '';
    qsd.stderr!.on('data', (d: Buffer) => (qsdErr += d.toString()));
    const exited = new Promise<number | null>((resolve) => qsd.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => existsSync(sock2) || qsd.exitCode !== null, 'the qemu-storage-daemon socket');
      expect(qsd.exitCode, qsdErr).toBeNull();
      expect(f.server.connections()).toBe(1);
      const uri2 = `nbd+unix:///vol?socket=${sock2}`;
      await expectOk(qemuIo(uri2, ['write -P 0x77 2M 3M', 'write -z 3M 1M', 'flush', 'read -P 0x77 2M 1M', 'read -P 0 3M 1M', 'read -P 0x77 4M 1M']));
      const expected = pattern(0x77, 3 * MiB);
      expected.fill(0, MiB, 2 * MiB);
      expect((await readHandle(f.handle, 2 * MiB, 3 * MiB)).equals(expected)).toBe(true);
      expect((await readHandle(f.handle, 0, 2 * MiB)).equals(pattern(0, 2 * MiB))).toBe(true);
      // and data written to the volume directly is what the re-export reads
      await f.handle.write(pattern(0x99, 4096), 10 * MiB);
      await expectOk(qemuIo(uri2, ['read -P 0x99 10M 4k']));
    } finally {
      qsd.kill('SIGTERM');
      await exited;
      children.delete(qsd);
    }
    await waitFor(() => f.server.connections() === 0, 'the daemon to disconnect');
    expect(f.errors).toEqual([]);
  });
});

describe('NBD server: protocol edges (raw client)', () => {
  test('out-of-range, oversized and unknown requests get error replies and the connection keeps working', async () => {
    const f = await serve();
    const c = await RawClient.open(f.sock);
    expect(c.size).toBe(VOLUME_BYTES);
    expect(c.flags & NBD_FLAG_CAN_MULTI_CONN).toBe(NBD_FLAG_CAN_MULTI_CONN);
    expect(c.flags & NBD_FLAG_SEND_FLUSH).toBe(NBD_FLAG_SEND_FLUSH);
    const EINVAL = 22;
    const ENOSPC = 28;
    expect((await c.request(NBD_CMD_READ, VOLUME_BYTES - 10, 20)).error).toBe(EINVAL);
    expect((await c.request(NBD_CMD_READ, 2n ** 63n, 512)).error).toBe(EINVAL);
    expect((await c.request(NBD_CMD_READ, 0, NBD_MAX_PAYLOAD_BYTES + 1)).error).toBe(EINVAL);
    expect((await c.request(NBD_CMD_WRITE, VOLUME_BYTES - 10, 20, { data: pattern(1, 20) })).error).toBe(ENOSPC);
    expect((await c.request(NBD_CMD_WRITE_ZEROES, VOLUME_BYTES, 1)).error).toBe(ENOSPC);
    expect((await c.request(NBD_CMD_TRIM, VOLUME_BYTES, 1)).error).toBe(EINVAL);
    // a payload over the maximum is read and dropped, then refused
    expect((await c.request(NBD_CMD_WRITE, 0, NBD_MAX_PAYLOAD_BYTES + 1, { data: pattern(2, NBD_MAX_PAYLOAD_BYTES + 1) })).error).toBe(EINVAL);
    expect((await c.request(5 /* CACHE, not advertised */, 0, 512)).error).toBe(EINVAL);
    expect((await c.request(NBD_CMD_READ, 0, 512, { flags: 1 << 2 /* DF, not advertised */ })).error).toBe(EINVAL);
    // nothing was written by any of them, and the connection still works
    expect((await c.request(NBD_CMD_WRITE, 4096, 4, { data: Buffer.from('abcd'), flags: NBD_CMD_FLAG_FUA })).error).toBe(0);
    expect(await c.request(NBD_CMD_READ, 4094, 8)).toEqual({ error: 0, data: Buffer.from([0, 0, 97, 98, 99, 100, 0, 0]) });
    expect(await c.request(NBD_CMD_READ, VOLUME_BYTES - 1, 1)).toEqual({ error: 0, data: Buffer.from([0]) });
    expect((await c.request(NBD_CMD_TRIM, 0, 4096)).error).toBe(0);
    expect(await f.handle.allocatedRanges()).toEqual([{ offset: 0, length: MiB }]);
    c.destroy();
    expect(f.errors).toEqual([]);
  });

  test('requests split at arbitrary points and many requests in one packet are parsed right', async () => {
    const f = await serve();
    const c = await RawClient.open(f.sock);
    // deterministic pseudo-random stream of 60 requests
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const model = Buffer.alloc(VOLUME_BYTES);
    const parts: Buffer[] = [];
    const checks: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const offset = rnd(VOLUME_BYTES - 70000);
      const length = 1 + rnd(65536);
      if (i % 3 !== 2) {
        // disjoint writes: each write gets its own region (block i of 256 KiB)
        const at = i * 256 * 1024 + rnd(1000);
        const data = randomBytes(length);
        data.copy(model, at);
        const { bytes, reply } = c.prepare(NBD_CMD_WRITE, at, length, { data });
        parts.push(bytes);
        checks.push(reply.then((r) => expect(r.error).toBe(0)));
      } else {
        const { bytes, reply } = c.prepare(NBD_CMD_READ, offset, length);
        parts.push(bytes);
        checks.push(reply.then((r) => expect(r.error).toBe(0)));
      }
    }
    const stream = Buffer.concat(parts);
    // send in random pieces from 1 byte to 3 KiB, waiting for each to be flushed to the socket
    let pos = 0;
    while (pos < stream.length) {
      const n = Math.min(stream.length - pos, 1 + (rnd(4) === 0 ? rnd(8) : rnd(3000)));
      await new Promise<void>((resolve) => c.socket.write(stream.subarray(pos, pos + n), () => resolve()));
      pos += n;
    }
    await Promise.all(checks);
    // then everything at once in one write: reads of what the writes left
    const reads = [];
    const batch: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const at = i * 256 * 1024;
      const p = c.prepare(NBD_CMD_READ, at, 70000);
      batch.push(p.bytes);
      reads.push(p.reply.then((r) => expect(r.data!.equals(model.subarray(at, at + 70000))).toBe(true)));
    }
    c.socket.write(Buffer.concat(batch));
    await Promise.all(reads);
    expect((await readHandle(f.handle, 0, VOLUME_BYTES)).equals(model)).toBe(true);
    c.destroy();
  });

  test(`backpressure: at most ${NBD_MAX_IN_FLIGHT} requests of a connection reach the handle at once; all get replies`, async () => {
    let g!: ReturnType<typeof gated>;
    const f = await serve({ wrap: (h) => (g = gated(h)).handle });
    const c = await RawClient.open(f.sock);
    const replies = Array.from({ length: 50 }, (_, i) => c.request(NBD_CMD_READ, i * 4096, 4096));
    await waitFor(() => g.stats().active === NBD_MAX_IN_FLIGHT, `${NBD_MAX_IN_FLIGHT} requests in flight`);
    // the server stopped reading: nothing past the limit reached the handle
    await new Promise((r) => setImmediate(r));
    expect(g.stats().started).toBe(NBD_MAX_IN_FLIGHT);
    g.open();
    const all = await Promise.all(replies);
    expect(all.every((r) => r.error === 0 && r.data!.length === 4096)).toBe(true);
    expect(g.stats().max).toBe(NBD_MAX_IN_FLIGHT);
    c.destroy();
  });

  test('a flush waits for writes in flight on other connections (CAN_MULTI_CONN is safe)', async () => {
    let g!: ReturnType<typeof gated>;
    const f = await serve({ wrap: (h) => (g = gated(h)).handle });
    const a = await RawClient.open(f.sock);
    const b = await RawClient.open(f.sock);
    expect(f.server.connections()).toBe(2);
    const order: string[] = [];
    const write = a.request(NBD_CMD_WRITE, 0, 4096, { data: pattern(5, 4096) }).then((r) => order.push(`write ${r.error}`));
    await waitFor(() => g.stats().active === 1, 'the write to reach the handle');
    const flush = b.request(NBD_CMD_FLUSH, 0, 0).then((r) => order.push(`flush ${r.error}`));
    await new Promise((r) => setImmediate(r));
    expect(g.stats().started).toBe(1); // the flush has not reached the handle while the write runs
    g.open();
    await Promise.all([write, flush]);
    expect(order).toEqual(['write 0', 'flush 0']);
    a.destroy();
    b.destroy();
  });

  test('handle failures become EIO / ENOSPC replies and are reported through onError', async () => {
    let failRead = true;
    const f = await serve({
      wrap: (h) => ({
        sizeBytes: h.sizeBytes,
        blockPath: h.blockPath,
        read: (b, o, l) => (failRead ? Promise.reject(new AppError('IO_ERROR', 'disk on fire')) : h.read(b, o, l)),
        write: () => Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' })),
        flush: () => h.flush(),
        allocatedRanges: () => h.allocatedRanges(),
        close: () => h.close(),
      }),
    });
    const c = await RawClient.open(f.sock);
    expect(await c.request(NBD_CMD_READ, 0, 4096)).toEqual({ error: 5, data: null });
    expect((await c.request(NBD_CMD_WRITE, 0, 4096, { data: pattern(1, 4096) })).error).toBe(28);
    failRead = false;
    expect((await c.request(NBD_CMD_READ, 0, 4096)).error).toBe(0);
    expect(f.errors.map((e) => e.code)).toEqual(['IO_ERROR', 'IO_ERROR']);
    expect(f.errors[0]!.message).toMatch(/read of 4096 bytes at offset 0 of export "vol" failed: disk on fire/);
    expect(f.errors[1]!.message).toMatch(/write .* no space/);
    c.destroy();
  });

  test('negotiation: LIST, INFO with an unknown name, refused STRUCTURED_REPLY, EXPORT_NAME with and without zeroes, ABORT', async () => {
    const f = await serve();
    const { client: c, greeting } = await RawClient.connect(f.sock);
    expect(greeting.readBigUInt64BE(0)).toBe(0x4e42444d41474943n);
    expect(greeting.readUInt16BE(16)).toBe(3); // FIXED_NEWSTYLE | NO_ZEROES
    c.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    const list = await c.option(NBD_OPT_LIST);
    expect(list.map((r) => r.type)).toEqual([NBD_REP_SERVER, NBD_REP_ACK]);
    expect(list[0]!.data.subarray(4).toString()).toBe(NAME);
    const unknown = await c.option(NBD_OPT_INFO, goData('nope', []));
    expect(unknown.map((r) => r.type)).toEqual([NBD_REP_ERR_UNKNOWN]);
    expect(unknown[0]!.data.toString()).toContain('"nope"');
    expect((await c.option(NBD_OPT_STRUCTURED_REPLY)).map((r) => r.type)).toEqual([NBD_REP_ERR_UNSUP]);
    const info = await c.option(NBD_OPT_INFO, goData(NAME, []));
    expect(info[info.length - 1]!.type).toBe(NBD_REP_ACK);
    c.readInfo(info);
    expect(c.size).toBe(VOLUME_BYTES);
    // still negotiating after INFO: EXPORT_NAME (no zeroes negotiated) enters transmission
    c.sendOption(NBD_OPT_EXPORT_NAME, Buffer.from(NAME));
    const reply = await c.need(10);
    expect(Number(reply.readBigUInt64BE(0))).toBe(VOLUME_BYTES);
    c.startReplies();
    expect((await c.request(NBD_CMD_READ, 0, 16)).error).toBe(0);
    c.destroy();

    // a client without NO_ZEROES gets the 124 zero bytes after EXPORT_NAME
    const { client: old } = await RawClient.connect(f.sock);
    old.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE);
    old.sendOption(NBD_OPT_EXPORT_NAME, Buffer.from(NAME));
    const r134 = await old.need(134);
    expect(r134.subarray(10).equals(Buffer.alloc(124))).toBe(true);
    old.startReplies();
    expect((await old.request(NBD_CMD_READ, 0, 16)).data).toEqual(Buffer.alloc(16));
    old.destroy();

    // EXPORT_NAME with a wrong name closes; ABORT is acknowledged and closes
    const { client: wrong } = await RawClient.connect(f.sock);
    wrong.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE);
    wrong.sendOption(NBD_OPT_EXPORT_NAME, Buffer.from('other'));
    await wrong.closed;
    const { client: ab } = await RawClient.connect(f.sock);
    ab.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE);
    expect((await ab.option(NBD_OPT_ABORT)).map((r) => r.type)).toEqual([NBD_REP_ACK]);
    await ab.closed;
    // GO with an unknown name can be followed by a good GO
    const { client: retry } = await RawClient.connect(f.sock);
    retry.sendFlags(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    expect((await retry.option(NBD_OPT_GO, goData('x', []))).map((r) => r.type)).toEqual([NBD_REP_ERR_UNKNOWN]);
    expect((await retry.option(NBD_OPT_GO, goData(NAME, [])))[0]!.type).toBe(NBD_REP_INFO);
    retry.destroy();
    await waitFor(() => f.server.connections() === 0, 'all clients gone');
    expect(f.errors).toEqual([]);
  });

  test('a bad request magic is a hard disconnect reported as INVALID_INPUT; the server keeps serving', async () => {
    const f = await serve();
    const c = await RawClient.open(f.sock);
    c.socket.write(Buffer.alloc(28, 0xff));
    await c.closed;
    expect(f.errors.map((e) => e.code)).toEqual(['INVALID_INPUT']);
    expect(f.errors[0]!.message).toContain('bad request magic');
    await expectOk(qemuIo(f.server.uri, ['write -P 3 0 4k', 'read -P 3 0 4k']));
  });

  test('clients that vanish mid-request do not break the server', async () => {
    const f = await serve();
    // half a write payload, then gone
    const a = await RawClient.open(f.sock);
    const half = a.prepare(NBD_CMD_WRITE, 0, MiB, { data: pattern(1, MiB) });
    void half.reply.catch(() => undefined);
    a.socket.write(half.bytes.subarray(0, 300_000));
    // a burst of reads, gone before the replies
    const b = await RawClient.open(f.sock);
    for (let i = 0; i < 30; i++) void b.request(NBD_CMD_READ, i * MiB / 4, MiB / 4).catch(() => undefined);
    // gone in the middle of negotiation
    const { client: n } = await RawClient.connect(f.sock);
    n.socket.write(Buffer.from([0, 0]));
    expect(f.server.connections()).toBe(3);
    a.destroy();
    b.destroy();
    n.destroy();
    await waitFor(() => f.server.connections() === 0, 'the server to drop the vanished clients');
    await expectOk(qemuIo(f.server.uri, ['write -P 4 0 64k', 'read -P 4 0 64k', 'read -P 0 64k 1M']));
    expect(f.errors).toEqual([]);
  });

  test('NBD_CMD_DISC: requests before it finish and reply, then the server closes the connection', async () => {
    const f = await serve();
    const c = await RawClient.open(f.sock);
    const w = c.prepare(NBD_CMD_WRITE, 0, 2 * MiB, { data: pattern(8, 2 * MiB), flags: NBD_CMD_FLAG_FUA });
    const fl = c.prepare(NBD_CMD_FLUSH, 0, 0);
    const d = c.prepare(NBD_CMD_DISC, 0, 0);
    c.socket.write(Buffer.concat([w.bytes, fl.bytes, d.bytes]));
    expect((await w.reply).error).toBe(0);
    expect((await fl.reply).error).toBe(0);
    await c.closed;
    expect((await readHandle(f.handle, 0, 2 * MiB)).equals(pattern(8, 2 * MiB))).toBe(true);
    await waitFor(() => f.server.connections() === 0, 'the connection to be gone');
  });

  test('close() with connected clients waits for the request in flight, ends the clients and removes the socket', async () => {
    let g!: ReturnType<typeof gated>;
    const f = await serve({ wrap: (h) => (g = gated(h)).handle });
    const busy = await RawClient.open(f.sock);
    const idle = await RawClient.open(f.sock);
    const { client: negotiating } = await RawClient.connect(f.sock);
    expect(f.server.connections()).toBe(3);
    const write = busy.request(NBD_CMD_WRITE, 0, 4096, { data: pattern(6, 4096) });
    await waitFor(() => g.stats().active === 1, 'the write to reach the handle');
    let closed = false;
    const closing = f.server.close().then(() => (closed = true));
    await negotiating.closed; // dropped at once
    await idle.closed; // nothing in flight: ended at once
    expect(closed).toBe(false); // the write is still in flight
    await expect(RawClient.connect(f.sock)).rejects.toThrow(); // no longer listening
    g.open();
    expect((await write).error).toBe(0);
    await closing;
    await busy.closed;
    expect(f.server.connections()).toBe(0);
    expect(existsSync(f.sock)).toBe(false);
    expect((await readHandle(f.handle, 0, 4096)).equals(pattern(6, 4096))).toBe(true);
    await f.server.close(); // idempotent
  });
});

describe('NBD server: socket path', () => {
  test('a stale socket file is replaced; a live server, a non-socket and bad arguments are refused', async () => {
    const f = await serve();
    const handle = f.handle;
    // a live server owns f.sock
    await expect(startNbdServer({ socketPath: f.sock, exportName: 'x', handle })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('in use by a live server'),
    });
    // a stale socket: its owner was killed and left the file behind
    const stale = join(dir, 'stale.sock');
    const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(owner);
    await new Promise<void>((resolve) => owner.stdout!.once('data', () => resolve()));
    const dead = new Promise((r) => owner.on('exit', r));
    owner.kill('SIGKILL');
    await dead;
    children.delete(owner);
    expect((await stat(stale)).isSocket()).toBe(true);
    const s2 = await startNbdServer({ socketPath: stale, exportName: 'other', handle });
    expect(s2.uri).toBe(`nbd+unix:///other?socket=${stale}`);
    await expectOk(qemuIo(s2.uri, ['read -P 0 0 4k']));
    await s2.close();
    expect(existsSync(stale)).toBe(false);
    // a regular file is not replaced
    const file = join(dir, 'pool', 'not-a-socket');
    await writeFile(file, 'x');
    await expect(startNbdServer({ socketPath: file, exportName: 'x', handle })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(existsSync(file)).toBe(true);
    await expect(startNbdServer({ socketPath: 'rel.sock', exportName: 'x', handle })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(startNbdServer({ socketPath: `/tmp/${'x'.repeat(120)}.sock`, exportName: 'x', handle })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(startNbdServer({ socketPath: join(dir, 'y.sock'), exportName: '', handle })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  test('names and paths that need escaping give a URI QEMU understands', async () => {
    const f = await serve();
    const odd = join(dir, 'a b&c');
    await mkdir(odd);
    const s = await startNbdServer({ socketPath: join(odd, 's?.sock'), exportName: 'vol 1/é', handle: f.handle });
    expect(s.uri).toBe(`nbd+unix:///vol%201%2F%C3%A9?socket=${dir.split('/').map(encodeURIComponent).join('/')}/a%20b%26c/s%3F.sock`);
    await expectOk(qemuIo(s.uri, ['write -P 0x61 0 4k', 'read -P 0x61 0 4k']));
    await s.close();
  });
});
