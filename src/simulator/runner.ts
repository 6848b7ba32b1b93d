/**
 * Running a scenario: at every tick of the simulated clock, apply the events due, bring growth up
 * to date, sample the fleet, and at each rebalancing time run the production pipeline (inventory →
 * solve → plan → execute on the simulated control plane). Everything happens on the discrete-event
 * clock, so a year runs in seconds, and the same seed gives the same result.
 *
 * @module
 */
import type { Inventory } from '../model/index.js';
import { applyOverlay, type PolicyOverlay } from './policy-overlay.js';
import { compilePolicyFiles, type CompiledPolicy } from '../policy/index.js';
import { FileValidationError } from '../shared/index.js';
import { SimClock } from './clock.js';
import { SimulatedControlPlane } from './control-plane.js';
import type { Engine } from './engine.js';
import { SimFleet } from './fleet.js';
import { applyGrowth, VolumeNamer, type GrowthState } from './growth.js';
import { fleetMonthlyCost } from './inventory-build.js';
import { Rebalancer } from './rebalance.js';
import { SIMULATION_RESULT_SCHEMA, type EventRecord, type SimulatedMove, type SimulationResult } from './result.js';
import { applyEvent, type MutableOverlay } from './scenario-events.js';
import type { Scenario } from './scenario-types.js';
import { FleetTimeline } from './timeline.js';

export { digest } from './rebalance.js';

/** What a run needs: the checked scenario, its base fleet, the policy texts, and the engine. */
export interface RunInput {
  readonly scenario: Scenario;
  readonly base: Inventory;
  /** Text of every policy file the scenario names (absolute path → text). */
  readonly policyTexts: ReadonlyMap<string, string>;
  readonly engine: Engine;
  /** How a path is shown in reports (relative to the repository, say). */
  readonly displayPath?: (absPath: string) => string;
}

/** The offsets at which something happens: samples, rebalancing runs, events, growth ends. */
function schedule(sc: Scenario): { ticks: number[]; samples: number[]; rebalances: Set<number> } {
  const samples: number[] = [];
  for (let t = 0; t < sc.horizonMs; t += sc.sampleEveryMs) samples.push(t);
  samples.push(sc.horizonMs);
  const rebalances: number[] = [];
  if (sc.rebalance) for (let t = sc.rebalance.firstMs; t < sc.horizonMs; t += sc.rebalance.everyMs) rebalances.push(t);
  const growthEnds = sc.events.flatMap((e) => (e.action.kind === 'growth' ? [e.action.growth.untilMs] : []));
  const ticks = [...new Set([...samples, ...rebalances, ...sc.events.map((e) => e.atMs), ...growthEnds])].filter((t) => t <= sc.horizonMs).sort((a, b) => a - b);
  return { ticks, samples, rebalances: new Set(rebalances) };
}

function sumUsed(fleet: SimFleet): number {
  let s = 0;
  for (const v of fleet.volumes.values()) s += v.sizeGiB;
  return s;
}

