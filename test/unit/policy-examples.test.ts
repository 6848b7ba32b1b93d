import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  checkPolicies,
  compilePolicyFiles,
  explainPolicy,
  type CompiledPolicy,
  type PolicyInventory,
  type PolicySourceFile,
} from '../../src/policy/index.js';

const DIR = 'policies';
const read = (file: string): PolicySourceFile => ({ file, text: readFileSync(file, 'utf8') });
const examples = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => read(join(DIR, f)));

/** The embedded demo deployment the examples are written for. */
const DEMO: PolicyInventory = {
  pools: ['ballast@fast#ssd-a', 'ballast@fast#ssd-b', 'ballast@capacity#hdd-a', 'ballast@capacity#hdd-b'],
  backends: ['fast', 'capacity'],
  volumeTypes: ['gold', 'standard'],
  availabilityZones: ['nova'],
};

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;
const MiB = 1024 ** 2;

describe('example policies', () => {
  test('the four examples are present', () => {
    expect(examples.map((e) => e.file)).toEqual([
      'policies/cost-tiering.yaml',
      'policies/default-balance.yaml',
      'policies/drain-hdd-b.yaml',
      'policies/gold-latency.yaml',
    ]);
  });

  test.each(examples.map((e) => ({ name: e.file, file: e })))('$name passes alone, against the demo inventory', ({ file }) => {
    const r = checkPolicies([file], { inventory: DEMO });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.policy?.rules).toHaveLength(1);
  });

  test.each(examples.map((e) => ({ name: e.file, file: e })))('$name starts with the editor schema comment and explains itself', ({ file }) => {
    expect(file.text.startsWith('# yaml-language-server: $schema=./policy.schema.json\n#\n# ')).toBe(true);
  });

  test('all examples compose without conflicts', () => {
    const r = checkPolicies(examples, { inventory: DEMO });
    expect(r.problems).toEqual([]);
    expect(r.policy?.rules.map((x) => x.name)).toEqual(['cost-tiering', 'default-balance', 'drain-hdd-b', 'gold-latency']);
  });

  test('the composed policy takes run-wide settings by priority', () => {
    const p = checkPolicies(examples).policy!;
    // drain-hdd-b (priority 10) overrides default-balance (0) for the settings it writes...
    expect(p.budgets).toEqual({ maxMoves: 60, maxBytesMoved: 8 * TiB });
    expect(p.execution.maxConcurrentPerPool).toBe(3);
    expect(p.when.maintenanceWindows).toHaveLength(2);
    expect(p.origins['when.maintenanceWindows']).toMatch(/^policies\/drain-hdd-b\.yaml:\d+:\d+$/);
    // ...and the rest still comes from default-balance, or from the only file that sets it.
    expect(p.execution.maxConcurrentTotal).toBe(4);
    expect(p.origins['execution.maxConcurrent.total']).toMatch(/^policies\/default-balance\.yaml:/);
    expect(p.objectives.cost.weight).toBe(0.5);
    expect(p.objectives.performance.weight).toBe(2);
    expect(p.when.schedule).toBe('0 1 * * *');
  });

  test('compile output of default-balance.yaml', () => {
    const r = compilePolicyFiles([read('policies/default-balance.yaml')]);
    expect(r.problems).toEqual([]);
    const p = r.policy!;
    const expected: CompiledPolicy = {
      apiVersion: 'ballast.io/v1',
      rules: [
        {
          name: 'default-balance',
          description: 'Keep every pool at or below 85% and balance used capacity across pools, a few moves a night.',
          file: 'policies/default-balance.yaml',
          priority: 0,
          scope: { volumeTypes: [], projects: [], volumeNamePatterns: [], volumeMetadata: {}, poolPatterns: [], backends: [], availabilityZones: [] },
          constraints: {
            maxUtilizationPct: 85,
            maxIopsUtilizationPct: null,
            maxThroughputUtilizationPct: null,
            minFreeIops: null,
            minFreeThroughputBytesPerSec: null,
            drainPoolPatterns: [],
            excludedDestinationPatterns: [],
            pinnedVolumeRefs: [],
            excludedVolumeRefs: [],
            keepWithinAvailabilityZone: true,
            allowInUse: false,
            antiAffinity: [],
            affinity: [],
          },
        },
      ],
      budgets: { maxMoves: 20, maxBytesMoved: 2 * TiB },
      objectives: {
        balance: { weight: 1, by: 'capacity', metric: 'max' },
        cost: { weight: 0, pricing: [], defaultCostPerGiBMonth: 0 },
        performance: { weight: 0, metrics: ['latencyP95', 'iops'], targetLatencyP95Ms: null },
        moveCostPerGiB: 0.002,
        minGainPct: 2,
      },
      execution: {
        maxConcurrentTotal: 4,
        maxConcurrentPerPool: 2,
        maxConcurrentPerBackend: 2,
        maxConcurrentInUse: 1,
        maxBandwidthBytesPerSec: 200 * MiB,
        forceHostCopy: false,
        lockVolume: true,
        retypeMigrationPolicy: 'never',
        moveTimeoutMs: 6 * 3_600_000,
        planValidForMs: 15 * 60_000,
      },
      when: {
        schedule: '0 1 * * *',
        timeZone: 'UTC',
        maintenanceWindows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], startMinute: 60, endMinute: 300, timeZone: 'UTC' }],
        paused: false,
      },
      defaults: { keepWithinAvailabilityZone: true, allowInUse: false },
      origins: p.origins,
    };
    expect(p).toEqual(expected);
    expect(Object.keys(p.origins)).toContain('constraints.budgets.maxBytes');
    expect(p.origins['execution.maxBandwidth']).toBe('policies/default-balance.yaml:39:17'); // line 39: maxBandwidth: 200MiB/s
  });

  test('compiled policies are deeply frozen', () => {
    const p = checkPolicies(examples).policy!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.rules[0]!.scope.volumeTypes)).toBe(true);
    expect(Object.isFrozen(p.when.maintenanceWindows[0])).toBe(true);
    expect(() => {
      (p.execution as { maxConcurrentTotal: number }).maxConcurrentTotal = 99;
    }).toThrow(TypeError);
  });

  test('gold-latency.yaml compiles its quantities to unit-named numbers', () => {
    const p = checkPolicies([read('policies/gold-latency.yaml')]).policy!;
    expect(p.rules[0]!.constraints).toMatchObject({ maxUtilizationPct: 75, maxIopsUtilizationPct: 70, minFreeIops: 5000, allowInUse: true });
    expect(p.rules[0]!.constraints.antiAffinity).toEqual([{ labelKey: 'app', across: 'pool' }]);
    expect(p.objectives.performance.targetLatencyP95Ms).toBe(5);
    expect(p.budgets).toEqual({ maxMoves: null, maxBytesMoved: null });
  });

  test('drain-hdd-b.yaml windows: all weekend, and weeknights across midnight', () => {
    const p = checkPolicies([read('policies/drain-hdd-b.yaml')]).policy!;
    expect(p.when.maintenanceWindows).toEqual([
      { days: ['sat', 'sun'], startMinute: 0, endMinute: 1440, timeZone: 'UTC' },
      { days: ['mon', 'tue', 'wed', 'thu', 'fri'], startMinute: 22 * 60, endMinute: 6 * 60, timeZone: 'UTC' },
    ]);
  });

  test('cost-tiering.yaml prices pools per GiB-month', () => {
    const p = checkPolicies([read('policies/cost-tiering.yaml')]).policy!;
    expect(p.objectives.cost).toEqual({
      weight: 0.5,
      pricing: [
        { poolPattern: 'ballast@fast#*', costPerGiBMonth: 0.2 },
        { poolPattern: 'ballast@capacity#*', costPerGiBMonth: 0.03 },
      ],
      defaultCostPerGiBMonth: 0.1,
    });
    expect(p.rules[0]!.scope.volumeMetadata).toEqual({ tier: 'cold' });
    expect(GiB).toBeGreaterThan(0);
  });
});

