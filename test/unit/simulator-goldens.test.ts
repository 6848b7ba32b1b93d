/**
 * Golden tests of the example scenarios in simulations/: each one runs the production solver,
 * planner and executor on the simulated control plane and clock, and its text summary must equal
 * simulations/expected/<name>.txt byte for byte. Runs are deterministic for a seed, so a second run
 * of one scenario must give the identical result (checked on the quickest one).
 *
 * Regenerate the goldens after an intended change with:
 *   UPDATE_GOLDENS=1 npx vitest run test/unit/simulator-goldens.test.ts
 * and review the diff like any other change.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openScenario, productionEngine, renderTextSummary, runScenario, type SimulationResult } from '../../src/simulator/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SIM = join(ROOT, 'simulations');
const UPDATE = process.env['UPDATE_GOLDENS'] === '1';

export async function simulate(name: string): Promise<SimulationResult> {
  const file = join(SIM, `${name}.yaml`);
  const opened = openScenario(file, { displayName: `simulations/${name}.yaml` });
  return runScenario({ ...opened, engine: productionEngine(), displayPath: (p) => relative(ROOT, p) });
}

const EXAMPLES = ['add-backend', 'retire-backend', 'growth-year', 'price-change'] as const;

describe('example scenarios match their goldens', () => {
  test.each(EXAMPLES)('%s', async (name) => {
    const t0 = performance.now();
    const result = await simulate(name);
    const text = renderTextSummary(result);
    const golden = join(SIM, 'expected', `${name}.txt`);
    console.log(`${name}: ${result.totals.movesDone} moves, ${result.totals.movedGiB} GiB, simulated in ${Math.round(performance.now() - t0)} ms`);
    if (UPDATE || !existsSync(golden)) {
      if (!UPDATE) throw new Error(`no golden ${relative(ROOT, golden)}: run with UPDATE_GOLDENS=1 to write it`);
      writeFileSync(golden, text);
    }
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });
});