/** Runs a scenario to its horizon. Throws POLICY_INVALID when a policy set does not compile. */
export async function runScenario(input: RunInput): Promise<SimulationResult> {
  const { scenario: sc, base, engine } = input;
  const show = input.displayPath ?? ((p: string) => p);
  const { ticks, samples, rebalances } = schedule(sc);
  const clock = new SimClock(sc.startMs);
  const fleet = SimFleet.fromInventory(base);
  const timeline = new FleetTimeline(fleet, samples);
  const cp = new SimulatedControlPlane(fleet, clock, sc.timing, { name: `scenario ${sc.name}`, seed: sc.seed, onChange: () => timeline.observePeaks() });
  const namer = new VolumeNamer();
  const usedStart = sumUsed(fleet);
  const volumesStart = fleet.volumes.size;

  const compile = (files: readonly string[]): CompiledPolicy => {
    const r = compilePolicyFiles(files.map((f) => ({ file: show(f), text: input.policyTexts.get(f) ?? '' })));
    if (!r.policy) throw new FileValidationError('POLICY_INVALID', files.map(show).join(', '), r.problems);
    return r.policy;
  };
  let basePolicy = compile(sc.policies);
  const overlay: MutableOverlay = { drains: [], prices: [] };
  const policyNow = (): CompiledPolicy => applyOverlay(basePolicy, overlay as PolicyOverlay);
  const growths: GrowthState[] = [];
  const events: EventRecord[] = [];
  const world = {
    fleet,
    cp,
    timeline,
    overlay,
    growths,
    policyNow,
    setPolicies: (files: readonly string[]): number => {
      basePolicy = compile(files);
      return basePolicy.rules.length;
    },
  };
  const rebalancer = new Rebalancer({ scenarioName: sc.name, sourceName: show(sc.file), startMs: sc.startMs, solveTimeLimitMs: sc.solveTimeLimitMs, fleet, cp, clock, engine, timeline, policyNow });

  const sampleSet = new Set(samples);
  for (const t of ticks) {
    await clock.advanceTo(sc.startMs + t);
    for (const e of sc.events) if (e.atMs === t) events.push(applyEvent(world, e, t));
    for (const g of growths) if (g.spec.fromMs <= t) timeline.addGrowth(applyGrowth(fleet, g, t - g.spec.fromMs, namer, clock.nowMs()));
    timeline.observePeaks();
    if (sampleSet.has(t)) timeline.sample(t, policyNow());
    if (rebalances.has(t)) await rebalancer.start(t);
  }
  await rebalancer.stopAtHorizon();
  let growthRefusedGiB = 0;
  for (const g of growths) {
    growthRefusedGiB += g.refusedGiB;
    if (g.refusedGiB > 0) timeline.oneOff('growthRefused', 'pool' in g.spec.scope ? g.spec.scope.pool : `type ${g.spec.scope.volumeType}`, g.firstRefusedAtMs ?? g.spec.fromMs, `${g.refusedGiB} GiB of growth found no pool with room (${g.origin})`);
  }

  const runs = rebalancer.runs.sort((a, b) => a.index - b.index);
  const relative = (ms: number | null): number | null => (ms === null ? null : ms - sc.startMs);
  const moves: SimulatedMove[] = cp.moveLog().map((m) => ({
    run: rebalancer.runOfRef.get(m.ref) ?? runs.length,
    volume: m.volumeName,
    sizeGiB: m.sizeGiB,
    from: m.from,
    to: m.to,
    kind: m.kind,
    startMs: relative(m.acceptedAtMs)!,
    endMs: relative(m.finishedAtMs),
    outcome: m.phase === 'success' ? 'success' : m.phase === 'error' ? 'error' : m.phase === 'cancelled' ? 'cancelled' : 'running',
    error: m.error ? `[${m.error.code}] ${m.error.message}` : null,
  }));
  const movedOf = (s: number): number => moves.filter((m) => m.outcome === 'success' && m.endMs !== null && m.endMs <= s && m.from !== m.to).reduce((a, m) => a + m.sizeGiB, 0);
  const moved = samples.map(movedOf);
  const finalPolicy = policyNow();
  const ended = moves.filter((m) => m.outcome !== 'running');
  return {
    schema: SIMULATION_RESULT_SCHEMA,
    scenario: {
      name: sc.name,
      description: sc.description,
      file: show(sc.file),
      seed: sc.seed,
      startMs: sc.startMs,
      horizonMs: sc.horizonMs,
      rebalanceEveryMs: sc.rebalance?.everyMs ?? null,
      policies: sc.policies.map(show),
      base: sc.base.kind === 'inventory' ? show(sc.base.path) : `generated: ${sc.base.pools} pools, ${sc.base.volumes} volumes, seed ${sc.base.seed}`,
    },
    sampleTimesMs: samples,
    pools: timeline.poolSeries(finalPolicy, clock.nowMs() - sc.startMs),
    costPerMonth: timeline.costs,
    movedGiB: moved,
    runs,
    moves,
    events,
    violations: timeline.violations(),
    totals: {
      runs: runs.length,
      movesDone: ended.filter((m) => m.outcome === 'success').length,
      movesFailed: ended.filter((m) => m.outcome === 'error').length,
      movesCancelled: ended.filter((m) => m.outcome === 'cancelled').length,
      movedGiB: moved[moved.length - 1] ?? 0,
      moveTimeMs: runs.reduce((s, r) => s + r.makespanMs, 0),
      costPerMonthStart: timeline.costs[0] ?? 0,
      costPerMonthEnd: fleetMonthlyCost(fleet, finalPolicy),
      volumesStart,
      volumesEnd: fleet.volumes.size,
      usedGiBStart: usedStart,
      usedGiBEnd: sumUsed(fleet),
      growthRefusedGiB,
    },
  };
}
