import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './cli-helpers.js';

// The daemon solves in a worker thread, so its event loop (the API: health, progress) keeps turning
// while a plan of a 20,000-volume fleet is solved. The built code is used, as the daemon runs it.
test('the daemon solves off its event loop: timers keep firing during a multi-second solve', async () => {
  const dist = (p: string) => pathToFileURL(join(REPO_ROOT, 'dist', 'src', p)).href;
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'daemon', 'solve-worker.js'))) throw new Error("dist is missing: run 'npm run build' first (npm test does)");
  const { planFrom } = (await import(dist('daemon/index.js'))) as typeof import('../../src/daemon/index.js');
  const { generateFleet, fleetPolicy } = (await import(dist('solver/index.js'))) as typeof import('../../src/solver/index.js');
  const inv = generateFleet({ volumes: 20_000, pools: 200, seed: 3 });
  const policy = fleetPolicy(inv);
  let maxGap = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 20);
  const started = performance.now();
  try {
    const plan = await planFrom(inv, policy, 60_000, inv.takenAtMs);
    expect(plan.moves.length).toBeGreaterThan(0);
  } finally {
    clearInterval(tick);
  }
  maxGap = Math.max(maxGap, performance.now() - last); // a loop blocked to the end never ticked at all
  const solveMs = performance.now() - started;
  expect(solveMs).toBeGreaterThan(1000); // big enough that a solve on this thread would show
  expect(maxGap, `longest pause of the event loop ${maxGap.toFixed(0)} ms during a ${solveMs.toFixed(0)} ms solve`).toBeLessThan(solveMs / 3);
});
