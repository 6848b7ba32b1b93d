import { describe, expect, test } from 'vitest';
import { checkPolicies, type PolicyInventory } from '../../src/policy/index.js';
import { formatLocation } from '../../src/shared/index.js';

const DEMO: PolicyInventory = {
  pools: ['ballast@fast#ssd-a', 'ballast@fast#ssd-b', 'ballast@capacity#hdd-a', 'ballast@capacity#hdd-b'],
  backends: ['fast', 'capacity'],
  volumeTypes: ['gold', 'standard'],
  availabilityZones: ['nova'],
};

const HEADER = 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: refs\n';

describe('references checked against an inventory', () => {
  test.each([
    { name: 'known names pass', body: 'scope:\n  volumeTypes: [gold]\n  backends: [fast]\n  availabilityZones: [nova]\n', want: [] },
    { name: 'globs that match pass', body: 'constraints:\n  drainPools: ["*#hdd-?"]\n', want: [] },
    { name: 'host@backend back-ends pass', body: 'scope:\n  backends: ["ballast@capacity"]\n', want: [] },
    {
      name: 'unknown volume type, with a suggestion',
      body: 'scope:\n  volumeTypes: [gold, standrd]\n',
      want: ["refs.yaml:6:23 scope.volumeTypes[1]: unknown volume type 'standrd' in the inventory (did you mean 'standard'?)"],
    },
    {
      name: 'unknown pool in drainPools',
      body: 'constraints:\n  drainPools:\n    - ballast@capacity#hdd-c\n',
      want: ["refs.yaml:7:7 constraints.drainPools[0]: unknown pool 'ballast@capacity#hdd-c' in the inventory (did you mean 'ballast@capacity#hdd-a'?)"],
    },
    {
      name: 'a pool pattern that matches nothing',
      body: 'scope:\n  pools: ["ballast@slow#*"]\n',
      want: ["refs.yaml:6:11 scope.pools[0]: pool pattern 'ballast@slow#*' matches no pool in the inventory (did you mean 'ballast@fast#*'?)"],
    },
    {
      name: 'unknown back-end lists the known ones when nothing is close',
      body: 'scope:\n  backends: [ceph-nvme]\n',
      want: ["refs.yaml:6:14 scope.backends[0]: unknown back-end 'ceph-nvme' in the inventory (known: capacity, fast)"],
    },
    {
      name: 'unknown availability zone',
      body: 'scope:\n  availabilityZones: [nvoa]\n',
      want: ["refs.yaml:6:23 scope.availabilityZones[0]: unknown availability zone 'nvoa' in the inventory (did you mean 'nova'?)"],
    },
    {
      name: 'pricing and excluded destinations are references too',
      body: 'constraints:\n  excludeDestinations: ["ballast@fast#ssd-z"]\nobjectives:\n  cost:\n    pricing:\n      - pools: "ballast@fastt#*"\n        perGiBMonth: 1\n',
      want: [
        "refs.yaml:6:25 constraints.excludeDestinations[0]: unknown pool 'ballast@fast#ssd-z' in the inventory (did you mean 'ballast@fast#ssd-a'?)",
        "refs.yaml:10:16 objectives.cost.pricing[0].pools: pool pattern 'ballast@fastt#*' matches no pool in the inventory (did you mean 'ballast@fast#*'?)",
      ],
    },
  ])('$name', ({ body, want }) => {
    const r = checkPolicies([{ file: 'refs.yaml', text: HEADER + body }], { inventory: DEMO });
    expect(r.problems.map((p) => `${formatLocation(p.location)} ${p.path}: ${p.message}`)).toEqual(want);
    expect(r.ok).toBe(want.length === 0);
  });

  test('without an inventory, references are not checked', () => {
    const r = checkPolicies([{ file: 'refs.yaml', text: `${HEADER}scope:\n  volumeTypes: [platinum]\n` }]);
    expect(r.problems).toEqual([]);
  });

  test('an empty inventory says it has none', () => {
    const r = checkPolicies([{ file: 'refs.yaml', text: `${HEADER}scope:\n  volumeTypes: [gold]\n` }], {
      inventory: { pools: [], backends: [], volumeTypes: [], availabilityZones: [] },
    });
    expect(r.problems.map((p) => p.message)).toEqual(["unknown volume type 'gold' in the inventory (the inventory has none)"]);
  });
});
