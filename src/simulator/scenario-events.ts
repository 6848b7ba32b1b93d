/**
 * What each scenario event does to the simulated world, and the line it leaves in the timeline.
 *
 * @module
 */
import type { CompiledPolicy } from '../policy/index.js';
import type { SimulatedControlPlane } from './control-plane.js';
import type { SimFleet, SimPool } from './fleet.js';
import { scopeUsedGiB, type GrowthState } from './growth.js';
import { fleetMonthlyCost } from './inventory-build.js';
import type { PolicyOverlay } from './policy-overlay.js';
import type { EventRecord } from './result.js';
import type { ScenarioEvent } from './scenario-types.js';
import type { FleetTimeline } from './timeline.js';

/** The scenario's additions to the policies, as they accumulate. */
export interface MutableOverlay {
  drains: PolicyOverlay['drains'][number][];
  prices: PolicyOverlay['prices'][number][];
}

/** What events act on. */
export interface EventWorld {
  readonly fleet: SimFleet;
  readonly cp: SimulatedControlPlane;
  readonly timeline: FleetTimeline;
  readonly overlay: MutableOverlay;
  readonly growths: GrowthState[];
  /** The policy in force now (base set plus overlay). */
  policyNow(): CompiledPolicy;
  /** Puts another policy set in force; returns its number of rules. */
  setPolicies(files: readonly string[]): number;
}

/** Applies one event at offset `t` and says what it did. */
export function applyEvent(w: EventWorld, e: ScenarioEvent, t: number): EventRecord {
  const a = e.action;
  let detail = '';
  switch (a.kind) {
    case 'addPools':
      for (const s of a.pools) {
        const p: SimPool = { ...s, ratedIops: null, ratedThroughputBytesPerSec: null, state: 'up', allocatedGiB: 0 };
        w.fleet.addPool(p);
        w.timeline.track(p);
      }
      detail = `${a.pools.reduce((s, p) => s + p.totalGiB, 0)} GiB of capacity added`;
      break;
    case 'removePools': {
      const lost: string[] = [];
      for (const name of a.pools) {
        const gone = w.fleet.removePool(name);
        const gib = gone.reduce((s, v) => s + v.sizeGiB, 0);
        w.timeline.setState(name, 'removed');
        if (gone.length > 0) {
          lost.push(`${name}: ${gone.length} volumes (${gib} GiB)`);
          w.timeline.oneOff('poolRemovedWithVolumes', name, t, `${name} removed with ${gone.length} volumes (${gib} GiB) still on it`);
        }
      }
      detail = lost.length > 0 ? `still holding volumes: ${lost.join('; ')}` : 'empty when removed';
      break;
    }
    case 'drain':
      w.overlay.drains.push({ patterns: a.patterns, origin: e.origin });
      detail = 'pools closed as destinations; their volumes must leave';
      break;
    case 'price':
      w.overlay.prices.unshift({ poolPattern: a.pattern, costPerGiBMonth: a.costPerGiBMonth });
      detail = `monthly cost becomes ${fleetMonthlyCost(w.fleet, w.policyNow()).toFixed(2)}`;
      break;
    case 'failPool': {
      const hit = w.cp.failPool(a.pool);
      const gib = hit.reduce((s, v) => s + v.sizeGiB, 0);
      w.timeline.setState(a.pool, 'down');
      detail = `${hit.length} volumes (${gib} GiB) unavailable`;
      if (hit.length > 0) w.timeline.oneOff('poolFailed', a.pool, t, `${a.pool} failed with ${hit.length} volumes (${gib} GiB) on it`);
      break;
    }
    case 'policies':
      detail = `${w.setPolicies(a.files)} rules in force`;
      break;
    case 'growth': {
      const g: GrowthState = { spec: a.growth, origin: e.origin, usedAtStartGiB: scopeUsedGiB(w.fleet, a.growth), appliedGiB: 0, refusedGiB: 0, firstRefusedAtMs: null };
      w.growths.push(g);
      detail = `from ${g.usedAtStartGiB} GiB`;
      break;
    }
  }
  return { atMs: t, label: e.label, origin: e.origin, detail };
}