describe('policy explain', () => {
  test('gold-latency.yaml, in plain language', () => {
    const p = checkPolicies([read('policies/gold-latency.yaml')]).policy!;
    const md = explainPolicy(p);
    expect(md).toMatchInlineSnapshot(`
      "# Placement policy: \`gold-latency\`

      > Gold volumes keep SSD headroom and low latency; replicas of one app never share a pool.

      Source: \`policies/gold-latency.yaml\`, priority 5.

      ## What it governs

      - Volumes of type \`gold\`, living on pools of back-end \`fast\`.
      - Pool limits apply to the pools of back-end \`fast\`.

      ## Hard constraints

      A plan that breaks one of these is never proposed.

      - **Capacity**: each pool in scope stays at or below **75%** used after a plan (Cinder's capacity math).
      - **Performance headroom**: each pool in scope uses at most **70%** of its rated IOPS at p95, and keeps at least **5000 IOPS** free.
      - **Pinned**: volumes \`pg-primary-*\` stay where they are (they still count for capacity and affinity).
      - **Attached volumes**: volumes in scope may be moved while attached (live copy).
      - **Anti-affinity**: volumes with the same \`app\` label value never share a pool.

      ## Run-wide settings

      These apply to the whole run, whatever the scope of the file that sets them.

      ### Objectives

      - **Balance** (weight 1): even out used capacity across pools, lowering the fullest pool first. _(default)_
      - **Performance headroom** (weight 2): keep p95 latency under 5ms and unused IOPS on every pool.
      - Not optimized (weight 0): cost.
      - **Cost of moving**: each GiB moved costs 0.001 _(default)_; no plan is proposed unless it improves the objective by at least **1%** _(default)_.

      ### Budgets per run

      - No cap on moves or bytes per run.

      ### Execution

      - At most **4** moves at once: 2 per pool, 2 per back-end, 1 of attached volumes. _(default)_
      - Copy bandwidth is not capped. _(default)_
      - Available volumes are locked (status \`maintenance\`) while they move. _(default)_
      - Drivers may move data themselves when they can; otherwise it is copied through the host. _(default)_
      - A retype never migrates: it is refused when the pool cannot host the new type (\`never\`). _(default)_
      - A move running longer than 6h is cancelled; a plan expires 15m after its inventory was taken. _(default)_

      ### When

      - No schedule: runs happen on demand only. _(default)_
      - Moves may start at any time. _(default)_
      "
    `);
  });

  test.each(examples.map((e) => ({ name: e.file, file: e })))('$name: explain is deterministic and mentions the policy', ({ file }) => {
    const a = explainPolicy(checkPolicies([file]).policy!);
    const b = explainPolicy(checkPolicies([{ ...file }]).policy!);
    expect(a).toBe(b);
    expect(a).toContain(`Source: \`${file.file}\``);
  });

  test('the composed examples name the file behind each run-wide setting', () => {
    const md = explainPolicy(checkPolicies(examples).policy!);
    expect(md).toContain('## Policy `drain-hdd-b`');
    expect(md).toContain('- At most **60** moves and at most **8TiB** moved per run. _(`policies/drain-hdd-b.yaml`)_');
    expect(md).toContain('  - sat, sun, all day (UTC)');
    expect(md).toContain('  - mon–fri 22:00–06:00 (closing the next day) (UTC)');
  });
});
