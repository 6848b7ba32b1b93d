import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { parseInventoryFile, planJsonSchema, planJsonSchemaText, readPlanFile, renderPlanJson } from '../../src/planner/index.js';
import { FileValidationError } from '../../src/shared/index.js';
import { goldenPlan, inventory, pool, volume } from './planner-fixtures.js';

const SCHEMA_FILE = 'policies/plan.schema.json';

/** The problems a read reports, as `line:col path: message`. */
function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (e) {
    if (e instanceof FileValidationError) return e.problems.map((p) => `${p.location.line}:${p.location.col} ${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('plan JSON Schema', () => {
  test('the committed policies/plan.schema.json is up to date (regenerate with BALLAST_UPDATE_SCHEMA=1)', () => {
    const fresh = planJsonSchemaText();
    if (process.env['BALLAST_UPDATE_SCHEMA'] === '1') writeFileSync(SCHEMA_FILE, fresh);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(fresh);
  });

  test('ajv compiles it in strict mode and accepts a real plan file', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
    expect(validate(JSON.parse(renderPlanJson(goldenPlan())))).toBe(true);
    expect(planJsonSchema()['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});

describe('readPlanFile', () => {
  test('round trip: render, read back, render again: the same plan and the same bytes', () => {
    const plan = goldenPlan();
    const text = renderPlanJson(plan);
    const back = readPlanFile('plan.json', text);
    expect(back).toEqual(JSON.parse(JSON.stringify(plan)));
    expect(renderPlanJson(back)).toBe(text);
  });

  const good = renderPlanJson(goldenPlan());
  /** `line:col` of the first occurrence of `needle` in `text`, plus `offset` columns. */
  const at = (text: string, needle: string, offset = 0) => {
    const i = text.indexOf(needle);
    const before = text.slice(0, i).split('\n');
    return `${before.length}:${before[before.length - 1]!.length + 1 + offset}`;
  };
  const bad = good.replace('"kind": "live-copy"', '"kind": "teleport"').replace('"sizeGiB": 45', '"sizeGiB": "45"').replace('"notes": [', '"comment": 1,\n  "notes": [');
  const dep = good.replace('"dependsOn": []', '"dependsOn": ["m003"]');
  test.each([
    {
      name: 'an unknown key, a bad kind and a wrong type, all at once and located',
      text: bad,
      want: [
        `${at(bad, '"teleport"')} moves[0].kind: expected one of 'retype-in-place', 'driver-assisted', 'generic-copy', 'live-copy'`,
        `${at(bad, '"45"')} moves[1].sizeGiB: must be number`,
        `${at(bad, '"comment"')} comment: unknown key 'comment'`,
      ],
    },
    { name: 'a wrong schema id', text: good.replace('"ballast.io/plan/v1"', '"ballast.io/plan/v0"'), want: [`2:13 schema: expected 'ballast.io/plan/v1'`] },
    { name: 'a dependency on a later move', text: dep, want: [`${at(dep, '"m003"')} moves[0].dependsOn[0]: 'm003' is not an earlier move of this plan`] },
    { name: 'a move id that is not mNNN', text: good.replace('"id": "m001"', '"id": "move-1"'), want: [`${at(good, '"m001"')} moves[0].id: must match pattern "^m\\d{3,}$"`] },
  ])('located errors: $name', ({ text, want }) => {
    expect(problemsOf(() => readPlanFile('plan.json', text))).toEqual(want);
  });

  test('a JSON syntax error is located', () => {
    const problems = problemsOf(() => readPlanFile('plan.json', good.slice(0, 200)));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^\d+:\d+ /);
  });

  test('a read error carries the PLAN_INVALID code and names the file', () => {
    expect(() => readPlanFile('dir/plan.json', '{}')).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', message: expect.stringMatching(/^dir\/plan\.json: \d+ problems/) }));
  });
});

describe('parseInventoryFile', () => {
  const inv = inventory([pool('a', 100, 10)], [volume('v1', 'ballast@fast#a', 10)]);
  test('accepts an inventory as saved', () => {
    expect(parseInventoryFile('inv.json', JSON.stringify(inv, null, 2))).toEqual(inv);
  });
  test.each([
    { name: 'wrong schema', edit: (o: Record<string, unknown>) => ({ ...o, schema: 'ballast.io/inventory/v0' }), want: /^2:\d+ schema: / },
    { name: 'volume on an unknown pool', edit: (o: Record<string, unknown>) => ({ ...o, volumes: [{ ...(o['volumes'] as object[])[0], pool: 'x@y#z' }] }), want: /volumes\[0\]\.pool: pool 'x@y#z' is not among/ },
    { name: 'size as a string', edit: (o: Record<string, unknown>) => ({ ...o, volumes: [{ ...(o['volumes'] as object[])[0], sizeGiB: '10' }] }), want: /volumes\[0\]\.sizeGiB: expected number/ },
  ])('refuses $name with a located problem', ({ edit, want }) => {
    const text = JSON.stringify(edit(JSON.parse(JSON.stringify(inv)) as Record<string, unknown>), null, 2);
    const problems = problemsOf(() => parseInventoryFile('inv.json', text));
    expect(problems.some((p) => want.test(p)), problems.join('\n')).toBe(true);
  });
});
