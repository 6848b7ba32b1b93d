import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeExportLauncher, serviceOptions } from '../../src/cli/index.js';
import { builtinDrivers } from '../../drivers/index.js';
import { BlockService, type FaultInjector, type VolumeDriver } from '../../src/blockstore/index.js';
import { loadConfig, writeInitConfig, type LoadedConfig } from '../../src/config/index.js';
import { MiB } from '../../src/shared/index.js';

/** A small deployment: two back-ends (raw `fast`, chunked `capacity`), small pools for capacity tests. */
export const SMALL_CONFIG = `apiVersion: ballast/v1
dataDir: ./data
host: ballast
copy: { bufferMiB: 1 }
backends:
  - name: fast
    driver: raw
    pools:
      - { name: ssd-a, size: 20GiB, provisioning: thin, capabilities: { tier: gold } }
      - { name: ssd-b, size: 20GiB, provisioning: thin, capabilities: { tier: gold } }
  - name: capacity
    driver: chunked
    options: { chunkSizeMiB: 1 }
    pools:
      - { name: hdd-a, size: 40GiB, provisioning: thin }
      - { name: hdd-b, size: 10GiB, provisioning: thick }
volumeTypes:
  - name: gold
    extraSpecs: { volume_backend_name: fast, "capabilities:tier": gold }
  - name: gold-plus
    extraSpecs: { volume_backend_name: fast, "capabilities:tier": gold }
  - name: gold-prealloc
    extraSpecs: { volume_backend_name: fast, "raw:preallocate": "true" }
  - name: standard
    extraSpecs: { volume_backend_name: capacity }
  - name: any
    extraSpecs: {}
defaultVolumeType: standard
`;

export interface Deployment {
  readonly dir: string;
  readonly config: LoadedConfig;
  /** With `hypervisor`, attachments are real (qemu-storage-daemon; exporters run the built CLI). */
  open(opts?: { faults?: FaultInjector; hypervisor?: boolean }): Promise<BlockService>;
  /** A driver outside the service, to look at what is really on disk. */
  driver(backend: string): VolumeDriver;
  cleanup(): Promise<void>;
}

export async function makeDeployment(configText: string | 'init' = SMALL_CONFIG): Promise<Deployment> {
  const dir = await mkdtemp(join(tmpdir(), 'ballast-it-'));
  const file = configText === 'init' ? await writeInitConfig(dir) : join(dir, 'ballast.yaml');
  if (configText !== 'init') await writeFile(file, configText);
  const config = await loadConfig(file);
  const opened: BlockService[] = [];
  return {
    dir,
    config,
    async open(opts = {}) {
      const s = await BlockService.open(
        serviceOptions(config, {
          ...(opts.faults ? { faults: opts.faults } : {}),
          // Exporters run the built CLI (this file runs from the sources under vitest).
          hypervisor: opts.hypervisor
            ? { runDir: join(config.dataDir, '.run', 'hv'), launchExporter: makeExportLauncher({ cliPath: resolve('dist/src/cli/main.js'), configFile: config.configFile }) }
            : undefined,
        }),
      );
      opened.push(s);
      return s;
    },
    driver(backend) {
      const b = config.backends.find((x) => x.name === backend)!;
      return builtinDrivers[b.driver]!(b);
    },
    async cleanup() {
      for (const s of opened) {
        try {
          s.close();
        } catch {
          // already closed by the test
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `bytes` of seeded random data at `offset` and returns the data (for later comparison). */
export async function fillVolume(service: BlockService, dir: string, volumeId: string, bytes = 3 * MiB + 12345, offset = 4096 + 7): Promise<{ data: Buffer; offset: number }> {
  const data = randomBytes(bytes);
  const file = join(dir, `fill-${volumeId}.bin`);
  await writeFile(file, data);
  await service.writeVolume(volumeId, file, offset);
  return { data, offset };
}

/** Reads a volume back (through the service, into a sparse file) and returns [offset, offset+length). */
export async function readBack(service: BlockService, dir: string, volumeId: string, offset: number, length: number): Promise<Buffer> {
  const file = join(dir, `read-${volumeId}.bin`);
  await service.readVolume(volumeId, file);
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
    await rm(file);
  }
}

/** The live volume object names (name ids) present in a pool of a back-end. */
export async function objectsIn(d: Deployment, backend: string, pool: string): Promise<string[]> {
  return (await d.driver(backend).listVolumes(pool)).sort();
}

/** Byte equality without vitest's deep-equal (which is very slow on large Buffers). */
export function sameBytes(actual: Buffer, expected: Buffer): string {
  if (actual.equals(expected)) return 'identical';
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) if (actual[i] !== expected[i]) return `first difference at byte ${i}`;
  return `lengths differ: ${actual.length} vs ${expected.length}`;
}
