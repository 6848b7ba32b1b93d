/**
 * Scenario files: every bad input gets a located problem (file:line:col, path, message) and
 * nothing runs; good ones compile to the expected times and actions. The committed JSON Schema
 * matches the zod schema and accepts every example.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { describe, expect, test } from 'vitest';
import { FileValidationError } from '../../src/shared/index.js';
import { openScenario, scenarioJsonSchema, scenarioJsonSchemaText } from '../../src/simulator/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SIM = join(ROOT, 'simulations');
const BASE = join(SIM, 'bases', 'small-fleet.json');
const POLICY = join(SIM, 'policies', 'balance.yaml');
const dir = mkdtempSync(join(tmpdir(), 'ballast-scenario-'));

const HEAD = `apiVersion: ballast.io/v1
kind: Scenario
metadata:
  name: t
base:
  inventory: ${BASE}
policies:
  - ${POLICY}
`;

function problemsOf(text: string): string[] {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  try {
    openScenario(file, { displayName: 'scn.yaml' });
  } catch (e) {
    if (e instanceof FileValidationError) {
      expect(e.code).toBe(e.code === 'SCENARIO_INVALID' ? 'SCENARIO_INVALID' : 'INVENTORY_INVALID');
      return e.problems.map((p) => `${p.location.file}:${p.location.line}:${p.location.col}: ${p.message}`);
    }
    throw e;
  }
  return [];
}

describe('bad scenarios get located problems', () => {
  test.each([
    ['a horizon of zero', `${HEAD}horizon: 0d\n`, 'scn.yaml:9:10: the horizon must be longer than zero'],
    ['an unknown key, with a did-you-mean', `${HEAD}horizon: 30d\nrebalanse:\n  every: 7d\n`, "scn.yaml:10:1: unknown key 'rebalanse' (did you mean 'rebalance'?)"],
    ['a bad duration', `${HEAD}horizon: 30 days\n`, "scn.yaml:9:10: expected a duration such as '15m', '2h' or '1h30m', found '30 days' (did you mean '30d'?)"],
    ['rebalancing less often than the horizon', `${HEAD}horizon: 30d\nrebalance:\n  every: 60d\n`, 'scn.yaml:11:10: every 60d is longer than the horizon 30d'],
    [
      'an unknown pool, with a did-you-mean',
      `${HEAD}horizon: 30d\nevents:\n  - at: 5d\n    removePool: ballast@capacity#hdd-c\n`,
      "scn.yaml:12:17: unknown pool ballast@capacity#hdd-c (did you mean 'ballast@capacity#hdd-a'?) at that time",
    ],
    [
      'a pool used after it was removed',
      `${HEAD}horizon: 30d\nevents:\n  - at: 10d\n    failPool: ballast@fast#ssd-b\n  - at: 5d\n    removePool: ballast@fast#ssd-b\n`,
      'scn.yaml:12:15: unknown pool ballast@fast#ssd-b',
    ],
    ['an event after the horizon', `${HEAD}horizon: 30d\nevents:\n  - at: 30d\n    drain: ["ballast@fast#ssd-a"]\n`, 'scn.yaml:11:9: 30d is not before the end of the horizon (30d)'],
    ['an event before the start', `${HEAD}horizon: 30d\nstart: 2027-02-01\nevents:\n  - at: 2027-01-15\n    drain: ["ballast@fast#ssd-a"]\n`, 'scn.yaml:12:9: 2027-01-15 is before the start of the scenario'],
    [
      'two actions in one event',
      `${HEAD}horizon: 30d\nevents:\n  - at: 1d\n    drain: ["ballast@fast#ssd-a"]\n    failPool: ballast@fast#ssd-b\n`,
      'scn.yaml:11:5: expected one action per event, found drain and failPool',
    ],
    [
      'overlapping growth of one scope',
      `${HEAD}horizon: 60d\nevents:\n  - at: 0d\n    growth: { volumeType: standard, rate: 10GiB/d, until: 30d }\n  - at: 20d\n    growth: { volumeType: standard, rate: 5GiB/d }\n`,
      'scn.yaml:14:13: overlapping events: this growth of type standard overlaps the one at scn.yaml:11:5',
    ],
    [
      'two removals of one pool at the same time',
      `${HEAD}horizon: 60d\nevents:\n  - at: 3d\n    failPool: ballast@fast#ssd-a\n  - at: 3d\n    failPool: ballast@fast#ssd-a\n`,
      'scn.yaml:14:15: overlapping events: failPool ballast@fast#ssd-a at the same time as failPool ballast@fast#ssd-a (scn.yaml:11:5)',
    ],
    [
      'negative growth beyond the fleet',
      `${HEAD}horizon: 60d\nevents:\n  - at: 0d\n    growth: { pool: ballast@fast#ssd-b, rate: -20GiB/d }\n`,
      'scn.yaml:12:47: negative growth beyond the fleet: removes 1200 GiB but pool ballast@fast#ssd-b holds 500 GiB',
    ],
    ['a bad growth rate', `${HEAD}horizon: 60d\nevents:\n  - at: 0d\n    growth: { pool: ballast@fast#ssd-b, rate: 20GB/day }\n`, "scn.yaml:12:47: expected a growth rate such as '20GiB/d'"],
    ['an unknown volume type', `${HEAD}horizon: 60d\nevents:\n  - at: 0d\n    growth: { volumeType: platinium, rate: 1GiB/d }\n`, 'scn.yaml:12:27: no volume type platinium'],
    ['adding a pool that exists', `${HEAD}horizon: 60d\nevents:\n  - at: 0d\n    addPool: { name: ballast@fast#ssd-a, size: 1TiB }\n`, 'scn.yaml:12:22: pool ballast@fast#ssd-a already exists at that time'],
    ['a missing policy file', HEAD.replace(POLICY, 'nope.yaml') + 'horizon: 30d\n', 'scn.yaml:8:5: no policy file nope.yaml'],
    ['a missing base inventory', HEAD.replace(BASE, 'nope.json') + 'horizon: 30d\n', 'scn.yaml:6:14: no inventory file nope.json'],
    ['no base at all', HEAD.replace(`base:\n  inventory: ${BASE}\n`, 'base: {}\n') + 'horizon: 30d\n', 'scn.yaml:5:7: expected exactly one of inventory or generate'],
    ['a wrong kind', HEAD.replace('kind: Scenario', 'kind: Policy') + 'horizon: 30d\n', 'scn.yaml:2:7:'],
    ['an empty file', '', "scn.yaml:1:1: the file is empty: expected a scenario starting with 'apiVersion: ballast.io/v1'"],
    ['bad YAML', `${HEAD}horizon: [30d\n`, 'scn.yaml:'],
  ])('%s', (_name, text, expected) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(expected);
  });

  test('a policy set that does not compile is refused before anything runs, with its own located problems', () => {
    const bad = join(dir, 'bad-policy.yaml');
    writeFileSync(bad, 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: bad\nconstraints:\n  capacity:\n    maxUtilization: 185%\n');
    const file = join(dir, 'uses-bad-policy.yaml');
    writeFileSync(file, `${HEAD}horizon: 30d\nevents:\n  - at: 10d\n    policies: [${bad}]\n`);
    let err: unknown;
    try {
      openScenario(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileValidationError);
    expect((err as FileValidationError).code).toBe('POLICY_INVALID');
    expect((err as FileValidationError).problems.map((p) => `${p.location.line}:${p.location.col} ${p.message}`).join('\n')).toContain('7:21');
  });

  test('every problem of a file is reported at once', () => {
    const problems = problemsOf(`${HEAD}horizon: 30d\nevents:\n  - at: 5d\n    removePool: ballast@nowhere#x\n  - at: 40d\n    failPool: ballast@fast#ssd-a\n`);
    expect(problems).toHaveLength(2);
  });
});

describe('good scenarios compile', () => {
  test('times, growth shapes and actions', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(
      file,
      `${HEAD}start: 2027-03-01\nhorizon: 90d\nrebalance: { every: 7d, first: 1d }\nevents:\n  - at: 2027-03-11\n    drain: ["ballast@capacity#*"]\n  - at: 0d\n    growth: { volumeType: standard, rate: 3%/mo }\n  - at: 0d\n    growth: { pool: ballast@fast#ssd-a, curve: [{ at: 10d, add: 100GiB }, { at: 20d, add: -50GiB }] }\n  - at: 5d\n    addBackend: { name: ballast@new, pools: [{ name: p1, size: 2TiB }] }\n`,
    );
    const { scenario: s, policyTexts } = openScenario(file);
    expect(s.startMs).toBe(Date.parse('2027-03-01T00:00:00Z'));
    expect(s.rebalance).toEqual({ everyMs: 7 * 86_400_000, firstMs: 86_400_000 });
    expect(s.events.map((e) => [e.atMs / 86_400_000, e.action.kind])).toEqual([
      [0, 'growth'],
      [0, 'growth'],
      [5, 'addPools'],
      [10, 'drain'],
    ]);
    const g = s.events[0]!.action;
    expect(g.kind === 'growth' && g.growth.shape.kind === 'compound' && Math.pow(1 + g.growth.shape.perDay, 30)).toBeCloseTo(1.03, 10);
    const add = s.events[2]!.action;
    expect(add.kind === 'addPools' && add.pools[0]).toMatchObject({ name: 'ballast@new#p1', backend: 'ballast@new', volumeBackendName: 'new', totalGiB: 2048, thin: true });
    expect([...policyTexts.keys()]).toEqual([POLICY]);
  });
});

describe('JSON Schema', () => {
  test('the committed simulations/scenario.schema.json is the generated one', () => {
    const path = join(SIM, 'scenario.schema.json');
    if (process.env['UPDATE_GOLDENS'] === '1') writeFileSync(path, scenarioJsonSchemaText());
    expect(readFileSync(path, 'utf8')).toBe(scenarioJsonSchemaText());
  });

  test('every example scenario passes the JSON Schema (ajv), and a broken one does not', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(scenarioJsonSchema());
    const examples = readdirSync(SIM).filter((f) => f.endsWith('.yaml'));
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const f of examples) {
      const ok = validate(parseYaml(readFileSync(join(SIM, f), 'utf8')));
      expect({ f, ok, errors: validate.errors ?? null }).toEqual({ f, ok: true, errors: null });
    }
    expect(validate({ apiVersion: 'ballast.io/v1', kind: 'Scenario', metadata: { name: 'x' }, base: {}, horizon: 'soon', policies: ['p.yaml'] })).toBe(false);
  });
});
