/**
 * Fixtures of the driver contract suite: one table entry per driver (how to build it and the few
 * facts that legitimately differ between drivers), back-end specs over a temp directory, data
 * patterns and error assertions.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { IoAccounting, type BackendSpec, type DriverFactory, type PoolSpec, type VolumeHandle } from '../../src/blockstore/index.js';
import { AppError, type ErrorCode } from '../../src/shared/index.js';
import { ChunkedHandle, createChunkedDriver } from '../../drivers/chunked/index.js';
import { createRawDriver, RawHandle } from '../../drivers/raw/index.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** What the contract suite needs to know about one driver. */
export interface DriverCase {
  readonly name: string;
  readonly factory: DriverFactory;
  readonly options: Readonly<Record<string, unknown>>;
  readonly copyMode: 'block' | 'file';
  readonly storageProtocol: string;
  readonly locationInfoPrefix: string;
  /** The extra spec whose change makes an in-place retype impossible. */
  readonly retypeBlockingSpec: string;
  /** Whether the driver can move a volume between pools of its back-end without copying. */
  readonly assistedMove: boolean;
  /** Path of the snapshot object on disk (to check it is gone after delete). */
  readonly snapshotPath: (dataPath: string, snapshotId: string) => string;
  /** Opens a snapshot's data read-only (the port has no snapshot reader: tests look at the layout). */
  readonly openSnapshot: (dataPath: string, snapshotId: string) => Promise<VolumeHandle>;
}

const snapshotHandleContext = (snapshotId: string) => ({
  pool: 'snapshot',
  nameId: snapshotId,
  label: `snapshot ${snapshotId}`,
  accounting: new IoAccounting(),
});

/** Both drivers; chunked with 1 MiB objects so that small tests cross object boundaries. */
export const DRIVER_CASES: readonly DriverCase[] = [
  {
    name: 'raw',
    factory: createRawDriver,
    options: {},
    copyMode: 'block',
    storageProtocol: 'file',
    locationInfoPrefix: 'raw:',
    retypeBlockingSpec: 'raw:preallocate',
    assistedMove: true,
    snapshotPath: (dataPath, id) => path.join(dataPath, `snapshot-${id}.img`),
    openSnapshot: (dataPath, id) => RawHandle.open(path.join(dataPath, `snapshot-${id}.img`), snapshotHandleContext(id)),
  },
  {
    name: 'chunked',
    factory: createChunkedDriver,
    options: { chunkSizeMiB: 1 },
    copyMode: 'file',
    storageProtocol: 'chunked',
    locationInfoPrefix: 'chunked:',
    retypeBlockingSpec: 'chunked:chunk_size_mib',
    assistedMove: false,
    snapshotPath: (dataPath, id) => path.join(dataPath, `snapshot-${id}`),
    openSnapshot: (dataPath, id) => ChunkedHandle.open(path.join(dataPath, `snapshot-${id}`), snapshotHandleContext(id)),
  },
];

/** A pool spec with test defaults. */
export function poolSpec(root: string, name: string, overrides: Partial<PoolSpec> = {}): PoolSpec {
  return {
    name,
    sizeGiB: 100,
    provisioning: 'thin',
    maxOverSubscriptionRatio: 20,
    reservedPercentage: 5,
    availabilityZone: 'nova',
    capabilities: { tier: 'gold' },
    dataPath: path.join(root, name),
    ...overrides,
  };
}

/** A back-end `host1@<name>` with pools `p1`, `p2` (thin) and `thick` under `root`. */
export function backendSpec(root: string, c: DriverCase, overrides: Partial<BackendSpec> = {}): BackendSpec {
  return {
    name: `be-${c.name}`,
    host: 'host1',
    driver: c.name,
    volumeBackendName: `backend-${c.name}`,
    pools: [
      poolSpec(root, 'p1'),
      poolSpec(root, 'p2', { capabilities: {} }),
      poolSpec(root, 'thick', { provisioning: 'thick', sizeGiB: 50, maxOverSubscriptionRatio: 1 }),
    ],
    options: c.options,
    ...overrides,
  };
}

/** A fresh temp directory. */
export function makeTempRoot(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ballast-driver-contract-'));
}

/** Deterministic non-zero bytes (never an all-zero run), different per seed. */
export function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = (x & 0xff) | 1;
  }
  return buf;
}

/** Reads exactly `length` bytes at `offset` (asserting a full read). */
export async function readExactly(h: VolumeHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length, 0xee); // poisoned: zeros must come from the driver
  const n = await h.read(buf, offset);
  expect(n).toBe(length);
  return buf;
}

/** Asserts that `p` rejects with an AppError of `code`, and returns it. */
export async function expectAppError(p: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an AppError ${code}`).toBeInstanceOf(AppError);
  const err = caught as AppError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Real bytes allocated under `p` (a file or a directory tree). */
export async function allocatedBytes(p: string): Promise<number> {
  const st = await fs.stat(p);
  if (!st.isDirectory()) return st.blocks * 512;
  let total = 0;
  for (const name of await fs.readdir(p)) total += await allocatedBytes(path.join(p, name));
  return total;
}
