import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkPolicies } from '../../src/policy/index.js';
import { formatLocation } from '../../src/shared/index.js';

const DIR = 'test/fixtures/policies-broken';

/**
 * Every broken fixture with every problem it must report: `line:col`, document path, and a
 * fragment of the message. A fixture missing from this table fails the last test.
 */
const cases: { file: string; want: { at: string; path: string; says: string }[] }[] = [
  { file: 'affinity-conflict.yaml', want: [{ at: '10:17', path: 'constraints.affinity[0].labelKey', says: "found label 'app' in both affinity and antiAffinity" }] },
  { file: 'bad-cron.yaml', want: [{ at: '7:13', path: 'when.schedule', says: "expected a cron expression such as '0 */6 * * *', found '61 * * * *'" }] },
  {
    file: 'bad-enum.yaml',
    want: [
      { at: '9:13', path: 'objectives.balance.metric', says: "found 'spred' (did you mean 'spread'?)" },
      { at: '12:22', path: 'execution.retype.migrationPolicy', says: "found 'ondemand' (did you mean 'on-demand'?)" },
    ],
  },
  {
    file: 'bad-percent.yaml',
    want: [
      { at: '8:21', path: 'constraints.capacity.maxUtilization', says: "expected a percentage such as '85%', found 85 (write '85%')" },
      { at: '10:25', path: 'constraints.performance.maxIopsUtilization', says: "expected a percentage from 0% to 100%, found '120%'" },
    ],
  },
  { file: 'bad-pool.yaml', want: [{ at: '8:7', path: 'constraints.drainPools[0]', says: "found 'ssd-a' (pools are written host@backend#pool: '*#ssd-a'" }] },
  { file: 'bad-timezone.yaml', want: [{ at: '7:13', path: 'when.timeZone', says: "found 'Europe/Berln' (did you mean 'Europe/Berlin'?)" }] },
  {
    file: 'bad-units.yaml',
    want: [
      { at: '7:17', path: 'execution.maxBandwidth', says: 'not bits' },
      { at: '8:16', path: 'execution.moveTimeout', says: "found 30 (add a unit: '30m'?)" },
      { at: '9:17', path: 'execution.planValidFor', says: "found '15 minutes' (did you mean '15m'?)" },
    ],
  },
  {
    file: 'bad-window.yaml',
    want: [
      { at: '8:14', path: 'when.maintenanceWindows[0].days[0]', says: "found 'Sat' (did you mean 'sat'?)" },
      { at: '9:14', path: 'when.maintenanceWindows[0].start', says: "found '1:00' (did you mean '01:00'?)" },
      { at: '12:12', path: 'when.maintenanceWindows[1].end', says: 'the window would be empty' },
    ],
  },
  { file: 'binary-junk.yaml', want: [{ at: '2:16', path: '', says: 'binary data (NUL byte)' }] },
  {
    file: 'decimal-size.yaml',
    want: [{ at: '9:15', path: 'constraints.budgets.maxBytes', says: "'TB' is a decimal unit; Ballast sizes are binary, did you mean '2TiB'?" }],
  },
  { file: 'deep-nesting.yaml', want: [{ at: '1:1', path: '', says: 'nested deeper than 64 levels' }] },
  { file: 'duplicate-key.yaml', want: [{ at: '8:3', path: '', says: 'duplicate key' }] },
  { file: 'empty-selector.yaml', want: [{ at: '7:16', path: 'scope.volumeTypes', says: "found an empty list, which would select nothing: leave 'volumeTypes' out" }] },
  { file: 'empty.yaml', want: [{ at: '1:1', path: '', says: "the file is empty: expected a policy document starting with 'apiVersion: ballast.io/v1'" }] },
  { file: 'missing-name.yaml', want: [{ at: '5:3', path: 'metadata.name', says: 'required' }] },
  { file: 'syntax-error.yaml', want: [{ at: '5:1', path: '', says: 'Tabs are not allowed as indentation' }] },
  { file: 'top-level-list.yaml', want: [{ at: '2:1', path: '', says: 'expected object, found a list' }] },
  { file: 'unknown-key.yaml', want: [{ at: '8:5', path: 'constraints.capacity.maxUtilisation', says: "unknown key 'maxUtilisation' (did you mean 'maxUtilization'?)" }] },
  { file: 'wrong-api-version.yaml', want: [{ at: '2:13', path: 'apiVersion', says: "expected one of 'ballast.io/v1', found 'ballast.io/v2'" }] },
  {
    file: 'wrong-types.yaml',
    want: [
      { at: '7:15', path: 'constraints.allowInUse', says: "expected true or false, found 'yes' (write true without quotes)" },
      { at: '9:15', path: 'constraints.budgets.maxMoves', says: "expected number, found 'twenty'" },
      { at: '12:12', path: 'execution.maxConcurrent.total', says: 'expected int, found 2.5' },
    ],
  },
];

