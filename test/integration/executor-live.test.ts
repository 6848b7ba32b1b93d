import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, readBack, sameBytes, SMALL_CONFIG, type Deployment } from './deployment.js';
import { every, FAST_A, HDD_A, harness, move, planOf, settings, type Harness } from './executor-fixtures.js';
import { BLOCK, NbdClient, PatternWriter, verifyImage } from './nbd-writer.js';

// The executor moving attached volumes by live copy (real qemu-storage-daemon) while their
// consumers write, under the in-use limit, beside an ordinary copy.
const CLI = resolve('dist/src/cli/main.js');
const CONFIG = SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 192MiB/s }');
const WRITE_BLOCKS = (16 * MiB) / BLOCK;

let d: Deployment;
let s: BlockService;
let h: Harness;
beforeAll(() => {
  for (const tool of ['qemu-storage-daemon', 'qemu-img']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: install qemu-system-common and qemu-utils (.ci/run does)`);
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});
afterEach(async () => {
  await h?.close();
  if (s) for (const v of s.listVolumes()) if (v.status === 'in-use') await s.detachVolume(v.id).catch(() => undefined);
  await d.cleanup();
});

describe('live copies through the executor', () => {
  test('attached volumes move one at a time (in-use limit 1) while an available one moves beside them; no acknowledged write lost', async () => {
    d = await makeDeployment(CONFIG);
    s = await d.open({ hypervisor: true });
    h = harness(d, s);
    const consumers: { v: { id: string }; client: NbdClient; writer: PatternWriter }[] = [];
    for (let i = 0; i < 2; i++) {
      const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: `vm${i}` });
      const { address } = await s.attachVolume(v.id, { instanceUuid: `vm-${i}` });
      const client = await NbdClient.connect(new URL(address!).searchParams.get('socket')!, v.id);
      const writer = new PatternWriter(client, { blocks: WRITE_BLOCKS, queueDepth: 4, seed: 31 + i });
      writer.start();
      await writer.until(() => writer.acked >= 100, 30_000, '100 writes before the run');
      consumers.push({ v, client, writer });
    }
    const plain = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: 'plain' });
    const filled = await fillVolume(s, d.dir, plain.id, 16 * MiB, 0);
    const plan = planOf([
      ...consumers.map((c, i) => move(`m00${i + 1}`, c.v.id, FAST_A, HDD_A, { kind: 'live-copy', attached: true, volumeName: `vm${i}` })),
      move('m003', plain.id, FAST_A, HDD_A, { volumeName: 'plain' }),
    ]);
    let maxLive = 0;
    let maxTotal = 0;
    const stop = every(5, () => {
      const open = s.migrations(100).filter((m) => m.finishedAtMs === null);
      maxTotal = Math.max(maxTotal, open.length);
      maxLive = Math.max(maxLive, open.filter((m) => consumers.some((c) => c.v.id === m.volumeId)).length);
    });
    const summary = await h.start(plan, settings({ maxConcurrentInUse: 1, maxConcurrentTotal: 3 })).execute();
    stop();
    expect(summary.counts.done, JSON.stringify(summary)).toBe(3);
    expect(maxLive).toBe(1);
    expect(maxTotal).toBeGreaterThanOrEqual(2);
    for (const c of consumers) {
      expect(s.getVolume(c.v.id)).toMatchObject({ host: HDD_A, status: 'in-use', migrationStatus: 'success' });
      await c.writer.stop();
      await c.client.disconnect();
      expect(c.writer.errors).toEqual([]);
      await s.detachVolume(c.v.id);
      const out = join(d.dir, `verify-${c.v.id}.raw`);
      await s.readVolume(c.v.id, out);
      const result = await verifyImage(out, WRITE_BLOCKS * BLOCK, c.writer.last, { only: new Set(c.writer.last.keys()) });
      expect(result.bad).toEqual([]);
    }
    expect(sameBytes(await readBack(s, d.dir, plain.id, filled.offset, filled.data.length), filled.data)).toBe('identical');
  });
});
