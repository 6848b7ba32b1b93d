import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isProcessAlive } from '../hypervisor/index.js';
import { AppError } from '../shared/index.js';
import type { VolumeDriver, VolumeLocator } from './driver-port.js';
import { startNbdServer, type NbdServerHandle } from './nbd-server.js';

/**
 * The export side of volumes whose driver has no file a hypervisor can open (`chunked`): a small
 * long-lived process per exported volume serves the driver's handle over NBD on a unix socket (as
 * Cinder's target helpers export LVM volumes over iSCSI), and QEMU opens that socket.
 */
export interface ExportSpec {
  readonly backend: string;
  readonly pool: string;
  readonly nameId: string;
  readonly sizeGiB: number;
  readonly socketPath: string;
  readonly exportName: string;
  readonly pidFile: string;
}

export interface ExportProcess {
  readonly pid: number;
  readonly socketPath: string;
  readonly exportName: string;
  readonly pidFile: string;
}

/** Starts an exporter process (the composition root knows how: it spawns `ballast _export`). */
export type ExportLauncher = (spec: ExportSpec) => Promise<ExportProcess>;

/** True when the exporter recorded in `p` still runs. */
export function exporterAlive(p: Pick<ExportProcess, 'pid' | 'pidFile'>): boolean {
  if (!isProcessAlive(p.pid)) return false;
  try {
    return Number(readFileSync(p.pidFile, 'utf8').trim()) === p.pid;
  } catch {
    return false;
  }
}

/** Stops an exporter (SIGTERM, then SIGKILL after `timeoutMs`) and waits until it is gone. */
export async function stopExporter(p: Pick<ExportProcess, 'pid' | 'pidFile' | 'socketPath'>, timeoutMs = 10_000): Promise<void> {
  if (exporterAlive(p)) {
    process.kill(p.pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isProcessAlive(p.pid)) {
      if (Date.now() > deadline) {
        process.kill(p.pid, 'SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const hardDeadline = Date.now() + timeoutMs;
    while (isProcessAlive(p.pid) && Date.now() < hardDeadline) await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(p.pidFile, { force: true });
  rmSync(p.socketPath, { force: true });
}

/**
 * The body of an exporter process: opens the volume, serves it until SIGTERM/SIGINT, then closes
 * the server (in-flight requests answered), flushes and closes the handle and removes its files.
 */
export async function serveExport(driver: VolumeDriver, spec: ExportSpec, onError: (e: AppError) => void): Promise<void> {
  const loc: VolumeLocator = { nameId: spec.nameId, pool: spec.pool, sizeGiB: spec.sizeGiB };
  const handle = await driver.openVolume(loc);
  let server: NbdServerHandle;
  try {
    server = await startNbdServer({ socketPath: spec.socketPath, exportName: spec.exportName, handle, onError });
  } catch (e) {
    await handle.close();
    throw e;
  }
  writeFileSync(spec.pidFile, `${process.pid}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.close();
  await handle.flush();
  await handle.close();
  rmSync(spec.pidFile, { force: true });
}