const load = (file: string) => ({ file: join(DIR, file), text: readFileSync(join(DIR, file)).toString('utf8') });

describe('broken policies fail with located problems', () => {
  test.each(cases)('$file', ({ file, want }) => {
    const r = checkPolicies([load(file)]);
    expect(r.ok).toBe(false);
    expect(r.policy).toBeNull();
    const got = r.problems.map((p) => ({ at: `${p.location.line}:${p.location.col}`, path: p.path, message: p.message, file: p.location.file }));
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => {
      const g = got[i]!;
      expect({ at: g.at, path: g.path, file: g.file }).toEqual({ at: w.at, path: w.path, file: join(DIR, file) });
      expect(g.message).toContain(w.says);
    });
  });

  test('every fixture in the folder is in the table', () => {
    const files = readdirSync(DIR).sort();
    expect(files).toEqual(cases.map((c) => c.file).sort());
  });

  test('checking the whole folder at once reports every file, sorted, each problem located', () => {
    const files = readdirSync(DIR).map(load);
    const r = checkPolicies(files);
    const failing = new Set(r.problems.map((p) => p.location.file));
    expect(failing.size).toBe(files.length);
    expect(r.problems.length).toBe(cases.reduce((n, c) => n + c.want.length, 0));
    const order = r.problems.map((p) => formatLocation(p.location));
    const sorted = [...r.problems]
      .sort((a, b) => (a.location.file < b.location.file ? -1 : a.location.file > b.location.file ? 1 : 0) || a.location.line - b.location.line || a.location.col - b.location.col)
      .map((p) => formatLocation(p.location));
    expect(order).toEqual(sorted);
  });
});

describe('missing values', () => {
  test.each([
    { name: 'missing kind', text: 'apiVersion: ballast.io/v1\nmetadata:\n  name: x\n', want: "kind: required: expected 'PlacementPolicy', found nothing" },
    { name: 'missing apiVersion', text: 'kind: PlacementPolicy\nmetadata:\n  name: x\n', want: "apiVersion: required: expected 'ballast.io/v1', found nothing" },
    { name: 'missing metadata', text: 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\n', want: 'metadata: required: expected object' },
    { name: 'missing window start', text: 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: x\nwhen:\n  maintenanceWindows:\n    - end: "05:00"\n', want: 'when.maintenanceWindows[0].start: required: expected string' },
  ])('$name', ({ text, want }) => {
    const r = checkPolicies([{ file: 'm.yaml', text }]);
    expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([want]);
  });
});

describe('did-you-mean for near-miss keys at any depth', () => {
  const header = 'apiVersion: ballast.io/v1\nkind: PlacementPolicy\nmetadata:\n  name: x\n';
  test.each([
    { body: 'scpoe:\n  volumeTypes: [gold]\n', want: "5:1 scpoe: unknown key 'scpoe' (did you mean 'scope'?)" },
    { body: 'when:\n  maintenanceWindows:\n    - strat: "01:00"\n      end: "02:00"\n', want: "7:7 when.maintenanceWindows[0].strat: unknown key 'strat' (did you mean 'start'?)" },
    { body: 'constraints:\n  antiAffinity:\n    - labelKey: app\n      acros: pool\n', want: "8:7 constraints.antiAffinity[0].acros: unknown key 'acros' (did you mean 'across'?)" },
    { body: 'objectives:\n  cost:\n    pricing:\n      - pool: "*#a"\n        perGiBMonth: 1\n', want: "8:9 objectives.cost.pricing[0].pool: unknown key 'pool' (did you mean 'pools'?)" },
    { body: 'execution:\n  maxConcurent:\n    total: 1\n', want: "6:3 execution.maxConcurent: unknown key 'maxConcurent' (did you mean 'maxConcurrent'?)" },
  ])('$want', ({ body, want }) => {
    const r = checkPolicies([{ file: 'k.yaml', text: header + body }]);
    const problems = r.problems.filter((p) => p.message.startsWith('unknown key'));
    expect(problems.map((p) => `${p.location.line}:${p.location.col} ${p.path}: ${p.message}`)).toEqual([want]);
  });
});
