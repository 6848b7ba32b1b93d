/**
 * `ballast daemon` as a real process (the built CLI's code) on a real embedded deployment, with a
 * fast cron (every 2 s) and a maintenance window: approve mode (the plan waits across cycles, a
 * CLI reject, an API approve, the run completes), auto mode with kill -9 mid-run and a restart
 * (the run completes exactly once: journal, migrations and data agree), a second daemon on the
 * same state directory refused, and SIGTERM mid-run (the running move finishes, the rest resumes
 * at the next start). Every wait is on a condition, never a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { PlanRecord, RunDetail, RunItem } from '../../src/api/index.js';
import { RunJournal } from '../../src/executor/index.js';
import { MiB } from '../../src/shared/index.js';
import { CLI, waitFor } from './cli-helpers.js';
import { fillVolume, makeDeployment, readBack, sameBytes, SMALL_CONFIG, type Deployment } from './deployment.js';

const ADMIN = 'daemon-admin-token-0123456789';
const HDD_A = 'ballast@capacity#hdd-a';
const HDD_B = 'ballast@capacity#hdd-b';
const CONFIG = `${SMALL_CONFIG}
api:
  listen: 127.0.0.1:0
  tokens:
    - { user: ops, token: ${ADMIN}, role: admin, projectId: p-ops }
telemetry:
  schedules: { capacity: "*/2 * * * * *", performance: "*/2 * * * * *", maintenance: "0 * * * *" }
`;
const POLICY = `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata: { name: drain-hdd-b, description: empty hdd-b }
scope: { pools: ["${HDD_B}"] }
constraints:
  drainPools: ["${HDD_B}"]
execution:
  maxConcurrent: { total: 1, perPool: 1, perBackend: 1, inUse: 1 }
  maxBandwidth: 4MiB/s
when:
  schedule: "*/2 * * * * *"
  maintenanceWindows:
    - { days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "24:00" }
