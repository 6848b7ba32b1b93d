// End to end on a REAL OpenStack Cinder (Debian's Cinder 21, noauth, two NFS back-ends that really
// hold data; test/support/realcinder.ts brings it up and shares it with the other real-Cinder test
// file). Everything Ballast does goes through the built CLI (`dist/src/cli/main.js`): `ballast plan`,
// `ballast apply`, `ballast run resume`. Volumes are created, written and checked through Cinder's
// own REST API and files, never through Ballast. Never skipped.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Move, Plan } from '../../src/model/index.js';
import { CLI, describeResult, json, runBallast, type CliResult } from './cli-helpers.js';
import {
  createVolume,
  deleteVolumes,
  migrationsStarted,
  RC_ENDPOINT,
  RC_PROJECT,
  regionChecksum,
  rest,
  startRealCinder,
  volume,
  volumeFiles,
  waitForVolume,
  writeVolume,
  type RealCinderHandle,
} from '../support/realcinder.js';

const POOL_A = 'realcinder@nfs-a#nfs-a';
const POOL_B = 'realcinder@nfs-b#nfs-b';
const RUN = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;
/** What each volume gets written, and what is hashed: the written regions plus one never written (must stay zero). */
const WRITES = [
  { offset: 0, length: MiB },
  { offset: 64 * MiB, length: 3 * MiB },
];
const HASHED = [...WRITES, { offset: 512 * MiB, length: MiB }];
const IN_FLIGHT = ['starting', 'migrating', 'completing'];

let rc: RealCinderHandle;
let dir: string;
let config: string;
const created: string[] = [];

interface TestVolume {
  readonly id: string;
  readonly name: string;
  readonly sum: { sha256: string; bytes: number };
}

/** `ballast --config <cfg> ...args` with cwd = the test directory. */
function ballast(args: readonly string[], timeoutMs = 180_000): Promise<CliResult> {
  return runBallast(['--config', config, ...args], { cwd: dir, timeoutMs });
}

async function ok<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  const r = await ballast(['--json', ...args]);
  expect(r.code, describeResult(r)).toBe(0);
  return json<T>(r);
}

/**
 * A policy file scoped to this run's volumes of `group` (volume metadata), as YAML lines. Balance
 * is off: objectives are run-wide, and this Cinder is shared with the other real-Cinder test file
 * (and whatever else lives on it), whose volumes a balancing plan would move too.
 */
function policyFile(name: string, group: string, lines: readonly string[]): string {
  const file = join(dir, `${name}.yaml`);
  const head = ['apiVersion: ballast.io/v1', 'kind: PlacementPolicy', 'metadata:', `  name: ${name}`, 'objectives:', '  balance:', '    weight: 0', 'scope:', '  volumeMetadata:', `    ballast-e2e: ${group}`];
  writeFileSync(file, [...head, ...lines, ''].join('\n'));
  return file;
}

/** A drain of `pool` for the volumes of `group` living on it, `total` moves at once. */
function drainPolicy(name: string, group: string, pool: string, total: number): string {
  return policyFile(name, group, [
    `  pools: ["${pool}"]`,
    'constraints:',
    `  drainPools: ["${pool}"]`,
    'execution:',
    '  maxConcurrent:',
    `    total: ${total}`,
    '    perPool: 2',
    '    perBackend: 2',
  ]);
}

