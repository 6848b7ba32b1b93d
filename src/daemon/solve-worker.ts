/**
 * The daemon's solve, in a worker thread: the solver's greedy, rounding and polish stages are
 * synchronous work of up to seconds, which would stall the daemon's API (health, progress) if run
 * on its event loop. Receives an inventory and a compiled policy, posts the SolveResult back.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Inventory } from '../model/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { toAppError } from '../shared/index.js';
import { solvePlacement } from '../solver/index.js';

interface SolveJob {
  readonly inventory: Inventory;
  readonly policy: CompiledPolicy;
  readonly timeLimitMs: number;
}

const job = workerData as SolveJob;
solvePlacement(job.inventory, job.policy, { timeLimitMs: job.timeLimitMs, now: () => performance.now() }).then(
  (result) => parentPort?.postMessage({ ok: true, result }),
  (e: unknown) => {
    const err = toAppError(e);
    parentPort?.postMessage({ ok: false, code: err.code, message: err.message });
  },
);