`;

let d: Deployment;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await d?.cleanup();
});

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

function start(args: readonly string[]): Proc {
  const child = spawn(process.execPath, [CLI, '--config', d.config.configFile, ...args], { cwd: d.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BALLAST_FAULT: '' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, exited, stdout: () => out, stderr: () => err };
}

async function daemon(mode: 'auto' | 'approve'): Promise<Proc & { readonly url: string }> {
  const p = start(['daemon', '--mode', mode, '--policy', join(d.dir, 'policy.yaml'), '--stop-grace', '30s']);
  const url = await waitFor('the daemon listens', () => /listening on (http:\/\/\S+)/.exec(p.stdout())?.[1] ?? (p.child.exitCode !== null ? Promise.reject(new Error(p.stderr())) : null), { timeoutMs: 30_000 });
  return { ...p, url };
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'x-auth-token': ADMIN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Log records of a daemon's stderr (JSON lines: stderr is a pipe). */
function records(p: Proc): Record<string, unknown>[] {
  return p
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function setup(n: number, bytes: number) {
  d = await makeDeployment(CONFIG);
  await writeFile(join(d.dir, 'policy.yaml'), POLICY);
  const s = await d.open();
  const vols = [];
  for (let i = 0; i < n; i++) {
    const v = await s.createVolume({ sizeGiB: 1, type: 'standard', host: HDD_B, name: `v${i}` });
    vols.push({ id: v.id, ...(await fillVolume(s, d.dir, v.id, bytes, 0)) });
  }
  s.close();
  return vols;
}

async function runOf(url: string, runId: string): Promise<RunDetail> {
  return (await api<RunDetail>(url, 'GET', `/api/v1/runs/${runId}`)).body;
}

/** Every volume on hdd-a with its data, moved exactly once; every move `done` exactly once in the journal. */
async function checkExactlyOnce(vols: Awaited<ReturnType<typeof setup>>, runId: string) {
  const s = await d.open();
  try {
    expect(s.migrations(1000).filter((m) => m.finishedAtMs === null)).toEqual([]);
    for (const v of vols) {
      expect(s.getVolume(v.id)).toMatchObject({ host: HDD_A, status: 'available' });
      expect(sameBytes(await readBack(s, d.dir, v.id, v.offset, v.data.length), v.data)).toBe('identical');
      const landed = s.migrations(1000).filter((m) => m.volumeId === v.id && (m.outcome === 'success' || m.outcome === 'rolled-forward'));
      expect(landed).toHaveLength(1);
    }
  } finally {
    s.close();
  }
  const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
  try {
    expect(journal.listRuns().map((r) => r.id)).toEqual([runId]);
    const done = journal.transitions(runId).filter((t) => t.to === 'done').map((t) => t.moveId).sort();
    expect(done).toEqual(vols.map((_, i) => `m00${i + 1}`));
    expect(journal.load(runId).run.state).toBe('finished');
  } finally {
    journal.close();
  }
}

describe('ballast daemon', () => {
  test('approve mode: the plan waits across cycles; a CLI reject, an API approve, the run completes; a second daemon is refused; SIGTERM stops it', async () => {
    const vols = await setup(2, 4 * MiB);
    const p = await daemon('approve');
    const first = await waitFor('a plan waits for approval', async () => (await api<{ plans: PlanRecord[] }>(p.url, 'GET', '/api/v1/plans')).body.plans.find((x) => x.status === 'recommended'));
    expect(first).toMatchObject({ origin: 'schedule', moves: 2, runId: null });
    // Two more cycles see the same moves: the plan keeps waiting, nothing runs.
    await waitFor('two more cycles', () => records(p).filter((r) => r['msg'] === 'rebalancing cycle' && r['outcome'] === 'unchanged').length >= 2, { timeoutMs: 20_000 });
    expect((await api<{ runs: RunItem[] }>(p.url, 'GET', '/api/v1/runs')).body.runs).toEqual([]);

    const second = start(['daemon', '--mode', 'approve', '--policy', join(d.dir, 'policy.yaml')]);
    const refused = await second.exited;
    expect(refused.code, second.stderr()).toBe(4);
    expect(second.stderr()).toMatch(new RegExp(`ERROR \\[DAEMON_RUNNING\\]: a ballast daemon is already running for the state directory .* \\(process ${p.child.pid} holds`));

    const reject = start(['--json', 'plan', 'reject', first.id, '--note', 'not now']);
    expect((await reject.exited).code, reject.stderr()).toBe(0);
    expect(JSON.parse(reject.stdout())).toMatchObject({ id: first.id, status: 'rejected', note: 'not now' });
    const unknown = start(['plan', 'approve', 'plan-does-not-exist']);
    expect((await unknown.exited).code).toBe(3);
    expect(unknown.stderr()).toMatch(/^ERROR \[PLAN_NOT_FOUND\]: no plan 'plan-does-not-exist'/m);
    const next = await waitFor('the next cycle proposes again', async () => (await api<{ plans: PlanRecord[] }>(p.url, 'GET', '/api/v1/plans')).body.plans.find((x) => x.status === 'recommended' && x.id !== first.id), { timeoutMs: 20_000 });
    const approved = await api<PlanRecord>(p.url, 'POST', `/api/v1/plans/${next.id}/approve`, { note: 'go' });
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', decidedBy: 'ops' } });
    const runId = await waitFor('a run starts', async () => (await api<{ runs: RunItem[] }>(p.url, 'GET', '/api/v1/runs')).body.runs[0]?.id);
    await waitFor('the run finishes', async () => (await runOf(p.url, runId)).run.state === 'finished', { timeoutMs: 30_000 });
    expect((await api<{ record: PlanRecord }>(p.url, 'GET', `/api/v1/plans/${next.id}`)).body.record).toMatchObject({ status: 'applied', runId });

    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(records(p).map((r) => r['msg'])).toContain('stopped');
    await checkExactlyOnce(vols, runId);
  }, 90_000);

  test('auto mode: kill -9 mid-run, restart: the interrupted run resumes and completes exactly once', async () => {
    const vols = await setup(3, 8 * MiB);
    const p = await daemon('auto');
    const runId = await waitFor('a run starts by itself', async () => (await api<{ runs: RunItem[] }>(p.url, 'GET', '/api/v1/runs')).body.runs[0]?.id, { timeoutMs: 30_000 });
    await waitFor('one move done, the next copying', async () => {
      const r = await runOf(p.url, runId);
      return r.moves.some((m) => m.state === 'done') && r.progress?.active.some((m) => m.state === 'running' && m.bytesDone > 0);
    }, { timeoutMs: 30_000 });
    p.child.kill('SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');

    const again = await daemon('auto');
    await waitFor('the resumed run finishes', async () => (await runOf(again.url, runId)).run.state === 'finished', { timeoutMs: 40_000 });
    expect(records(again).some((r) => r['msg'] === 'resuming interrupted run' && r['run'] === runId)).toBe(true);
    // The next cycle finds nothing left to do: no second run.
    await waitFor('a cycle after the run', () => records(again).some((r) => r['msg'] === 'rebalancing cycle' && r['outcome'] === 'nothing-to-do'), { timeoutMs: 20_000 });
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    await checkExactlyOnce(vols, runId);
    const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    const reasons = journal.transitions(runId).map((t) => t.reason ?? '');
    journal.close();
    expect(reasons.some((r) => /interrupted by a restart|interrupted before the control plane took it/.test(r)), reasons.join('\n')).toBe(true);
  }, 120_000);

  test('SIGTERM mid-run: the running move finishes, no new one starts, exit 0; the next start completes the run', async () => {
    const vols = await setup(3, 8 * MiB);
    const p = await daemon('auto');
    const runId = await waitFor('a run starts by itself', async () => (await api<{ runs: RunItem[] }>(p.url, 'GET', '/api/v1/runs')).body.runs[0]?.id, { timeoutMs: 30_000 });
    const copying = await waitFor('a move is copying', async () => (await runOf(p.url, runId)).progress?.active.find((m) => m.state === 'running' && m.bytesDone > 0)?.moveId, { timeoutMs: 30_000 });
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const stopped = records(p).find((r) => r['msg'] === 'stopped');
    expect(stopped?.['unfinished_run']).toBe(runId);
    const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    const left = journal.load(runId);
    journal.close();
    expect(left.moves.find((m) => m.move.id === copying)?.state).toBe('done'); // finished, not abandoned
    expect(left.moves.filter((m) => ['prechecking', 'running', 'verifying'].includes(m.state))).toEqual([]);
    expect(left.moves.some((m) => m.state === 'pending')).toBe(true);
    expect(left.run).toMatchObject({ state: 'running', ownerPid: null });

    const again = await daemon('auto');
    await waitFor('the run finishes after the restart', async () => (await runOf(again.url, runId)).run.state === 'finished', { timeoutMs: 40_000 });
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    await checkExactlyOnce(vols, runId);
  }, 120_000);
});
