import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, test } from 'vitest';
import { registerApplyCommands } from '../../src/cli/commands/apply.js';
import type { CliIo } from '../../src/cli/io.js';
import { MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, readBack, sameBytes, type Deployment } from './deployment.js';
import { FAST_A, HDD_A, move, planOf } from './executor-fixtures.js';

// `ballast apply` and `ballast run …` in process (the command code of src/cli/commands/apply.ts).
const POLICY = `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata:
  name: exec-cli
  description: executor CLI tests
execution:
  maxConcurrent: { total: 2, perPool: 2, perBackend: 2, inUse: 1 }
`;

let d: Deployment;
afterEach(async () => {
  delete process.env['BALLAST_FAULT'];
  await d?.cleanup();
});

async function ballast(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const io: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), setExitCode: (n) => (code = n), isTTY: false };
  const program = new Command('ballast').option('-c, --config <file>').option('--json').exitOverride();
  registerApplyCommands(program, io);
  await program.parseAsync(['--config', d.config.configFile, ...args], { from: 'user' });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function setup(opts: { validMs?: number; to?: string; paused?: boolean } = {}) {
  d = await makeDeployment();
  const s = await d.open();
  const vols = [];
  for (let i = 0; i < 3; i++) {
    const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: `v${i}` });
    vols.push({ v, ...(await fillVolume(s, d.dir, v.id, 1 * MiB, 0)) });
  }
  await s.createSnapshot(vols[2]!.v.id);
  s.close();
  const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, opts.to ?? HDD_A, { volumeName: `v${i}` })), opts.validMs ? { validMs: opts.validMs } : {});
  const planFile = join(d.dir, 'plan.json');
  await writeFile(planFile, JSON.stringify(plan));
  const policyFile = join(d.dir, 'policy.yaml');
  await writeFile(policyFile, opts.paused ? `${POLICY}when:\n  paused: true\n` : POLICY);
  return { vols, plan, planFile, policyFile };
}

describe('ballast apply', () => {
  test('applies with --yes: summary with the skip reason, exit 0, run list and show tell the same story', async () => {
    const { vols, planFile, policyFile } = await setup();
    const r = await ballast(['apply', planFile, '--yes', '--policy', policyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Plan plan-3-\d+: 3 moves/);
    expect(r.stdout).toMatch(/done 2, skipped 1, failed 0, cancelled 0, not ended 0/);
    expect(r.stdout).toMatch(/skipped {3}m003 v2: volume got 1 snapshot/);
    const runId = /run (run-\S+) started/.exec(r.stderr)![1]!;
    const list = await ballast(['run', 'list']);
    expect(list.stdout).toContain(runId);
    expect(list.stdout).toMatch(/\| finished \| 3 {5}\| 2 {4}\| 1 {7}\| 0 /);
    const show = await ballast(['--json', 'run', 'show', runId]);
    const shown = JSON.parse(show.stdout) as { moves: { id: string; state: string }[] };
    expect(shown.moves.map((m) => `${m.id}:${m.state}`)).toEqual(['m001:done', 'm002:done', 'm003:skipped']);
    const s = await d.open();
    for (const x of vols.slice(0, 2)) {
      expect(s.getVolume(x.v.id).host).toBe(HDD_A);
      expect(sameBytes(await readBack(s, d.dir, x.v.id, x.offset, x.data.length), x.data)).toBe('identical');
    }
  });

  test('--dry-run checks live state and changes nothing', async () => {
    const { planFile, policyFile } = await setup();
    const r = await ballast(['apply', planFile, '--dry-run', '--policy', policyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/m001 \| v0 +\| would run/);
    expect(r.stdout).toMatch(/m003 \| v2 +\| would skip: volume got 1 snapshot/);
    expect((await ballast(['run', 'list'])).stdout).not.toContain('run-');
  });

  test.each<{ name: string; opts: { validMs?: number; to?: string; paused?: boolean }; yes: boolean; code: number; err: RegExp }>([
    { name: 'paused policy', opts: { paused: true }, yes: true, code: 4, err: /PLAN_REFUSED.*paused \(when\.paused: true at .*policy\.yaml:\d+:\d+\)/ },
    { name: 'expired plan', opts: { validMs: 1 }, yes: true, code: 4, err: /PLAN_EXPIRED.*expired/ },
    { name: 'unknown pool', opts: { to: 'ballast@nowhere#x' }, yes: true, code: 2, err: /PLAN_INVALID.*ballast@nowhere#x/ },
    { name: 'no confirmation on a non-interactive input', opts: {}, yes: false, code: 2, err: /pass --yes/ },
  ])('refuses: $name (exit $code), nothing runs', async ({ opts, yes, code, err }) => {
    const { planFile, policyFile } = await setup(opts);
    await new Promise((r) => setTimeout(r, 5));
    const r = await ballast(['apply', planFile, '--policy', policyFile, ...(yes ? ['--yes'] : [])]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(err);
    expect((await ballast(['run', 'list'])).stdout).not.toContain('run-');
  });

  test('an expired plan runs with --force (each move still re-checked)', async () => {
    const { planFile, policyFile } = await setup({ validMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const r = await ballast(['apply', planFile, '--yes', '--force', '--policy', policyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: plan expired .* running it because of --force/);
  });

  test('failed moves make the exit code 5 and are listed with their error code', async () => {
    const { planFile, policyFile } = await setup();
    process.env['BALLAST_FAULT'] = 'fail:create-dest';
    const r = await ballast(['apply', planFile, '--yes', '--policy', policyFile]);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/failed {4}m001 v0 \[DRIVER_ERROR\] after 3 attempt\(s\)/);
    const s = await d.open();
    expect(s.listVolumes(true).every((v) => v.host === FAST_A)).toBe(true);
  });

  test('run resume / cancel of an unknown run: RUN_NOT_FOUND, exit 3', async () => {
    await setup();
    for (const cmd of ['resume', 'cancel', 'show']) {
      const r = await ballast(['run', cmd, 'run-nope']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/RUN_NOT_FOUND/);
    }
  });
});
