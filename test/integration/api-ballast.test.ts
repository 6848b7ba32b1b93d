/**
 * Ballast's own API over a real daemon started in this process (real embedded deployment, real
 * SQLite state and journal, real HTTP server on 127.0.0.1): every endpoint, access rules (401 and
 * 403 change nothing), request validation, the server-sent events of a run, the Prometheus text,
 * the committed OpenAPI document, and a bounded load test while a run is copying.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openApiText, type PlanRecord, type RunDetail, type RunItem } from '../../src/api/index.js';
import type { BlockService } from '../../src/blockstore/index.js';
import { EmbeddedControlPlane } from '../../src/controlplane/index.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/index.js';
import { RunJournal } from '../../src/executor/index.js';
import { compilePolicyFiles } from '../../src/policy/index.js';
import { createLogger, MiB } from '../../src/shared/index.js';
import { openTelemetryStore, type TelemetryStore } from '../../src/telemetry/index.js';
import { REPO_ROOT, waitFor } from './cli-helpers.js';
import { fillVolume, makeDeployment, SMALL_CONFIG, type Deployment } from './deployment.js';

const ADMIN = 'ops-admin-token-0123456789';
const MEMBER = 'app-member-token-0123456789';
const HDD_B = 'ballast@capacity#hdd-b';
const HDD_A = 'ballast@capacity#hdd-a';
const CONFIG = `${SMALL_CONFIG}
api:
  listen: 127.0.0.1:0
  maxBodyBytes: 4096
  tokens:
    - { user: ops, token: ${ADMIN}, role: admin, projectId: p-ops }
    - { user: app, token: ${MEMBER}, role: member, projectId: p-app }
`;
const POLICY = `apiVersion: ballast.io/v1
kind: PlacementPolicy
metadata: { name: drain-hdd-b, description: empty hdd-b }
scope: { pools: ["${HDD_B}"] }
constraints:
  drainPools: ["${HDD_B}"]
execution:
  maxConcurrent: { total: 1, perPool: 1, perBackend: 1, inUse: 1 }
  maxBandwidth: 2MiB/s
`;

let d: Deployment;
let service: BlockService;
let cp: EmbeddedControlPlane;
let telemetry: TelemetryStore;
let daemon: DaemonHandle;
let url: string;
const logLines: string[] = [];

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown> | null;
  readonly text: string;
  readonly headers: Headers;
}

async function call(method: string, path: string, opts: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const token = opts.token === undefined ? ADMIN : opts.token;
  const headers: Record<string, string> = { ...(token ? { 'x-auth-token': token } : {}), ...(opts.headers ?? {}) };
  const body = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  if (body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: Record<string, unknown> | null = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, body: parsed, text, headers: res.headers };
}

async function volumesOnHddB(n: number, bytes: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = await service.createVolume({ sizeGiB: 1, type: 'standard', host: HDD_B, name: `v${Date.now() % 100000}-${i}` });
    await fillVolume(service, d.dir, v.id, bytes, 0);
    ids.push(v.id);
  }
  return ids;
}

/** Everything a refused request must leave alone: plans, runs, volumes. */
async function stateOf(withVolumes = true): Promise<string> {
  const plans = (await call('GET', '/api/v1/plans?limit=1000')).body!['plans'] as PlanRecord[];
  const runs = ((await call('GET', '/api/v1/runs?limit=1000')).body!['runs'] as RunItem[]).map((r) => [r.id, r.planId]);
  const vols = withVolumes ? service.listVolumes(true).map((v) => [v.id, v.status, v.host, v.migrationStatus]) : [];
  return JSON.stringify({ plans: plans.map((p) => [p.id, p.status, p.decidedBy]), runs, vols });
}

async function runToEnd(runId: string, timeoutMs = 60_000): Promise<RunDetail> {
  let detail: RunDetail | null = null;
  await waitFor(
    `run ${runId} ends`,
    async () => {
      detail = (await call('GET', `/api/v1/runs/${runId}`)).body as unknown as RunDetail;
      return !detail.run.live && ['finished', 'cancelled'].includes(detail.run.state);
    },
    { timeoutMs },
  );
  return detail!;
}

