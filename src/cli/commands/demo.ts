/**
 * `ballast demo`: Ballast's main job, end to end, on a fresh embedded deployment: a fleet of
 * volumes holding real data on an unbalanced layout (one attached, its consumer writing), telemetry
 * collected and an inventory built, a plan made under the repository's policies, the plan applied
 * by the executor, and every result checked (placement, status, every byte, every acknowledged
 * write). The steps live in `./demo/`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { builtinDrivers } from '../../../drivers/index.js';
import { BlockService, faultsFromEnv, poolView } from '../../blockstore/index.js';
import { loadConfig, writeInitConfig } from '../../config/index.js';
import { EmbeddedControlPlane } from '../../controlplane/index.js';
import { limitShareOf } from '../../planner/index.js';
import { AppError, formatDuration } from '../../shared/index.js';
import { renderTable, reportError, type CliIo } from '../io.js';
import { serviceOptions } from '../service-factory.js';
import { applyPlan } from './demo/apply.js';
import { heading, type DemoContext } from './demo/context.js';
import { attachConsumer, createFleet, LIVE_VOLUME, liveToolsInstalled, type LiveConsumer } from './demo/fleet.js';
import { collectAndBuild } from './demo/inventory.js';
import { demoPolicies, describePolicies, planMoves } from './demo/plan.js';
import { retypeOnDemand } from './demo/retype.js';
import { checkLive, checkRun, checkVolumes } from './demo/verify.js';

/** Registers `ballast demo [--dir DIR]`. */
export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('set up a demo deployment with real data, then collect telemetry, plan under the policies, apply the plan and check every byte')
    .option('--dir <dir>', 'directory for the demo deployment (recreated)', '.ballast-demo')
    .action(async (opts: { dir: string }) => {
      try {
        await runDemo(io, resolve(opts.dir));
      } catch (e) {
        reportError(io, e, false);
      }
    });
}

/** Marks a directory the demo made, so that it only ever recreates its own. */
const MARKER = '.ballast-demo';

/** Empties `dir` when it is missing, empty or an earlier demo's; refuses anything else (nothing is deleted). */
async function recreate(dir: string): Promise<void> {
  // An earlier demo without the marker (before it existed) has its configuration and scratch folder.
  const demoMade = existsSync(join(dir, MARKER)) || (existsSync(join(dir, 'ballast.yaml')) && existsSync(join(dir, 'scratch')));
  if (existsSync(dir) && !demoMade && (await readdir(dir)).length > 0) {
    throw new AppError('INVALID_INPUT', `refusing to recreate ${dir}: it is not empty and not a directory ballast demo made (no ${MARKER} file in it); choose another --dir`);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MARKER), 'made by ballast demo: recreated by every run\n');
}

async function runDemo(io: CliIo, dir: string): Promise<void> {
  const startedAt = Date.now();
  await recreate(dir);
  const file = await writeInitConfig(dir);
  const config = await loadConfig(file, { driverNames: Object.keys(builtinDrivers) });
  const scratch = join(dir, 'scratch');
  await mkdir(scratch, { recursive: true });
  // BALLAST_FAULT (test harnesses only, as every CLI command reads it) lets a test see the demo fail.
  const faults = faultsFromEnv(process.env['BALLAST_FAULT'], (stage) => new AppError('DRIVER_ERROR', `injected fault at ${stage}`));
  const service = await BlockService.open(serviceOptions(config, { faults }));
  const controlPlane = new EmbeddedControlPlane(service, { name: config.dataDir });
  const ctx: DemoContext = { io, dir, scratch, config, service, controlPlane, say: (s) => io.stdout(s) };
  let live: LiveConsumer | null = null;
  try {
    heading(ctx, 1, `A fresh embedded deployment (ballast init's template): ${file}`);
    ctx.say(renderTable(['Pool', 'Total GiB', 'Provisioning', 'Reserved %', 'Backend name'], (await service.listPools()).map(poolView).map((p) => [p.name, p.capabilities['total_capacity_gb'], p.capabilities['thin_provisioning_support'] ? 'thin' : 'thick', p.capabilities['reserved_percentage'], p.capabilities['volume_backend_name']])));

    heading(ctx, 2, 'A fleet holding real data, badly placed: ssd-a above the gold limit with two shop replicas on it, hdd-b to be drained');
    const fleet = await createFleet(ctx);
    const liveVolume = fleet.find((v) => v.spec.name === LIVE_VOLUME)!;
    if (liveToolsInstalled()) live = await attachConsumer(ctx, liveVolume.id);
    else ctx.say(`(${LIVE_VOLUME} stays detached: qemu-storage-daemon is not installed, so no live move; run scripts/install-system-deps.sh to see one)`);

    heading(ctx, 3, 'Telemetry collected and the inventory built (as ballast telemetry collect / inventory save)');
    const policies = await demoPolicies(ctx);
    const { policy } = policies;
    const inventory = await collectAndBuild(ctx, (p) => limitShareOf(policy, p));

    heading(ctx, 4, `A plan under the repository's policies (as ballast plan --policy ${policies.folder})`);
    describePolicies(ctx, policies);
    const plan = await planMoves(ctx, inventory, policy);
    const kinds = [...new Set(plan.moves.map((m) => m.kind))].sort();
    ctx.say(`Move kinds in the plan: ${kinds.join(', ')}`);

    heading(ctx, 5, 'The plan applied by the executor (as ballast apply --yes --ignore-windows)');
    const ackedBefore = live?.writer.acked ?? 0;
    const summary = await applyPlan(ctx, plan, policy);

    heading(ctx, 6, 'Checks: every move done, every volume where the plan said and settled, every byte identical');
    checkRun(summary, plan);
    await checkVolumes(ctx, plan, fleet);
    if (live) {
      await checkLive(ctx, live, ackedBefore);
      live = null;
    }

    heading(ctx, 7, 'By hand: retype scratch-1 standard → gold with --migration-policy on-demand (chunked → raw, across drivers)');
    await retypeOnDemand(ctx, fleet.find((v) => v.spec.name === 'scratch-1')!);

    ctx.say('');
    ctx.say(renderTable(['Name', 'Status', 'Migration Status', 'Size', 'Type', 'Host'], service.listVolumes().map((v) => [v.name, v.status, v.migrationStatus, v.sizeGiB, service.typeById(v.volumeTypeId)?.name, v.host])));
    ctx.say(`\nAll checks passed in ${formatDuration(Date.now() - startedAt)}: ${summary.counts.done} planned moves done (${kinds.join(', ')}), every byte read back identical.`);
    ctx.say(`The deployment stays in ${dir}. Try: BALLAST_CONFIG=${file} npx ballast run list`);
  } finally {
    if (live) {
      await live.stop().catch(() => undefined);
      await service.detachVolume(live.volumeId).catch(() => undefined);
    }
    await controlPlane.close();
    service.close();
  }
}
