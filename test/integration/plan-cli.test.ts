/**
 * `ballast plan` on a real embedded deployment (the built CLI, real SQLite state, real drivers):
 * drain a pool under the repository's example policies, check the plan file, then carry the moves
 * out with `ballast migrate` in plan order and check the pools end where the plan says.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Plan } from '../../src/model/index.js';
import { readPlanFile } from '../../src/planner/index.js';
import { generateFleet } from '../../src/solver/index.js';
import { CLI, Deployment, describeResult, exitOf, fastState, reEscape, REPO_ROOT, waitFor } from './cli-helpers.js';

let d: Deployment;
const HDD_A = 'ballast@capacity#hdd-a';
const HDD_B = 'ballast@capacity#hdd-b';
const SSD_A = 'ballast@fast#ssd-a';

/** The deployment's state without the telemetry store: `plan` collects telemetry (the store grows), nothing else may change. */
async function stateBesidesTelemetry(): Promise<Awaited<ReturnType<typeof fastState>>> {
  const s = await fastState(d);
  return { ...s, files: Object.fromEntries(Object.entries(s.files).filter(([k]) => !k.startsWith('telemetry.db'))) };
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npx tsc -p .' first`);
  d = await Deployment.create('plan');
  // The repository's example policies, as `policies/` of the deployment (the command's default).
  mkdirSync(join(d.dir, 'policies'));
  for (const f of ['default-balance.yaml', 'drain-hdd-b.yaml']) cpSync(join(REPO_ROOT, 'policies', f), join(d.dir, 'policies', f));
  for (const [size, name] of [
    [12, 'logs'],
    [8, 'backup'],
    [5, 'scratch'],
  ] as const) {
    await d.ok(['volume', 'create', String(size), '--type', 'standard', '--name', name, '--host', HDD_B]);
  }
  await d.ok(['volume', 'create', '30', '--type', 'gold', '--name', 'db', '--host', SSD_A]);
});

afterAll(async () => {
  await d?.cleanup();
});

async function plan(args: string[]): Promise<{ plan: Plan; stdout: string }> {
  const r = await d.run(['plan', '--format', 'json', ...args]);
  expect(r.code, describeResult(r)).toBe(0);
  return { plan: readPlanFile('stdout', r.stdout), stdout: r.stdout };
}

