import { describe, expect, test } from 'vitest';
import { checkPolicies, resolvePool, resolveVolume, type CompiledPolicy, type PolicySourceFile, type VolumeFacts } from '../../src/policy/index.js';
import { formatLocation } from '../../src/shared/index.js';

/** A policy file from a name, a priority and the YAML body after the header. */
function policy(file: string, name: string, body: string, priority?: number): PolicySourceFile {
  const header = `apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: ${name}\n${priority === undefined ? '' : `priority: ${priority}\n`}`;
  return { file, text: header + body };
}

const compiled = (files: PolicySourceFile[]): CompiledPolicy => {
  const r = checkPolicies(files);
  expect(r.problems).toEqual([]);
  return r.policy!;
};

describe('composition of run-wide settings', () => {
  test.each([
    {
      name: 'higher priority wins',
      files: [
        policy('a.yaml', 'a', 'execution:\n  maxConcurrent:\n    perPool: 2\n'),
        policy('b.yaml', 'b', 'execution:\n  maxConcurrent:\n    perPool: 5\n', 10),
      ],
      want: { perPool: 5, total: 4, origin: 'b.yaml:8:14' }, // line 5 is 'priority: 10'
    },
    {
      name: 'priority beats lexical order',
      files: [
        policy('a.yaml', 'a', 'execution:\n  maxConcurrent:\n    perPool: 1\n', 3),
        policy('z.yaml', 'z', 'execution:\n  maxConcurrent:\n    perPool: 6\n'),
      ],
      want: { perPool: 1, total: 4, origin: 'a.yaml:8:14' },
    },
    {
      name: 'the same value at the same priority is no conflict',
      files: [
        policy('a.yaml', 'a', 'execution:\n  maxConcurrent:\n    perPool: 3\n'),
        policy('b.yaml', 'b', 'execution:\n  maxConcurrent:\n    perPool: 3\n    total: 8\n'),
      ],
      want: { perPool: 3, total: 8, origin: 'a.yaml:7:14' },
    },
    {
      name: 'settings merge leaf by leaf',
      files: [
        policy('a.yaml', 'a', 'execution:\n  maxConcurrent:\n    total: 9\n'),
        policy('b.yaml', 'b', 'execution:\n  maxConcurrent:\n    perPool: 1\n'),
      ],
      want: { perPool: 1, total: 9, origin: 'b.yaml:7:14' },
    },
    {
      name: 'file order given does not matter',
      files: [
        policy('b.yaml', 'b', 'execution:\n  maxConcurrent:\n    perPool: 1\n'),
        policy('a.yaml', 'a', 'execution:\n  maxConcurrent:\n    total: 9\n'),
      ],
      want: { perPool: 1, total: 9, origin: 'b.yaml:7:14' },
    },
  ])('$name', ({ files, want }) => {
    const p = compiled(files);
    expect(p.execution.maxConcurrentPerPool).toBe(want.perPool);
    expect(p.execution.maxConcurrentTotal).toBe(want.total);
    expect(p.origins['execution.maxConcurrent.perPool']).toBe(want.origin);
  });

  test('a conflict at the same priority names both places', () => {
    const r = checkPolicies([
      policy('policies/a.yaml', 'a', 'objectives:\n  balance:\n    metric: max\n'),
      policy('policies/b.yaml', 'b', '# b\nobjectives:\n  balance:\n    metric: spread\n'),
    ]);
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    const [p] = r.problems;
    expect(formatLocation(p!.location)).toBe('policies/b.yaml:8:13');
    expect(p!.path).toBe('objectives.balance.metric');
    expect(p!.message).toBe(
      "conflict: 'objectives.balance.metric' is 'spread' here (policy 'b') but 'max' at policies/a.yaml:7:13 (policy 'a'), both at priority 0: make them agree, or give the file that should win a higher priority",
    );
  });

  test('a conflict is resolved by raising one priority', () => {
    const p = compiled([
      policy('a.yaml', 'a', 'objectives:\n  balance:\n    metric: max\n'),
      policy('b.yaml', 'b', 'objectives:\n  balance:\n    metric: spread\n', 1),
    ]);
    expect(p.objectives.balance.metric).toBe('spread');
  });

  test('lists are one setting: different maintenance windows at the same priority conflict', () => {
    const r = checkPolicies([
      policy('a.yaml', 'a', 'when:\n  maintenanceWindows:\n    - start: "01:00"\n      end: "05:00"\n'),
      policy('b.yaml', 'b', 'when:\n  maintenanceWindows:\n    - start: "02:00"\n      end: "05:00"\n'),
    ]);
    expect(r.problems.map((p) => `${formatLocation(p.location)} ${p.path}`)).toEqual(['b.yaml:7:5 when.maintenanceWindows']);
    expect(r.problems[0]!.message).toContain('at a.yaml:7:5');
  });

  test('equal windows written differently (defaults spelt out) do not conflict', () => {
    const all = '[mon, tue, wed, thu, fri, sat, sun]';
    compiled([
      policy('a.yaml', 'a', 'when:\n  maintenanceWindows:\n    - start: "01:00"\n      end: "05:00"\n'),
      policy('b.yaml', 'b', `when:\n  maintenanceWindows:\n    - days: ${all}\n      start: "01:00"\n      end: "05:00"\n`),
    ]);
  });

  test('three files, two conflicts, all reported', () => {
    const r = checkPolicies([
      policy('a.yaml', 'a', 'constraints:\n  budgets:\n    maxMoves: 1\n'),
      policy('b.yaml', 'b', 'constraints:\n  budgets:\n    maxMoves: 2\n'),
      policy('c.yaml', 'c', 'constraints:\n  budgets:\n    maxMoves: 3\n'),
    ]);
    expect(r.problems.map((p) => formatLocation(p.location))).toEqual(['b.yaml:7:15', 'c.yaml:7:15']);
    expect(r.problems.every((p) => p.message.includes('a.yaml:7:15'))).toBe(true);
  });

  test('duplicate policy names are reported with both places', () => {
    const r = checkPolicies([policy('a.yaml', 'same', ''), policy('b.yaml', 'same', '')]);
    expect(r.problems).toEqual([
      { location: { file: 'b.yaml', line: 4, col: 9 }, path: 'metadata.name', message: "policy name 'same' is already used at a.yaml:4:9: names must be unique" },
    ]);
  });

  test('conflicts among valid files are reported together with the problems of broken ones', () => {
    const r = checkPolicies([
      policy('a.yaml', 'a', 'when:\n  paused: true\n'),
      policy('b.yaml', 'b', 'when:\n  paused: false\n'),
      policy('c.yaml', 'c', 'when:\n  pasued: true\n'),
    ]);
    expect(r.problems.map((p) => `${p.location.file} ${p.path}`)).toEqual(['b.yaml when.paused', 'c.yaml when.pasued']);
  });

  test('no files: every run-wide setting is its default', () => {
    const p = compiled([]);
    expect(p.rules).toEqual([]);
    expect(p.execution.maxConcurrentTotal).toBe(4);
    expect(p.when).toEqual({ schedule: null, timeZone: 'UTC', maintenanceWindows: [], paused: false });
    expect(p.origins).toEqual({});
  });
});