beforeAll(async () => {
  d = await makeDeployment(CONFIG);
  writeFileSync(join(d.dir, 'policy.yaml'), POLICY);
  service = await d.open();
  cp = new EmbeddedControlPlane(service, { name: d.config.dataDir });
  telemetry = await openTelemetryStore(d.config.telemetry.store);
  const loadPolicy = () => {
    const r = compilePolicyFiles([{ file: join(d.dir, 'policy.yaml'), text: readFileSync(join(d.dir, 'policy.yaml'), 'utf8') }]);
    if (!r.policy) throw new Error(JSON.stringify(r.problems));
    return r.policy;
  };
  const log = createLogger({ write: (s) => logLines.push(s), format: 'json', level: 'debug' });
  daemon = await startDaemon({ config: d.config, controlPlane: cp, service, telemetry, catalogue: null, loadPolicy, mode: 'approve', log, listen: '127.0.0.1:0', dispatchEveryMs: 200 });
  url = daemon.url;
}, 60_000);

afterAll(async () => {
  await daemon?.stop(0);
  await cp?.close();
  await telemetry?.close();
  await d?.cleanup();
});

describe('the structured logger', () => {
  test.each([
    { format: 'json' as const, check: (line: string) => expect(JSON.parse(line)).toMatchObject({ level: 'warn', msg: 'hello', run: 'r1', token: '[redacted]', nested: { password: '[redacted]', ok: 1 } }) },
    { format: 'text' as const, check: (line: string) => expect(line).toMatch(/^\d\d:\d\d:\d\d WARN {2}hello run=r1 token=\[redacted\] nested=\{"password":"\[redacted\]","ok":1\}$/) },
  ])('$format lines; secret-looking fields are redacted at any depth', ({ format, check }) => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), format, level: 'info' });
    log.debug('dropped below the level');
    log.child({ run: 'r1' }).warn('hello', { token: ADMIN, nested: { password: 'hunter2-hunter2', ok: 1 } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(ADMIN);
    expect(lines[0]).not.toContain('hunter2');
    check(lines[0]!);
  });
});