describe('ballast plan on an embedded deployment', () => {
  test.sequential('drains hdd-b under the example policies: a valid plan file, kinds and reasons, nothing changed', async () => {
    const before = await stateBesidesTelemetry();
    const out = join(d.dir, 'plan.json');
    const { plan: p, stdout } = await plan(['--out', out]);
    expect(readFileSync(out, 'utf8')).toBe(stdout);
    const drained = p.moves.filter((m) => m.from === HDD_B);
    expect(drained.map((m) => m.volumeName).sort()).toEqual(['backup', 'logs', 'scratch']);
    for (const m of drained) {
      expect(m.to).toBe(HDD_A); // the only other pool serving 'standard'
      expect(m.kind).toBe('generic-copy'); // chunked never moves by itself
      expect(m.serves).toContain('drain-hdd-b');
      expect(m.reason.length).toBeGreaterThan(10);
    }
    expect(p.pools.find((x) => x.pool === HDD_B)).toMatchObject({ usedBeforeGiB: 25, usedAfterGiB: 0 });
    expect(p.policies).toEqual(['default-balance', 'drain-hdd-b']);
    expect(p.expiresAtMs - p.createdAtMs).toBe(15 * 60_000);
    expect(await stateBesidesTelemetry()).toEqual(before);
  });

  test.sequential('from an inventory saved by ballast inventory save: table and markdown, the same moves twice', async () => {
    expect((await d.run(['telemetry', 'collect'])).code).toBe(0);
    const saved = await d.run(['inventory', 'save', 'inv.json']);
    expect(saved.code, describeResult(saved)).toBe(0);
    const t = await d.run(['plan', '--inventory', 'inv.json', '--out', 'a.json']);
    expect(t.code, describeResult(t)).toBe(0);
    expect(t.stdout).toMatch(/^plan plan-\d{8}T\d{6}Z-[0-9a-f]{8} from inventory \S+, made /);
    expect(t.stdout).toContain('| id ');
    const m = await d.run(['plan', '--inventory', 'inv.json', '--format', 'markdown', '--out', 'b.json']);
    expect(m.stdout).toMatch(/^### Ballast plan /);
    expect(m.stdout).toContain('#### Pools');
    const a = readPlanFile('a.json', readFileSync(join(d.dir, 'a.json'), 'utf8'));
    const b = readPlanFile('b.json', readFileSync(join(d.dir, 'b.json'), 'utf8'));
    expect(a.inventoryId).toBe((JSON.parse(readFileSync(join(d.dir, 'inv.json'), 'utf8')) as { id: string }).id);
    expect(b.inventoryId).toBe(a.inventoryId);
    expect(b.moves).toEqual(a.moves);
    expect(a.moves.filter((x) => x.from === HDD_B)).toHaveLength(3);
  });

  test.sequential('--inventory FILE: a generated fleet; the same file and policies give the same moves and renderings', async () => {
    const inv = generateFleet({ volumes: 300, pools: 9, seed: 3 });
    writeFileSync(join(d.dir, 'fleet.json'), JSON.stringify(inv, null, 2));
    writeFileSync(
      join(d.dir, 'fleet.yaml'),
      [
        'apiVersion: ballast.io/v1',
        'kind: PlacementPolicy',
        'metadata: { name: fleet }',
        'constraints:',
        '  capacity: { maxUtilization: 85% }',
        '  keepWithinAvailabilityZone: true',
        '  allowInUse: true',
        'objectives:',
        '  balance: { weight: 1 }',
        '  cost: { weight: 1 }',
        '  moveCost: { perGiB: 0.000001 }',
        '  minGain: 0%',
        '',
      ].join('\n'),
    );
    const args = ['--inventory', 'fleet.json', '--policy', 'fleet.yaml', '--format', 'markdown'];
    const m1 = await d.run(['plan', ...args, '--out', 'fleet-a.json']);
    const m2 = await d.run(['plan', ...args, '--out', 'fleet-b.json']);
    expect(m1.code, describeResult(m1)).toBe(0);
    const a = readPlanFile('fleet-a.json', readFileSync(join(d.dir, 'fleet-a.json'), 'utf8'));
    const b = readPlanFile('fleet-b.json', readFileSync(join(d.dir, 'fleet-b.json'), 'utf8'));
    expect(a.inventoryId).toBe(inv.id);
    expect(a.moves.length).toBeGreaterThan(0);
    expect(b.moves).toEqual(a.moves);
    expect(b.pools).toEqual(a.pools);
    // The renderings differ only in the plan id and the times.
    const timeless = (t: string) => t.replace(/plan-\d{8}T\d{6}Z-[0-9a-f]{8}/g, 'PLAN').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, 'TIME').replace(/\d+ ms/g, 'N ms');
    expect(timeless(m2.stdout)).toBe(timeless(m1.stdout));
    for (const m of a.moves) expect(inv.pools.find((p) => p.name === m.to)!.availabilityZone).toBe(inv.volumes.find((v) => v.id === m.volumeId)!.availabilityZone);
  });

  test.sequential('--explain says why a volume moves or stays', async () => {
    const r = await d.run(['plan', '--explain', 'logs']);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(20);
    const missing = await d.run(['plan', '--explain', 'no-such-volume']);
    expect(missing.code).toBe(exitOf('VOLUME_NOT_FOUND'));
    expect(missing.stderr).toMatch(/^ERROR \[VOLUME_NOT_FOUND\]: .*no-such-volume/m);
  });

  test.sequential('--dry-run predicts the run with the shared executor on a simulated fleet; nothing changes', async () => {
    const before = await stateBesidesTelemetry();
    const r = await d.run(['plan', '--dry-run']);
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toMatch(/Dry run \(the shared executor on a simulated copy of the fleet.*\): 3 of 3 moves finished; copying takes \S+, \S+ from now including waits for maintenance windows\./);
    expect(r.stdout).toMatch(new RegExp(`\\| ${reEscape(HDD_B)} +\\| +\\d+\\.\\d%`));
    expect(await stateBesidesTelemetry()).toEqual(before);
  });

  test.sequential('--no-collect plans from stored telemetry only, and refuses it when stale', async () => {
    const fresh = await d.run(['plan', '--no-collect', '--format', 'json']);
    expect(fresh.code, describeResult(fresh)).toBe(0); // the runs above collected moments ago
    const cfg = readFileSync(d.config, 'utf8');
    expect(cfg).toContain('  # maxAge: 15m');
    writeFileSync(d.config, cfg.replace('  # maxAge: 15m', '  maxAge: 1s'));
    try {
      const stale = await waitFor('the stored samples to be older than 1s', async () => {
        const r = await d.run(['plan', '--no-collect']);
        return r.code !== 0 ? r : false;
      });
      expect(stale.code).toBe(exitOf('TELEMETRY_STALE'));
      expect(stale.stderr).toMatch(/^ERROR \[TELEMETRY_STALE\]: .*ballast@/m);
    } finally {
      writeFileSync(d.config, cfg);
    }
  });

  test.sequential('bad input is refused with a stable code and located problems', async () => {
    const before = await stateBesidesTelemetry();
    writeFileSync(join(d.dir, 'bad-policy.yaml'), 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata: { name: x }\nconstraints:\n  capacty: {}\n');
    const badPolicy = await d.run(['plan', '--policy', 'bad-policy.yaml']);
    expect(badPolicy.code, describeResult(badPolicy)).toBe(exitOf('POLICY_INVALID'));
    expect(badPolicy.stderr).toMatch(/bad-policy\.yaml:5:3: constraints\.capacty: unknown key 'capacty' \(did you mean 'capacity'\?\)/);

    writeFileSync(join(d.dir, 'inv.json'), '{\n  "schema": "ballast.io/inventory/v0"\n}\n');
    const badInv = await d.run(['plan', '--inventory', 'inv.json']);
    expect(badInv.code, describeResult(badInv)).toBe(exitOf('INVENTORY_INVALID'));
    expect(badInv.stderr).toMatch(/inv\.json:2:13: schema: /);

    // Draining every pool that serves 'standard' cannot be met: refused, with the conflicts and a relaxation.
    writeFileSync(
      join(d.dir, 'drain-all.yaml'),
      'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata: { name: drain-all-hdd }\nscope: { pools: ["ballast@capacity#*"] }\nconstraints:\n  drainPools: ["ballast@capacity#*"]\n',
    );
    const infeasible = await d.run(['plan', '--policy', 'policies/default-balance.yaml', 'drain-all.yaml', '--out', 'never.json']);
    expect(infeasible.code, describeResult(infeasible)).toBe(exitOf('PLAN_REFUSED'));
    expect(infeasible.stderr).toMatch(/^ERROR \[PLAN_REFUSED\]: the policies cannot all be met/m);
    expect(infeasible.stderr).toMatch(/^ {2}conflict: .*drainPools/m);
    expect(infeasible.stderr).toMatch(/^ {2}closest relaxation: /m);
    expect(existsSync(join(d.dir, 'never.json'))).toBe(false);

    const badLimit = await d.run(['plan', '--time-limit', 'soon']);
    expect(badLimit.code).toBe(exitOf('INVALID_INPUT'));
    expect(await stateBesidesTelemetry()).toEqual(before);
  });

  test.sequential('carrying the moves out in plan order with ballast migrate empties hdd-b', async () => {
    const { plan: p } = await plan([]);
    expect(p.moves.length).toBeGreaterThanOrEqual(3);
    for (const m of p.moves) {
      const r = await d.run(['--json', 'migrate', m.volumeId, m.to, '--wait']);
      expect(r.code, describeResult(r)).toBe(0);
    }
    const { pools } = await d.ok<{ pools: { name: string; capabilities: Record<string, number> }[] }>(['pool', 'list', '--detail']);
    const allocated = Object.fromEntries(pools.map((x) => [x.name, x.capabilities['allocated_capacity_gb']]));
    for (const pc of p.pools) expect(allocated[pc.pool], pc.pool).toBe(pc.usedAfterGiB);
    // A new plan now has nothing left to drain.
    const again = (await plan([])).plan;
    expect(again.moves.filter((m) => m.from === HDD_B)).toEqual([]);
  });
});