describe('rule resolution (scoped constraints)', () => {
  const files = [
    policy('base.yaml', 'base', 'constraints:\n  capacity:\n    maxUtilization: 85%\n  allowInUse: false\n'),
    policy(
      'gold.yaml',
      'gold',
      'scope:\n  volumeTypes: [gold]\n  backends: [fast]\nconstraints:\n  capacity:\n    maxUtilization: 90%\n  allowInUse: true\n  antiAffinity:\n    - labelKey: app\n  pinnedVolumes: [pg-primary-*]\n',
      5,
    ),
    policy('tight.yaml', 'tight', 'scope:\n  pools: ["ballast@fast#ssd-a"]\nconstraints:\n  capacity:\n    maxUtilization: 70%\n', 5),
    policy('drain.yaml', 'drain', 'scope:\n  pools: ["ballast@capacity#hdd-b"]\nconstraints:\n  drainPools: ["ballast@capacity#hdd-b"]\n'),
    policy('cold.yaml', 'cold', 'scope:\n  volumeMetadata:\n    tier: cold\nconstraints:\n  excludeDestinations: ["ballast@fast#*"]\n'),
  ];
  const p = compiled(files);
  const pool = (name: string) => ({ name, availabilityZone: 'nova' });
  const vol = (over: Partial<VolumeFacts>): VolumeFacts => ({
    id: 'v1',
    name: 'vol',
    volumeType: 'standard',
    projectId: 'p1',
    metadata: {},
    pool: pool('ballast@capacity#hdd-a'),
    ...over,
  });

  test.each([
    { name: 'base only', pool: 'ballast@capacity#hdd-a', want: 85, rules: ['base', 'cold'] },
    { name: 'higher priority wins over base', pool: 'ballast@fast#ssd-b', want: 90, rules: ['base', 'cold', 'gold'] },
    { name: 'equal priority: the strictest wins', pool: 'ballast@fast#ssd-a', want: 70, rules: ['base', 'cold', 'gold', 'tight'] },
  ])('pool limits: $name', ({ pool: name, want, rules }) => {
    const r = resolvePool(p, pool(name));
    expect(r.maxUtilizationPct).toBe(want);
    expect(r.rules).toEqual(rules);
  });

  test.each([
    { name: 'standard volume: base forbids in-use moves', v: vol({}), want: { allowInUse: false, pinned: false, mustLeave: false } },
    { name: 'gold volume on fast: gold (priority 5) allows in-use moves', v: vol({ volumeType: 'gold', pool: pool('ballast@fast#ssd-a') }), want: { allowInUse: true, pinned: false, mustLeave: false } },
    { name: 'gold volume off fast is not in gold scope', v: vol({ volumeType: 'gold' }), want: { allowInUse: false, pinned: false, mustLeave: false } },
    { name: 'pinned by name pattern', v: vol({ volumeType: 'gold', name: 'pg-primary-1', pool: pool('ballast@fast#ssd-b') }), want: { allowInUse: true, pinned: true, mustLeave: false } },
    { name: 'volume on a drained pool must leave', v: vol({ pool: pool('ballast@capacity#hdd-b') }), want: { allowInUse: false, pinned: false, mustLeave: true } },
  ])('volumes: $name', ({ v, want }) => {
    const r = resolveVolume(p, v);
    expect({ allowInUse: r.allowInUse, pinned: r.pinned, mustLeave: r.mustLeave }).toEqual(want);
    expect(r.keepWithinAvailabilityZone).toBe(true);
  });

  test('a drained pool is closed to every volume; excluded destinations only to the scope', () => {
    expect(resolveVolume(p, vol({})).forbiddenDestinationPatterns).toEqual(['ballast@capacity#hdd-b']);
    expect(resolveVolume(p, vol({ metadata: { tier: 'cold' } })).forbiddenDestinationPatterns).toEqual(['ballast@capacity#hdd-b', 'ballast@fast#*']);
  });

  test('anti-affinity groups come from the covering rules', () => {
    expect(resolveVolume(p, vol({ volumeType: 'gold', pool: pool('ballast@fast#ssd-a') })).antiAffinity).toEqual([{ labelKey: 'app', across: 'pool' }]);
    expect(resolveVolume(p, vol({})).antiAffinity).toEqual([]);
  });
});
