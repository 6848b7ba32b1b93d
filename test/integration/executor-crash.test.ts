import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { BlockService } from '../../src/blockstore/index.js';
import { RunJournal } from '../../src/executor/index.js';
import { MiB } from '../../src/shared/index.js';
import { fillVolume, makeDeployment, objectsIn, readBack, sameBytes, SMALL_CONFIG, type Deployment } from './deployment.js';
import { FAST_A, FAST_B, HDD_A, move, planOf } from './executor-fixtures.js';

// kill -9 of a real executor process (the real `apply` command) at several points, then
// `run resume`: every volume in exactly one place, its data intact, no move done twice.
const CLI = resolve('dist/test/integration/executor-cli.js');
const THROTTLED = SMALL_CONFIG.replace('copy: { bufferMiB: 1 }', 'copy: { bufferMiB: 1, bpsLimit: 8MiB/s }');
const POLICY = `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata:
  name: exec-test
  description: executor crash tests
execution:
  maxConcurrent: { total: 2, perPool: 2, perBackend: 2, inUse: 1 }
`;

let d: Deployment;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});
afterEach(async () => {
  await d?.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, '--config', d.config.configFile, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stderr, stdout })),
  );
  return { child, exited, stderr: () => stderr };
}

/** Waits (bounded) until a child's stderr matches; fails with what it printed otherwise. */
async function waitFor(proc: ReturnType<typeof cli>, re: RegExp): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (!re.test(proc.stderr())) {
    if (exited || Date.now() > deadline) throw new Error(`never saw ${String(re)}; the process ${exited ? 'exited' : 'is still running'}; stderr:\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(bytes = 6 * MiB) {
  d = await makeDeployment(THROTTLED);
  const s = await d.open();
  const vols = [];
  for (let i = 0; i < 4; i++) {
    const v = await s.createVolume({ sizeGiB: 1, type: 'any', host: FAST_A, name: `v${i}` });
    vols.push({ v, ...(await fillVolume(s, d.dir, v.id, bytes, 0)) });
  }
  s.close();
  const dests = [HDD_A, FAST_B, HDD_A, FAST_B];
  const plan = planOf(vols.map((x, i) => move(`m00${i + 1}`, x.v.id, FAST_A, dests[i]!)));
  const planFile = join(d.dir, 'plan.json');
  await writeFile(planFile, JSON.stringify(plan));
  const policyFile = join(d.dir, 'policy.yaml');
  await writeFile(policyFile, POLICY);
  return { vols, dests, planFile, policyFile };
}

async function verifyAll(s: BlockService, setupOut: Awaited<ReturnType<typeof setup>>, runId: string) {
  const { vols, dests } = setupOut;
  expect(s.listVolumes(true).map((v) => v.id).sort()).toEqual(vols.map((x) => x.v.id).sort());
  expect(s.migrations(1000).filter((m) => m.finishedAtMs === null)).toEqual([]);
  for (const [i, x] of vols.entries()) {
    expect(s.getVolume(x.v.id)).toMatchObject({ host: dests[i], status: 'available', migrationStatus: 'success' });
    expect(sameBytes(await readBack(s, d.dir, x.v.id, x.offset, x.data.length), x.data)).toBe('identical');
    // no move done twice: exactly one migration of this volume reached its destination
    const landed = s.migrations(1000).filter((m) => m.volumeId === x.v.id && (m.outcome === 'success' || m.outcome === 'rolled-forward'));
    expect(landed).toHaveLength(1);
  }
  expect((await objectsIn(d, 'capacity', 'hdd-a')).length).toBe(2);
  expect((await objectsIn(d, 'fast', 'ssd-b')).length).toBe(2);
  expect(await objectsIn(d, 'fast', 'ssd-a')).toEqual([]);
  const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
  try {
    const doneTransitions = journal.transitions(runId).filter((t) => t.to === 'done').map((t) => t.moveId).sort();
    expect(doneTransitions).toEqual(['m001', 'm002', 'm003', 'm004']);
    expect(journal.load(runId).run.state).toBe('finished');
  } finally {
    journal.close();
  }
}

describe('kill -9 of the executor, then run resume', () => {
  test.each<{ name: string; env: Record<string, string>; killWhen?: RegExp; outcome: string | null; reason: RegExp | null }>([
    { name: 'after journaling "running", before the control plane was asked', env: { BALLAST_EXECUTOR_CRASH: 'running:2' }, outcome: null, reason: /interrupted before the control plane took it/ },
    { name: 'in the middle of a copy (control plane rolls it back on restart)', env: { BALLAST_FAULT: `crash:mid-copy:${2 * MiB}` }, outcome: 'rolled-back', reason: /interrupted by a restart; the control plane rolled it back/ },
    { name: 'after the row swap (control plane rolls it forward on restart)', env: { BALLAST_FAULT: 'crash:after-swap' }, outcome: 'rolled-forward', reason: null },
    { name: 'after journaling "verifying", before recording done', env: { BALLAST_EXECUTOR_CRASH: 'verifying:1' }, outcome: null, reason: null },
    { name: 'from outside at an arbitrary moment while copies run', env: {}, killWhen: /m00[12]: prechecking → running/, outcome: 'rolled-back', reason: /interrupted by a restart/ },
  ])('$name', async ({ env, killWhen, outcome, reason }) => {
    const out = await setup();
    const run = cli(['apply', out.planFile, '--yes', '--policy', out.policyFile], env);
    if (killWhen) {
      await waitFor(run, killWhen);
      await new Promise((r) => setTimeout(r, 300)); // let it copy for a moment
      run.child.kill('SIGKILL');
    }
    const first = await run.exited;
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const runId = /run (run-\S+) started/.exec(first.stderr)?.[1];
    expect(runId, first.stderr).toBeDefined();

    const resumed = await cli(['run', 'resume', runId!]).exited;
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toMatch(/done 4, skipped 0, failed 0, cancelled 0/);
    const s = await d.open();
    await verifyAll(s, out, runId!);
    // the crash happened where the case says: the control plane's recovery and the journal show it
    const outcomes = s.migrations(1000).map((m) => m.outcome);
    // (a move running beside the crashed one may be rolled back too: that is the other case's check)
    if (outcome) expect(outcomes).toContain(outcome);
    const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    const reasons = journal.transitions(runId!).map((t) => t.reason ?? '');
    journal.close();
    if (reason) expect(reasons.some((r) => reason.test(r)), reasons.join('\n')).toBe(true);
  });

  test('run cancel from another process stops a live apply: copies rolled back, the rest never start, exit 6', async () => {
    const out = await setup(24 * MiB); // 96 MiB at 8 MiB/s: the run lasts ~11 s unless cancelled
    const run = cli(['apply', out.planFile, '--yes', '--policy', out.policyFile]);
    await waitFor(run, /m00[12]: prechecking → running/);
    const runId = /run (run-\S+) started/.exec(run.stderr())![1]!;
    const cancel = await cli(['run', 'cancel', runId]).exited;
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`run ${runId} \\(plan .*\\): cancelled`));
    const applied = await run.exited;
    expect(applied.code, applied.stderr).toBe(6);
    expect(applied.stdout).toMatch(/cancelled by request \(ballast run cancel\)/);
    const s = await d.open();
    expect(s.listVolumes(true).map((v) => v.id).sort()).toEqual(out.vols.map((x) => x.v.id).sort());
    expect(s.migrations(100).filter((m) => m.finishedAtMs === null)).toEqual([]);
    for (const x of out.vols) {
      const v = s.getVolume(x.v.id);
      expect(v.status).toBe('available');
      expect(sameBytes(await readBack(s, d.dir, x.v.id, x.offset, x.data.length), x.data)).toBe('identical');
    }
    // every move ended, none left pending; each volume is on its source or (if it finished first) its destination
    const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    const moves = journal.load(runId).moves;
    journal.close();
    expect(moves.every((m) => m.state === 'cancelled' || m.state === 'done')).toBe(true);
    expect(moves.filter((m) => m.state === 'cancelled').length).toBeGreaterThanOrEqual(2);
    for (const m of moves) expect(s.getVolume(m.move.volumeId).host).toBe(m.state === 'done' ? m.move.to : m.move.from);
  });

  test('resume refuses a run another live process owns, and a finished run', async () => {
    const out = await setup(16 * MiB); // 64 MiB at 8 MiB/s: the run outlives the second process's start
    const run = cli(['apply', out.planFile, '--yes', '--policy', out.policyFile]);
    await waitFor(run, /run (run-\S+) started/);
    const runId = /run (run-\S+) started/.exec(run.stderr())![1]!;
    const busy = await cli(['run', 'resume', runId]).exited;
    expect(busy.code).toBe(4);
    expect(busy.stderr).toMatch(/RUN_BUSY.*being executed by process/);
    expect((await run.exited).code).toBe(0);
    const again = await cli(['run', 'resume', runId]).exited;
    expect(again.stderr).toMatch(/RUN_BUSY.*already finished/);
    const s = await d.open();
    await verifyAll(s, out, runId);
  });
});
