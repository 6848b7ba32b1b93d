/**
 * The planning half of a cycle: the inventory now (control plane joined with telemetry and
 * prices), then solver and planner into a plan with a deterministic id.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TelemetryConfig } from '../config/index.js';
import type { FleetReader, Inventory, Plan } from '../model/index.js';
import { makePlan } from '../planner/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { AppError, uuidGenerator, type Clock, type ErrorCode } from '../shared/index.js';
import { solvePlacement, type SolveResult } from '../solver/index.js';
import { buildInventory, resolvePrices, type PriceCatalogue, type TelemetryStore } from '../telemetry/index.js';

/** What an inventory is built from. */
export interface PlanningDeps {
  readonly controlPlane: FleetReader;
  readonly telemetry: TelemetryStore;
  readonly telemetryConfig: Pick<TelemetryConfig, 'windowMs' | 'growthWindowMs' | 'maxAgeMs'>;
  readonly catalogue: PriceCatalogue | null;
  readonly clock: Clock;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The inventory now; TELEMETRY_STALE when a pool's newest capacity sample is too old. */
export async function inventoryNow(d: PlanningDeps): Promise<Inventory> {
  const t = d.telemetryConfig;
  let prices;
  if (d.catalogue) {
    const [pools, types] = await Promise.all([d.controlPlane.listPools(), d.controlPlane.listVolumeTypes()]);
    prices = resolvePrices(d.catalogue, pools, types);
  }
  return buildInventory(d.controlPlane, d.telemetry, {
    clock: d.clock,
    ids: uuidGenerator,
    windowMs: t.windowMs,
    growthWindowMs: t.growthWindowMs,
    maxAgeMs: t.maxAgeMs,
    ...(prices ? { prices } : {}),
  });
}

/**
 * Solves in a worker thread (`solve-worker.js`) so the API keeps answering while a plan is solved.
 * From TypeScript sources (the in-process tests run them through vitest's loader, which a worker
 * thread does not have) the solve runs on this thread instead.
 */
async function solveOffLoop(inventory: Inventory, policy: CompiledPolicy, timeLimitMs: number): Promise<SolveResult> {
  const url = new URL('./solve-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.js') || !existsSync(fileURLToPath(url))) {
    return solvePlacement(inventory, policy, { timeLimitMs, now: () => performance.now() });
  }
  const worker = new Worker(url, { workerData: { inventory, policy, timeLimitMs } });
  try {
    const msg = await new Promise<{ ok: true; result: SolveResult } | { ok: false; code: ErrorCode; message: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AppError('INTERNAL', `the solver's worker exited (code ${code}) without an answer`)));
    });
    if (!msg.ok) throw new AppError(msg.code, msg.message);
    return msg.result;
  } finally {
    void worker.terminate();
  }
}

/**
 * Solves and makes a plan made at `nowMs` (id: time + digest of inventory and policy, as
 * `ballast plan` names them). PLAN_REFUSED, with conflicts and relaxations, when the policies
 * cannot be met.
 */
export async function planFrom(inventory: Inventory, policy: CompiledPolicy, timeLimitMs: number, nowMs: number): Promise<Plan> {
  const result = await solveOffLoop(inventory, policy, timeLimitMs);
  if (result.infeasibility) {
    const lines = [...result.infeasibility.conflicts.map((c) => `conflict: ${c}`), ...result.infeasibility.relaxations.map((r) => `closest relaxation: ${r}`)];
    throw new AppError('PLAN_REFUSED', `the policies cannot all be met for inventory ${inventory.id}: ${lines.join('; ')}`, { details: { ...result.infeasibility } });
  }
  const policyDigest = `sha256:${sha256(JSON.stringify(policy))}`;
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const planId = `plan-${stamp}-${sha256(`${inventory.id}\n${policyDigest}`).slice(0, 8)}`;
  return makePlan(inventory, policy, result, { planId, nowMs, policyDigest });
}
