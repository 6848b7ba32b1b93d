/**
 * The demo's fleet: volumes holding seeded data on an unbalanced layout (ssd-a above the gold
 * policy's 75%, two replicas of one app on one pool, hdd-b to be drained), and one volume attached
 * to a consumer that writes without pause for the whole demo.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK, NbdClient, PatternWriter } from '../../../hypervisor/index.js';
import { AppError, formatBytes, MiB } from '../../../shared/index.js';
import { renderTable } from '../../io.js';
import { sha256, type DemoContext } from './context.js';

/** One volume of the demo fleet. */
export interface VolumeSpec {
  readonly name: string;
  readonly sizeGiB: number;
  readonly type: 'gold' | 'standard';
  readonly pool: string;
  /** Seeded bytes written at `offset` (0: none). */
  readonly dataBytes: number;
  readonly offset: number;
  readonly metadata: Readonly<Record<string, string>>;
}

const SSD_A = 'ballast@fast#ssd-a';
const SSD_B = 'ballast@fast#ssd-b';
const HDD_A = 'ballast@capacity#hdd-a';
const HDD_B = 'ballast@capacity#hdd-b';

/** The attached volume: moved live by the plan while its consumer writes. */
export const LIVE_VOLUME = 'vm-disk';
/** Bytes of the live volume the consumer writes to (its first blocks). */
export const LIVE_WRITE_BYTES = 16 * MiB;

/**
 * The fleet. Sizes are large enough to matter to the policies (GiB of allocation) and the data
 * small enough (a few MiB each, sparse elsewhere) that every copy takes seconds.
 */
export const FLEET: readonly VolumeSpec[] = [
  { name: 'pg-primary-1', sizeGiB: 20, type: 'gold', pool: SSD_A, dataBytes: 8 * MiB, offset: 0, metadata: { app: 'pg' } },
  { name: 'shop-db-1', sizeGiB: 30, type: 'gold', pool: SSD_A, dataBytes: 12 * MiB, offset: 4096, metadata: { app: 'shop' } },
  { name: 'shop-db-2', sizeGiB: 30, type: 'gold', pool: SSD_A, dataBytes: 12 * MiB, offset: 7 * 1024 * MiB, metadata: { app: 'shop' } },
  { name: 'web-1', sizeGiB: 10, type: 'gold', pool: SSD_B, dataBytes: 4 * MiB, offset: 512 * MiB, metadata: { app: 'web' } },
  { name: 'scratch-1', sizeGiB: 20, type: 'standard', pool: HDD_A, dataBytes: 4 * MiB, offset: 0, metadata: {} },
  { name: 'logs-1', sizeGiB: 40, type: 'standard', pool: HDD_B, dataBytes: 16 * MiB, offset: 3 * 1024 * MiB + 123, metadata: { tier: 'hot' } },
  { name: 'archive-1', sizeGiB: 50, type: 'standard', pool: HDD_B, dataBytes: 16 * MiB, offset: 20 * 1024 * MiB, metadata: { tier: 'cold' } },
  { name: 'backup-1', sizeGiB: 30, type: 'standard', pool: HDD_B, dataBytes: 12 * MiB, offset: 1024 * MiB, metadata: { tier: 'cold' } },
  { name: LIVE_VOLUME, sizeGiB: 1, type: 'standard', pool: HDD_B, dataBytes: 0, offset: 0, metadata: { app: 'vm' } },
];

/** Deterministic pseudo-random bytes (xorshift32), so the demo writes the same data every run. */
export function seededBytes(seed: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf;
}

/** A created volume and the checksum of the data written into it. */
export interface SeededVolume {
  readonly id: string;
  readonly spec: VolumeSpec;
  readonly sha256: string | null;
}

/** Creates the fleet on its pools and writes every volume's seeded data; prints what it made. */
export async function createFleet(ctx: DemoContext): Promise<SeededVolume[]> {
  const out: SeededVolume[] = [];
  for (const [i, s] of FLEET.entries()) {
    const v = await ctx.service.createVolume({ sizeGiB: s.sizeGiB, type: s.type, name: s.name, host: s.pool, metadata: s.metadata });
    let sum: string | null = null;
    if (s.dataBytes > 0) {
      const data = seededBytes(1000 + i, s.dataBytes);
      const file = join(ctx.scratch, `${s.name}.bin`);
      await writeFile(file, data);
      await ctx.service.writeVolume(v.id, file, s.offset);
      sum = sha256(data);
    }
    out.push({ id: v.id, spec: s, sha256: sum });
  }
  ctx.say(
    renderTable(
      ['Volume', 'Size GiB', 'Type', 'Pool', 'Labels', 'Data written'],
      out.map((v) => [
        v.spec.name,
        v.spec.sizeGiB,
        v.spec.type,
        v.spec.pool,
        Object.entries(v.spec.metadata).map(([k, val]) => `${k}=${val}`).join(',') || '-',
        v.sha256 ? `${formatBytes(v.spec.dataBytes)} @ ${v.spec.offset} (sha256 ${v.sha256.slice(0, 12)}…)` : 'by its consumer',
      ]),
    ),
  );
  return out;
}

/** The consumer of the attached volume: an NBD client writing a checkable pattern. */
export interface LiveConsumer {
  readonly volumeId: string;
  readonly writer: PatternWriter;
  /** Stops writing and disconnects (idempotent). */
  stop(): Promise<void>;
}

/** True when the live-move tools (QEMU's storage daemon) are installed. */
export function liveToolsInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v qemu-storage-daemon']).status === 0;
}

/** Attaches `volumeId` and starts a consumer writing without pause; resolves once it writes. */
export async function attachConsumer(ctx: DemoContext, volumeId: string): Promise<LiveConsumer> {
  const { address } = await ctx.service.attachVolume(volumeId, { instanceUuid: 'demo-vm' });
  if (!address) throw new AppError('INTERNAL', 'attach gave no consumer address');
  const client = await NbdClient.connect(new URL(address).searchParams.get('socket')!, volumeId);
  const writer = new PatternWriter(client, { blocks: LIVE_WRITE_BYTES / BLOCK, queueDepth: 4, seed: 42 });
  writer.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await writer.stop();
    await client.disconnect();
  };
  try {
    await writer.until(() => writer.acked >= 100, 60_000, 'the consumer to start writing');
  } catch (e) {
    await stop();
    throw e;
  }
  ctx.say(`${LIVE_VOLUME} attached (${address}); its consumer writes without pause from now on (${writer.acked} writes acknowledged so far)`);
  return { volumeId, writer, stop };
}
