import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
type ExecError = Error & { code: number; stdout: string; stderr: string };
const CLI = resolve('dist/src/cli/main.js');

// The README's first command runs this demo: the main job end to end (telemetry, inventory, plan
// under the repository's policies, the executor, checks of every byte), on the built CLI.
test('ballast demo: collects, plans under the policies, applies with the executor (one move live), and every check passes', async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const dir = await mkdtemp(join(tmpdir(), 'ballast-demo-'));
  const demo = join(dir, 'demo');
  try {
    const started = Date.now();
    const { stdout, stderr } = await run(process.execPath, [CLI, 'demo', '--dir', demo], { maxBuffer: 16 * 1024 * 1024 });
    const seconds = (Date.now() - started) / 1000;
    expect(stderr).not.toContain('ERROR');
    // Telemetry and the inventory, with the pools' utilization against the policy limits.
    expect(stdout).toMatch(/Collected twice into sqlite:.*capacity: \d+ samples, performance: \d+ samples, cost: \d+ samples/);
    expect(stdout).toMatch(/Inventory \S+: 4 pools, 9 volumes, 2 types/);
    expect(stdout).toMatch(/\| ballast@fast#ssd-a +\| thin +\| 80 +\| 100 +\| 80\.0 +\|.*\| 75 +\|/);
    // The plan: every kind of move the fleet calls for, with the quality of the solve.
    const kinds = /Move kinds in the plan: (.*)$/m.exec(stdout)?.[1]?.split(', ');
    expect(kinds).toEqual(expect.arrayContaining(['driver-assisted', 'generic-copy', 'live-copy']));
    expect(stdout).toContain('drain-hdd-b');
    // The executor's run, and the checks.
    const done = /run \S+ \(plan plan-\S+\): finished\n {2}done (\d+), skipped 0, failed 0, cancelled 0, not ended 0;/.exec(stdout);
    expect(done, stdout).not.toBeNull();
    expect(Number(done![1])).toBeGreaterThanOrEqual(5);
    expect(stdout.match(/ as planned +(available|in-use)\/(None|success) /g)).toHaveLength(9);
    expect(stdout.match(/sha256 [0-9a-f]{12}… identical$/gm)).toHaveLength(9); // 8 seeded volumes after the plan, 1 after the retype
    expect(stdout).not.toMatch(/MISMATCH|NOT WHERE PLANNED/);
    const live = /consumer: (\d+) writes acknowledged in all, (\d+) during the plan's run, 0 errors; detached and read back: (\d+) blocks' last acknowledged writes checked, 0 missing/.exec(stdout);
    expect(live, stdout).not.toBeNull();
    expect(Number(live![2])).toBeGreaterThan(0);
    expect(stdout).toMatch(/retype scratch-1 standard → gold: retype success \(generic copy of [\d.]+ MiB\); now on ballast@fast#ssd-\w, type gold, available\/success/);
    expect(stdout).toMatch(/All checks passed in .*: \d+ planned moves done/);
    expect(seconds).toBeLessThan(60);
    // The run is in the deployment's journal, as `ballast run list` shows it.
    const list = await run(process.execPath, [CLI, '--config', join(demo, 'ballast.yaml'), 'run', 'list', '--json']);
    const runs = JSON.parse(list.stdout) as { state: string; moves: number }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'finished', moves: Number(done![1]) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);

// A demo whose check fails says which and exits non-zero: a driver that refuses every
// driver-assisted move (the CLI's fault hook) leaves one planned move failed after its retries.
test('ballast demo: a failed move fails the demo with DEMO_CHECK_FAILED, exit 5, and leaves no consumer attached', async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const dir = await mkdtemp(join(tmpdir(), 'ballast-demo-'));
  const demo = join(dir, 'demo');
  try {
    const err = (await run(process.execPath, [CLI, 'demo', '--dir', demo], { env: { ...process.env, BALLAST_FAULT: 'fail:driver-migrate' }, maxBuffer: 16 * 1024 * 1024 }).then(
      () => null,
      (e: ExecError) => e,
    ))!;
    expect(err, 'the demo passed despite a failed move').not.toBeNull();
    expect(err.code).toBe(5);
    expect(err.stderr).toMatch(/ERROR \[DEMO_CHECK_FAILED\]: run \S+ finished: (\d+) of \d+ moves done \(m\d{3} failed \[DRIVER_ERROR\] .*injected fault at driver-migrate/);
    expect(err.stdout).toMatch(/failed +m\d{3} shop-db-\d \[DRIVER_ERROR\] after 3 attempt\(s\)/);
    expect(err.stdout).not.toContain('All checks passed');
    const show = await run(process.execPath, [CLI, '--config', join(demo, 'ballast.yaml'), 'volume', 'show', 'vm-disk', '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ status: 'available' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);

test('ballast demo refuses to recreate a non-empty directory it did not make, and leaves it alone', async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const dir = await mkdtemp(join(tmpdir(), 'ballast-demo-'));
  try {
    await writeFile(join(dir, 'precious.txt'), 'keep me');
    const err = (await run(process.execPath, [CLI, 'demo', '--dir', dir]).then(() => null, (e: ExecError) => e))!;
    expect(err).not.toBeNull();
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(`ERROR [INVALID_INPUT]: refusing to recreate ${dir}: it is not empty and not a directory ballast demo made`);
    expect(await readFile(join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
