import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, objectsIn, readBack, sameBytes, SMALL_CONFIG, type Deployment } from './deployment.js';

// A kill -9 in the middle of a migration, with a real child process running the real CLI.
const CLI = resolve('dist/src/cli/main.js');
// Copies are throttled so the kill lands mid-copy however fast the disk is.
const THROTTLED = SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 8MiB/s }');

let d: Deployment;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});
afterEach(async () => {
  await d?.cleanup();
});

function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, BALLAST_CONFIG: d.config.configFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stderr })),
  );
  return { child, exited };
}

async function setup(sizeBytes: number) {
  d = await makeDeployment(THROTTLED);
  const s = await d.open();
  const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: 'ballast@fast#ssd-a' });
  const filled = await fillVolume(s, d.dir, v.id, sizeBytes, 0);
  s.close();
  return { v, ...filled };
}

describe('crash safety: kill -9 during a migration', () => {
  test('killed mid-copy → next start rolls it back: volume on its source, data intact, nothing left behind', async () => {
    const { v, data, offset } = await setup(24 * MiB);
    const run = startCli(['migrate', v.id, 'ballast@capacity#hdd-a', '--wait'], { BALLAST_FAULT: `crash:mid-copy:${4 * MiB}` });
    const { signal, stderr } = await run.exited;
    expect(signal, stderr).toBe('SIGKILL');

    const s = await d.open();
    expect(s.recovery).toEqual([expect.objectContaining({ volumeId: v.id, action: 'rolled-back' })]);
    expect(s.recovery[0]!.message).toMatch(/interrupted during copying/);
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'available', migrationStatus: 'error' });
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
    expect(s.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
    expect(await objectsIn(d, 'capacity', 'hdd-a')).toEqual([]);
    expect(s.ctx.db.prepare('SELECT COUNT(*) AS n FROM reservations').get()).toEqual({ n: 0 });
    // not stuck: the same move now succeeds
    expect((await s.migrateVolume(v.id, 'ballast@capacity#hdd-a')).outcome).toBe('success');
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
  });

  test('killed after the row swap → next start finishes it: volume on the destination, old data deleted', async () => {
    const { v, data, offset } = await setup(2 * MiB);
    const run = startCli(['migrate', v.id, 'ballast@capacity#hdd-a', '--wait'], { BALLAST_FAULT: 'crash:after-swap' });
    expect((await run.exited).signal).toBe('SIGKILL');
    const s = await d.open();
    expect(s.recovery).toEqual([expect.objectContaining({ volumeId: v.id, action: 'rolled-forward' })]);
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@capacity#hdd-a', status: 'available', migrationStatus: 'success' });
    expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([]);
    expect(s.listVolumes(true).map((x) => x.id)).toEqual([v.id]);
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
  });

  test('killed from outside while copying (lock_volume) → a live run is never "recovered"; after the kill it is', async () => {
    const { v, data, offset } = await setup(48 * MiB);
    const run = startCli(['migrate', v.id, 'ballast@capacity#hdd-a', '--wait', '--lock-volume']);
    // Wait (on a condition, bounded) until the copy has started, looking from another process's view.
    const watcher = await d.open();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = watcher.latestMigration(v.id);
      if (m && m.phase === 'copying' && m.bytesCopied > 0) break;
      if (Date.now() > deadline) throw new Error(`copy never started: ${JSON.stringify(m)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // While the child is alive its migration is not touched by another process's recovery.
    const concurrent = await d.open();
    expect(concurrent.recovery).toEqual([]);
    expect(concurrent.getVolume(v.id)).toMatchObject({ status: 'maintenance', migrationStatus: 'migrating' });
    concurrent.close();
    watcher.close();
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');

    const s = await d.open();
    expect(s.recovery).toEqual([expect.objectContaining({ volumeId: v.id, action: 'rolled-back' })]);
    expect(s.getVolume(v.id)).toMatchObject({ host: 'ballast@fast#ssd-a', status: 'available', migrationStatus: 'error' });
    expect(sameBytes(await readBack(s, d.dir, v.id, offset, data.length), data)).toBe('identical');
    expect(await objectsIn(d, 'capacity', 'hdd-a')).toEqual([]);
    expect(existsSync(join(d.config.dataDir, '.run', 'locks'))).toBe(true);
  });
});