describe("Ballast's API", () => {
  test.sequential('health, readiness, inventory and telemetry answer; the OpenAPI document is served and committed', async () => {
    const h = await call('GET', '/healthz', { token: null });
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', pid: process.pid, mode: 'approve', stopping: false });
    const r = await call('GET', '/readyz', { token: null });
    expect(r.status).toBe(200);
    expect((r.body!['checks'] as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([['accepting', true], ['control-plane', true], ['telemetry', true]]);
    const inv = await call('GET', '/api/v1/inventory', { token: MEMBER });
    expect(inv.status).toBe(200);
    expect((inv.body!['pools'] as { name: string }[]).map((p) => p.name)).toEqual([HDD_A, HDD_B, 'ballast@fast#ssd-a', 'ballast@fast#ssd-b']);
    const fresh = inv.body!['freshness'] as { ageMs: number; maxAgeMs: number; store: string };
    expect(fresh.ageMs).toBeLessThan(fresh.maxAgeMs);
    expect(fresh.store).toMatch(/^sqlite:/);
    const t = await call('GET', `/api/v1/telemetry/pool/capacity.allocated_gib?window=1h&key=${encodeURIComponent(HDD_B)}`);
    expect(t.status).toBe(200);
    expect((t.body!['series'] as { key: string; samples: unknown[] }[]).map((s) => s.key)).toEqual([HDD_B]);
    expect((await call('GET', '/v3', { token: null })).status).toBe(200); // Cinder's API is served beside it
    const doc = await call('GET', '/api/v1/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    const fresh2 = openApiText();
    const file = join(REPO_ROOT, 'docs', 'openapi.json');
    if (process.env['BALLAST_UPDATE_SCHEMA'] === '1') writeFileSync(file, fresh2);
    expect(readFileSync(file, 'utf8'), 'docs/openapi.json is stale: regenerate with BALLAST_UPDATE_SCHEMA=1').toBe(fresh2);
    expect(doc.body).toEqual(JSON.parse(fresh2));
    const refs = [...fresh2.matchAll(/"\$ref": "([^"]+)"/g)].map((m) => m[1]!);
    const components = (doc.body!['components'] as { schemas: Record<string, unknown> }).schemas;
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of new Set(refs)) expect(ref.startsWith('#/components/schemas/') && ref.slice(21) in components, ref).toBe(true);
    expect(Object.keys(doc.body!['paths'] as object)).toContain('/api/v1/runs/{id}/events');
  });

  test.sequential.each([
    { name: 'GET inventory without a token', method: 'GET', path: '/api/v1/inventory', token: null, status: 401, code: 'API_UNAUTHORIZED' },
    { name: 'GET plans with a wrong token', method: 'GET', path: '/api/v1/plans', token: 'not-a-token-at-all-xyz', status: 401, code: 'API_UNAUTHORIZED' },
    { name: 'POST plans without a token', method: 'POST', path: '/api/v1/plans', token: null, status: 401, code: 'API_UNAUTHORIZED' },
    { name: 'POST plans as a member', method: 'POST', path: '/api/v1/plans', token: MEMBER, status: 403, code: 'API_FORBIDDEN' },
    { name: 'POST runs as a member', method: 'POST', path: '/api/v1/runs', token: MEMBER, body: { planId: 'x' }, status: 403, code: 'API_FORBIDDEN' },
    { name: 'approve as a member', method: 'POST', path: '/api/v1/plans/x/approve', token: MEMBER, status: 403, code: 'API_FORBIDDEN' },
    { name: 'cancel without a token', method: 'POST', path: '/api/v1/runs/x/cancel', token: null, status: 401, code: 'API_UNAUTHORIZED' },
    { name: 'malformed JSON', method: 'POST', path: '/api/v1/plans', raw: '{"timeLimitMs": ', status: 400, code: 'INVALID_INPUT' },
    { name: 'unknown field', method: 'POST', path: '/api/v1/plans', body: { timeLimitMs: 1000, force: true }, status: 400, code: 'INVALID_INPUT' },
    { name: 'wrong type', method: 'POST', path: '/api/v1/runs', body: { planId: 7 }, status: 400, code: 'INVALID_INPUT' },
    { name: 'missing body', method: 'POST', path: '/api/v1/runs', status: 400, code: 'INVALID_INPUT' },
    { name: 'oversized body', method: 'POST', path: '/api/v1/plans', raw: JSON.stringify({ note: 'x'.repeat(5000) }), status: 413, code: 'API_BODY_TOO_LARGE' },
    { name: 'not JSON', method: 'POST', path: '/api/v1/plans', raw: 'a=1', headers: { 'content-type': 'text/plain' }, status: 415, code: 'API_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'unknown plan', method: 'POST', path: '/api/v1/plans/plan-nope/approve', status: 404, code: 'PLAN_NOT_FOUND' },
    { name: 'unknown run', method: 'GET', path: '/api/v1/runs/run-nope', status: 404, code: 'RUN_NOT_FOUND' },
    { name: 'bad limit', method: 'GET', path: '/api/v1/runs?limit=abc', status: 400, code: 'INVALID_INPUT' },
    { name: 'unknown metric', method: 'GET', path: '/api/v1/telemetry/pool/nope', status: 400, code: 'INVALID_INPUT' },
    { name: 'unknown path', method: 'GET', path: '/api/v1/nothing', status: 404, code: 'API_NOT_FOUND' },
    { name: 'wrong method', method: 'POST', path: '/api/v1/inventory', status: 405, code: 'API_METHOD_NOT_ALLOWED' },
  ])('$name → $status $code, nothing changes', async ({ method, path, token, body, raw, headers, status, code }) => {
    const before = await stateOf();
    const r = await call(method, path, { ...(token !== undefined ? { token } : {}), ...(body !== undefined ? { body } : {}), ...(raw !== undefined ? { raw } : {}), ...(headers ? { headers } : {}) });
    expect(r.status, r.text).toBe(status);
    expect((r.body!['error'] as { code: string }).code).toBe(code);
    expect(r.headers.get('x-ballast-error-code')).toBe(code);
    expect(await stateOf()).toBe(before);
  });

  test.sequential('a plan made on request waits; reject, approve, the run streams its events and ends', async () => {
    await volumesOnHddB(2, 2 * MiB);
    const made = await call('POST', '/api/v1/plans', { body: { timeLimitMs: 5000 } });
    expect(made.status, made.text).toBe(201);
    const first = made.body as unknown as PlanRecord;
    expect(first).toMatchObject({ status: 'recommended', origin: 'api', moves: 2, decidedBy: null, runId: null });
    const shown = (await call('GET', `/api/v1/plans/${first.id}`, { token: MEMBER })).body!;
    const moves = (shown['plan'] as { moves: { from: string; to: string; reason: string; serves: string[] }[] }).moves;
    for (const m of moves) expect(m).toMatchObject({ from: HDD_B, to: HDD_A, serves: expect.arrayContaining(['drain-hdd-b']) as unknown });
    expect(moves.every((m) => m.reason.length > 10)).toBe(true);
    // Same moves again: the waiting plan stays; reject it, then a new request makes a new one.
    expect(((await call('POST', '/api/v1/plans')).body as unknown as PlanRecord).id).toBe(first.id);
    const rejected = await call('POST', `/api/v1/plans/${first.id}/reject`, { body: { note: 'not tonight' } });
    expect(rejected.body).toMatchObject({ status: 'rejected', decidedBy: 'ops', note: 'not tonight' });
    expect((await call('POST', `/api/v1/plans/${first.id}/approve`)).status).toBe(409);
    const older = (await call('POST', '/api/v1/plans')).body as unknown as PlanRecord;
    expect(older).toMatchObject({ status: 'recommended', moves: 2 });
    expect(older.id).not.toBe(first.id);
    // The fleet changes: a newer inventory needs other moves and supersedes the waiting plan.
    await volumesOnHddB(1, 2 * MiB);
    const second = (await call('POST', '/api/v1/plans')).body as unknown as PlanRecord;
    expect(second).toMatchObject({ status: 'recommended', moves: 3 });
    expect(((await call('GET', `/api/v1/plans/${older.id}`)).body!['record'] as PlanRecord).status).toBe('superseded');
    expect((await call('POST', `/api/v1/plans/${older.id}/approve`)).status).toBe(409);
    expect((await call('GET', '/api/v1/runs')).body!['runs']).toEqual([]); // approve mode: nothing runs by itself

    const approved = await call('POST', `/api/v1/plans/${second.id}/approve`);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'ops' });
    let runId = '';
    await waitFor('the approved plan starts', async () => {
      const p = (await call('GET', `/api/v1/plans/${second.id}`)).body!['record'] as PlanRecord;
      runId = p.runId ?? '';
      return p.status === 'applied' && runId !== '';
    });
    const res = await fetch(`${url}/api/v1/runs/${runId}/events`, { headers: { 'x-auth-token': MEMBER } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text(); // the stream ends with the run
    const events = text.split('\n\n').filter((b) => b.includes('event: ')).map((b) => ({ event: /event: (\S+)/.exec(b)![1]!, data: JSON.parse(/data: (.*)/.exec(b)![1]!) as Record<string, unknown> }));
    expect(events[0]!.event).toBe('snapshot');
    expect(events.at(-1)).toEqual({ event: 'end', data: { runId, state: 'finished' } });
    const snapshotDone = ((events[0]!.data['moves'] as { id: string; state: string }[]).filter((m) => m.state === 'done')).map((m) => m.id);
    const streamedDone = events.filter((e) => e.event === 'transition' && e.data['to'] === 'done').map((e) => e.data['moveId'] as string);
    expect([...snapshotDone, ...streamedDone].sort()).toEqual(['m001', 'm002', 'm003']);
    const detail = await runToEnd(runId);
    expect(detail.run).toMatchObject({ state: 'finished', counts: { done: 3 }, live: false });
    expect(detail.moves.map((m) => [m.id, m.state, m.to])).toEqual([['m001', 'done', HDD_A], ['m002', 'done', HDD_A], ['m003', 'done', HDD_A]]);
    expect(service.listVolumes().filter((v) => v.host === HDD_B)).toEqual([]);
    expect((await call('POST', `/api/v1/runs/${runId}/cancel`)).status).toBe(409); // already ended
    expect((await call('POST', '/api/v1/runs', { body: { planId: second.id } })).status).toBe(409); // applied
  }, 60_000);

  test.sequential('/metrics is valid Prometheus text and agrees with the journal', async () => {
    const r = await call('GET', '/metrics', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = r.text.trimEnd().split('\n');
    const typed = new Set<string>();
    for (const line of lines) {
      if (line.startsWith('# HELP ')) continue;
      const t = /^# TYPE ([a-z_]+) (counter|gauge|histogram)$/.exec(line);
      if (t) {
        typed.add(t[1]!);
        continue;
      }
      const m = /^([a-z_]+?)(_bucket|_sum|_count)?(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(typed.has(m![1]!) || typed.has(`${m![1]}${m![2] ?? ''}`), line).toBe(true);
    }
    const value = (re: RegExp) => Number(lines.find((l) => re.test(l))?.split(' ')[1]);
    const journal = RunJournal.open(join(d.config.dataDir, 'runs.db'));
    const done = journal.listRuns().reduce((n, run) => n + (run.counts['done'] ?? 0), 0);
    journal.close();
    expect(value(/^ballast_moves\{state="done"\}/)).toBe(done);
    expect(value(/^ballast_moved_bytes_total /)).toBe(3 * 2 * MiB);
    expect(value(/^ballast_run_duration_seconds_count /)).toBe(1);
    expect(value(/^ballast_pool_utilization_ratio\{pool="ballast@capacity#hdd-b"\}/)).toBe(0);
    expect(value(/^ballast_telemetry_age_seconds\{pool="ballast@capacity#hdd-a"\}/)).toBeLessThan(900);
    expect(value(/^ballast_solver_seconds /)).toBeGreaterThanOrEqual(0);
    for (const name of ['ballast_plans', 'ballast_cycles_total', 'ballast_run_active', 'ballast_solver_gap', 'ballast_pool_allocated_gib']) expect(typed.has(name), name).toBe(true);
  });

  test.sequential('an approved plan waits while the maintenance window is closed, and starts once it opens', async () => {
    await volumesOnHddB(1, MiB);
    const file = join(d.dir, 'policy.yaml');
    const closedHour = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
    writeFileSync(file, `${POLICY}when:\n  maintenanceWindows:\n    - { days: [mon, tue, wed, thu, fri, sat, sun], start: "${closedHour}:00", end: "${closedHour}:30" }\n`);
    const runsBefore = ((await call('GET', '/api/v1/runs')).body!['runs'] as RunItem[]).length;
    const plan = (await call('POST', '/api/v1/plans')).body as unknown as PlanRecord;
    expect((await call('POST', `/api/v1/plans/${plan.id}/approve`)).body).toMatchObject({ status: 'approved' });
    await waitFor('the daemon says the plan waits for a window', () => logLines.some((l) => l.includes('"approved plan waits"') && l.includes(plan.id) && l.includes('outside the maintenance windows')));
    expect(((await call('GET', `/api/v1/plans/${plan.id}`)).body!['record'] as PlanRecord).status).toBe('approved');
    expect(((await call('GET', '/api/v1/runs')).body!['runs'] as RunItem[]).length).toBe(runsBefore);
    writeFileSync(file, POLICY); // no window: moves may start at any time (policies are re-read, no restart)
    const runId = await waitFor('the plan starts', async () => ((await call('GET', `/api/v1/plans/${plan.id}`)).body!['record'] as PlanRecord).runId);
    expect((await runToEnd(runId)).run.state).toBe('finished');
  }, 60_000);

  test.sequential('load: 2,000 requests, 16 at a time, while a run copies: health and progress keep answering, bad requests get 4xx and change nothing', async () => {
    await volumesOnHddB(3, 12 * MiB); // 36 MiB at 2 MiB/s: about 18 s of copying
    const plan = (await call('POST', '/api/v1/plans')).body as unknown as PlanRecord;
    const started = await call('POST', '/api/v1/runs', { body: { planId: plan.id } });
    expect(started.status, started.text).toBe(202);
    const runId = (started.body as unknown as RunItem).id;
    await waitFor('a move is copying', async () => ((await call('GET', `/api/v1/runs/${runId}`)).body as unknown as RunDetail).progress?.active.some((m) => m.state === 'running' && m.bytesDone > 0), { timeoutMs: 30_000 });
    const before = await stateOf(false); // the run moves volumes meanwhile: plans and runs must not change
    const kinds = [
      { name: 'health', method: 'GET', path: '/healthz', token: null, expect: 200 },
      { name: 'progress', method: 'GET', path: `/api/v1/runs/${runId}`, token: MEMBER, expect: 200 },
      { name: 'runs', method: 'GET', path: '/api/v1/runs', token: MEMBER, expect: 200 },
      { name: 'malformed', method: 'POST', path: '/api/v1/runs', token: ADMIN, raw: '{"planId":', expect: 400 },
      { name: 'invalid', method: 'POST', path: `/api/v1/plans/${plan.id}/approve`, token: ADMIN, raw: '{"note": 5}', expect: 400 },
      { name: 'oversized', method: 'POST', path: '/api/v1/plans', token: ADMIN, raw: JSON.stringify({ note: 'y'.repeat(6000) }), expect: 413 },
      { name: 'unauthenticated', method: 'POST', path: `/api/v1/runs/${runId}/cancel`, token: null, expect: 401 },
      { name: 'forbidden', method: 'POST', path: `/api/v1/runs/${runId}/cancel`, token: MEMBER, expect: 403 },
    ] as const;
    const TOTAL = 2000;
    const CONCURRENCY = 16;
    const latencies: Record<string, number[]> = {};
    const wrong: string[] = [];
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= TOTAL) return;
        const k = kinds[i % kinds.length]!;
        const s = performance.now();
        const r = await call(k.method, k.path, { token: k.token, ...('raw' in k ? { raw: k.raw } : {}) });
        (latencies[k.name] ??= []).push(performance.now() - s);
        if (r.status !== k.expect) wrong.push(`${k.name}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = performance.now() - t0;
    const during = (await call('GET', `/api/v1/runs/${runId}`)).body as unknown as RunDetail;
    expect(wrong).toEqual([]);
    expect(Object.values(latencies).reduce((n, l) => n + l.length, 0)).toBe(TOTAL);
    const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;
    console.log(`load: ${TOTAL} requests in ${Math.round(elapsed)} ms; p99 health ${p99(latencies['health']!).toFixed(1)} ms, progress ${p99(latencies['progress']!).toFixed(1)} ms`);
    expect(p99(latencies['health']!)).toBeLessThan(1000);
    expect(p99(latencies['progress']!)).toBeLessThan(1000);
    expect(elapsed).toBeLessThan(30_000);
    expect(during.run.live, 'the run was still copying when the load ended').toBe(true);
    expect(await stateOf(false)).toBe(before);
    // Cancel over the API: running move rolled back or finished, nothing left in between.
    const cancel = await call('POST', `/api/v1/runs/${runId}/cancel`);
    expect(cancel.status).toBe(202);
    const end = await runToEnd(runId);
    expect(end.run.state).toBe('cancelled');
    for (const m of end.moves) expect(['done', 'cancelled']).toContain(m.state);
    for (const v of service.listVolumes()) expect(['available']).toContain(v.status);
    expect(logLines.join('\n')).not.toContain(ADMIN);
    expect(logLines.join('\n')).not.toContain(MEMBER);
  }, 90_000);
});
