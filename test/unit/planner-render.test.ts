import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { renderPlan, type PlanFormat } from '../../src/planner/index.js';
import { goldenPlan } from './planner-fixtures.js';

const DIR = 'test/fixtures/plans';

describe('golden renderings of a small fixed plan', () => {
  test.each([
    ['markdown', 'small.md'],
    ['table', 'small.txt'],
    ['json', 'small.json'],
  ] as const)('%s matches %s (regenerate with BALLAST_UPDATE_GOLDENS=1)', (format: PlanFormat, file) => {
    const text = renderPlan(goldenPlan(), format);
    if (process.env['BALLAST_UPDATE_GOLDENS'] === '1') {
      mkdirSync(DIR, { recursive: true });
      writeFileSync(`${DIR}/${file}`, text);
    }
    expect(text).toBe(readFileSync(`${DIR}/${file}`, 'utf8'));
  });

  test('the golden plan exercises what reviewers read: kinds, a dependency, a rule, attached volumes', () => {
    const plan = goldenPlan();
    expect(new Set(plan.moves.map((m) => m.kind))).toEqual(new Set(['driver-assisted', 'live-copy', 'generic-copy']));
    expect(plan.moves.some((m) => m.dependsOn.length > 0)).toBe(true);
    expect(plan.moves.filter((m) => m.serves.includes('drain-hdd-b'))).toHaveLength(2);
  });
});