/** Creates `n` volumes of `group` (metadata ballast-e2e=group), writes random data, and puts them on `pool` through Cinder. */
async function volumesOn(group: string, n: number, pool: string, type?: string): Promise<TestVolume[]> {
  // allSettled: every volume made is recorded for deletion before a failure ends the test.
  const settled = await Promise.allSettled(
    Array.from({ length: n }, async (_, i): Promise<TestVolume> => {
      const name = `ballast-e2e-${RUN}-${group}-${i + 1}`;
      const id = await createVolume(name, 1, type, { 'ballast-e2e': group });
      created.push(id);
      await writeVolume(id, WRITES.map((w) => ({ offset: w.offset, bytes: randomBytes(w.length) })));
      return { id, name, sum: await regionChecksum(id, HASHED) };
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const out = settled.map((r) => (r as PromiseFulfilledResult<TestVolume>).value);
  // The scheduler picks the pool; seed the ones it put elsewhere with Cinder's own migrate.
  const elsewhere = [];
  for (const v of out) if ((await volume(v.id))['os-vol-host-attr:host'] !== pool) elsewhere.push(v.id);
  for (const id of elsewhere) {
    const r = await rest('POST', `/volumes/${id}/action`, { 'os-migrate_volume': { host: pool, force_host_copy: false, lock_volume: false } });
    expect(r.status).toBe(202);
  }
  await Promise.all(elsewhere.map((id) => waitForVolume(id, (v) => v['os-vol-host-attr:host'] === pool && v['migration_status'] === 'success', 120_000)));
  return out;
}

/** What Cinder says of a volume, in the order the assertions compare. */
async function where(id: string): Promise<[unknown, unknown, unknown, unknown]> {
  const v = await volume(id);
  return [v['os-vol-host-attr:host'], v['migration_status'], v['status'], v['volume_type']];
}

/** Every volume with this name in Cinder's own list (a leftover migration target would be a second one). */
async function rowsNamed(name: string): Promise<number> {
  const r = await rest('GET', `/volumes/detail?all_tenants=1&name=${encodeURIComponent(name)}`);
  return (r.json!['volumes'] as unknown[]).length;
}

/** The journal's transitions into `done`, and the attempts, per move of a run (read straight from runs.db). */
function journalOf(runId: string): Record<string, { done: number; attempts: number; state: string }> {
  const db = new Database(join(dir, 'data', 'runs.db'), { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, { done: number; attempts: number; state: string }> = {};
    for (const m of db.prepare('SELECT move_id, state, attempts FROM moves WHERE run_id = ? ORDER BY seq').all(runId) as { move_id: string; state: string; attempts: number }[]) {
      const done = db.prepare("SELECT COUNT(*) AS n FROM transitions WHERE run_id = ? AND move_id = ? AND to_state = 'done'").get(runId, m.move_id) as { n: number };
      out[m.move_id] = { done: done.n, attempts: m.attempts, state: m.state };
    }
    return out;
  } finally {
    db.close();
  }
}

/** Volumes whose move of `runId` is journaled `running` with a Cinder move handle. */
function handlesOf(runId: string | undefined): string[] {
  if (runId === undefined) return [];
  const db = new Database(join(dir, 'data', 'runs.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT volume_id, handle_json FROM moves WHERE run_id = ? AND state = 'running' AND handle_json IS NOT NULL").all(runId) as { volume_id: string; handle_json: string }[];
    return rows.filter((r) => r.handle_json.includes('cinder-move:v1:')).map((r) => r.volume_id);
  } finally {
    db.close();
  }
}

/** Cinder's own account of every moved volume: on the move's destination, success, data unchanged, one file, one row. */
async function expectLanded(moves: readonly Move[], vols: readonly TestVolume[], type: string): Promise<void> {
  for (const m of moves) {
    const v = vols.find((x) => x.id === m.volumeId)!;
    expect(await where(v.id), v.name).toEqual([m.to, 'success', 'available', type]);
    expect(await regionChecksum(v.id, HASHED), v.name).toEqual(v.sum);
    expect(volumeFiles(v.id).length, `${v.name}: files ${volumeFiles(v.id).join(', ')}`).toBe(1);
    expect(await rowsNamed(v.name), v.name).toBe(1);
  }
}

beforeAll(async () => {
  rc = await startRealCinder();
  dir = mkdtempSync(join(tmpdir(), 'ballast-cinder-e2e-'));
  config = join(dir, 'ballast.yaml');
  writeFileSync(
    config,
    ['apiVersion: ballast/v1', 'dataDir: ./data', 'controlPlane:', '  type: cinder', '  authType: noauth', `  endpoint: ${RC_ENDPOINT}`, `  projectId: "${RC_PROJECT}"`, '  userId: admin', ''].join('\n'),
  );
}, 10 * 60_000);

afterAll(async () => {
  try {
    if (created.length > 0) await deleteVolumes(created);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await rc?.stop();
  }
}, 5 * 60_000);

describe('ballast plan + apply on a real Cinder', { timeout: 300_000 }, () => {
  test('drain nfs-a: every volume ends where the plan said, migration_status success, data unchanged, moved once', async () => {
    const group = `drain-${RUN}`;
    const vols = await volumesOn(group, 3, POOL_A);
    const policy = drainPolicy('e2e-drain-a', group, POOL_A, 2);
    const plan = join(dir, 'drain-plan.json');

    const planned = await ballast(['plan', '--policy', policy, '--out', plan]);
    expect(planned.code, describeResult(planned)).toBe(0);
    const p = JSON.parse(readFileSync(plan, 'utf8')) as Plan;
    // Exactly this group's volumes leave the drained pool (other tests' volumes are out of scope), for the drain's sake.
    expect(p.moves.map((m) => m.volumeId).sort()).toEqual(vols.map((v) => v.id).sort());
    for (const m of p.moves) expect([m.from, m.to, m.newVolumeType, m.serves]).toEqual([POOL_A, POOL_B, null, expect.arrayContaining(['e2e-drain-a'])]);
    const before = new Map(vols.map((v) => [v.id, migrationsStarted(v.id)]));

    const summary = await ok<{ runId: string; state: string; counts: Record<string, number> }>(['apply', plan, '--yes', '--policy', policy]);
    expect([summary.state, summary.counts['done'], summary.counts['failed'], summary.counts['skipped']]).toEqual(['finished', 3, 0, 0]);
    await expectLanded(p.moves, vols, '__DEFAULT__');
    for (const v of vols) expect(migrationsStarted(v.id) - before.get(v.id)!, v.name).toBe(1);
    expect(Object.values(journalOf(summary.runId))).toEqual(p.moves.map(() => ({ done: 1, attempts: 1, state: 'done' })));
  });

  test('retype type-a → type-b with on-demand: a hand-made retype move through ballast apply', async () => {
    // The solver changes pools only, so `ballast plan` never proposes a retype: the move is written
    // by hand into a plan `ballast plan` made of this fleet (its pools and expiry are real).
    const group = `retype-${RUN}`;
    const [v] = await volumesOn(group, 1, POOL_A, 'type-a');
    const policy = policyFile('e2e-retype', group, ['execution:', '  retype:', '    migrationPolicy: on-demand']);
    const made = await ballast(['plan', '--policy', policy, '--out', join(dir, 'retype-base.json')]);
    expect(made.code, describeResult(made)).toBe(0);
    const base = JSON.parse(readFileSync(join(dir, 'retype-base.json'), 'utf8')) as Plan;
    expect(base.moves).toEqual([]);
    const move: Move = {
      id: 'm001',
      volumeId: v!.id,
      volumeName: v!.name,
      sizeGiB: 1,
      from: POOL_A,
      to: POOL_B,
      kind: 'generic-copy',
      newVolumeType: 'type-b',
      attached: false,
      reason: 'retype to type-b (pinned to nfs-b)',
      serves: ['e2e-retype'],
      dependsOn: [],
    };
    const planFile = join(dir, 'retype-plan.json');
    writeFileSync(planFile, `${JSON.stringify({ ...base, moves: [move], totals: { ...base.totals, moves: 1, bytes: 1024 * MiB } }, null, 2)}\n`);
    const before = migrationsStarted(v!.id);

    const summary = await ok<{ runId: string; state: string; counts: Record<string, number> }>(['apply', planFile, '--yes', '--policy', policy]);
    expect([summary.state, summary.counts['done'], summary.counts['failed']]).toEqual(['finished', 1, 0]);
    await expectLanded([move], [v!], 'type-b');
    expect(migrationsStarted(v!.id) - before).toBe(1);
  });

  test('SIGKILL mid-apply, then ballast run resume: every volume in exactly one place, data unchanged, no move done twice', async () => {
    const group = `crash-${RUN}`;
    const vols = await volumesOn(group, 3, POOL_B);
    const policy = drainPolicy('e2e-drain-b', group, POOL_B, 1);
    const plan = join(dir, 'crash-plan.json');
    const planned = await ballast(['plan', '--policy', policy, '--out', plan]);
    expect(planned.code, describeResult(planned)).toBe(0);
    const p = JSON.parse(readFileSync(plan, 'utf8')) as Plan;
    expect(p.moves.map((m) => m.volumeId).sort()).toEqual(vols.map((v) => v.id).sort());
    const before = new Map(vols.map((v) => [v.id, migrationsStarted(v.id)]));

    // One move at a time: kill when one has landed and the next is being copied by Cinder.
    const child = spawn(process.execPath, [CLI, '--config', config, 'apply', plan, '--yes', '--policy', policy], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
    let atKill: [unknown, unknown, unknown, unknown][] = [];
    const deadline = Date.now() + 150_000;
    for (;;) {
      expect(child.exitCode, `apply ended before it could be killed:\n${stderr}`).toBeNull();
      const states = await Promise.all(vols.map((v) => where(v.id)));
      const landed = states.filter(([host, mig]) => host === POOL_A && mig === 'success').length;
      const moving = vols.filter((_, i) => IN_FLIGHT.includes(String(states[i]![1]))).map((v) => v.id);
      // ...and the journal holds that move's Cinder handle, so the resume must poll a move another process started.
      if (landed === 1 && moving.length === 1 && handlesOf(/run (run-\S+) started/.exec(stderr)?.[1]).includes(moving[0]!)) {
        child.kill('SIGKILL');
        atKill = states;
        break;
      }
      expect(Date.now() < deadline, `no mid-run moment seen:\n${stderr}`).toBe(true);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await exited).toBe('SIGKILL');
    // The third volume had not been touched: the resume has a pending move as well as one in flight.
    expect(atKill.filter(([host, mig]) => host === POOL_B && !IN_FLIGHT.includes(String(mig))).length, JSON.stringify(atKill)).toBe(1);
    const runId = /run (run-\S+) started/.exec(stderr)?.[1];
    expect(runId, stderr).toBeDefined();
    const runs = await ok<{ id: string; state: string }[]>(['run', 'list']);
    expect(runs.find((r) => r.id === runId)?.state).toBe('running');

    const summary = await ok<{ runId: string; state: string; counts: Record<string, number>; done: { attempts: number }[] }>(['run', 'resume', runId!]);
    expect([summary.state, summary.counts['done'], summary.counts['failed'], summary.counts['skipped']]).toEqual(['finished', 3, 0, 0]);
    expect(summary.done.map((d) => d.attempts)).toEqual([1, 1, 1]);
    await expectLanded(p.moves, vols, '__DEFAULT__');
    for (const v of vols) expect(migrationsStarted(v.id) - before.get(v.id)!, v.name).toBe(1);
    expect(Object.values(journalOf(runId!))).toEqual(p.moves.map(() => ({ done: 1, attempts: 1, state: 'done' })));
  });
});
