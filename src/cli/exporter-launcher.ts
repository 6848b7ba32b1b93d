import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExportLauncher, ExportProcess, ExportSpec } from '../blockstore/index.js';
import { AppError } from '../shared/index.js';

/**
 * Starts exporters as detached `ballast _export` processes (they outlive the command that
 * attached the volume) and waits until each serves its socket.
 */
export function makeExportLauncher(opts: { cliPath: string; configFile: string; timeoutMs?: number }): ExportLauncher {
  return async (spec: ExportSpec): Promise<ExportProcess> => {
    mkdirSync(dirname(spec.socketPath), { recursive: true });
    const logFile = spec.pidFile.replace(/\.pid$/, '.log');
    const logFd = openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [opts.cliPath, '--config', opts.configFile, '_export', '--backend', spec.backend, '--pool', spec.pool, '--name-id', spec.nameId, '--size', String(spec.sizeGiB), '--socket', spec.socketPath, '--export-name', spec.exportName, '--pidfile', spec.pidFile],
      { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, BALLAST_FAULT: '' } },
    );
    closeSync(logFd);
    let exited: number | null = null;
    child.once('exit', (code) => (exited = code ?? -1));
    child.unref();
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      let pid = 0;
      try {
        pid = Number(readFileSync(spec.pidFile, 'utf8').trim());
      } catch {
        pid = 0;
      }
      if (pid === child.pid && existsSync(spec.socketPath)) return { pid, socketPath: spec.socketPath, exportName: spec.exportName, pidFile: spec.pidFile };
      if (exited !== null || Date.now() > deadline) {
        if (exited === null) child.kill('SIGKILL');
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
        throw new AppError('DRIVER_ERROR', `exporter for volume-${spec.nameId} did not start${exited !== null ? ` (exit ${exited})` : ' in time'}: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
}
