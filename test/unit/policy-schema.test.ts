import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { POOL_PATTERN } from '../../src/policy/globs.js';
import { checkPolicies, policyJsonSchema, policyJsonSchemaText } from '../../src/policy/index.js';
import { formatLocation, parseYamlSource } from '../../src/shared/index.js';

const SCHEMA_FILE = 'policies/policy.schema.json';

/** An editor's view: ajv errors placed on the YAML lines they are about. */
function editorDiagnostics(file: string, text: string): string[] {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  const source = parseYamlSource(file, text);
  if (validate(source.value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const path = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : null;
    const loc = extra ? source.locate([...path, extra], 'key') : source.locate(path);
    return `${formatLocation(loc)} ${e.instancePath || '/'} ${e.message ?? e.keyword}${extra ? ` '${extra}'` : ''}`;
  });
}

describe('policy JSON Schema', () => {
  test('the committed policies/policy.schema.json is up to date (regenerate: ballast policy schema > policies/policy.schema.json)', () => {
    const fresh = policyJsonSchemaText();
    if (process.env['BALLAST_UPDATE_SCHEMA'] === '1') writeFileSync(SCHEMA_FILE, fresh);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(fresh);
  });

  test('ajv accepts it in strict mode (draft 2020-12)', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    expect(() => ajv.compile(policyJsonSchema())).not.toThrow();
    expect(policyJsonSchema()['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  test('every property has a description, every object is closed', () => {
    const missing: string[] = [];
    const open: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      if (o['type'] === 'object' && o['properties'] && o['additionalProperties'] !== false) open.push(where);
      if (o['properties'] && typeof o['properties'] === 'object') {
        for (const [k, v] of Object.entries(o['properties'] as Record<string, Record<string, unknown>>)) {
          if (typeof v['description'] !== 'string' || v['description'].length < 10) missing.push(`${where}.${k}`);
        }
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
    };
    walk(policyJsonSchema(), '#');
    expect(missing).toEqual([]);
    expect(open).toEqual([]);
  });

  test.each(readdirSync('policies').filter((f) => f.endsWith('.yaml')))('editor validation accepts policies/%s', (f) => {
    const file = join('policies', f);
    expect(editorDiagnostics(file, readFileSync(file, 'utf8'))).toEqual([]);
  });

  test('editor validation of a broken policy: each error on its line', () => {
    const text = [
      '# yaml-language-server: $schema=./policy.schema.json',
      'apiVersion: ballast.io/v1',
      'kind: PlacementPolicy',
      'metadata:',
      '  name: broken',
      'constraints:',
      '  capacity:',
      '    maxUtilization: 85',
      '  drainPools: [ssd-a]',
      'objectives:',
      '  balance:',
      '    metirc: max',
      '',
    ].join('\n');
    expect(editorDiagnostics('policies/broken.yaml', text)).toEqual([
      'policies/broken.yaml:8:21 /constraints/capacity/maxUtilization must be string',
      `policies/broken.yaml:9:16 /constraints/drainPools/0 must match pattern "${POOL_PATTERN}"`,
      "policies/broken.yaml:12:5 /objectives/balance must NOT have additional properties 'metirc'",
    ]);
  });

  test.each([
    'unknown-key.yaml',
    'decimal-size.yaml',
    'bad-enum.yaml',
    'bad-pool.yaml',
    'wrong-types.yaml',
    'bad-units.yaml',
    'wrong-api-version.yaml',
    'missing-name.yaml',
    'empty-selector.yaml',
    'bad-percent.yaml',
  ])('the JSON Schema rejects test/fixtures/policies-broken/%s like the zod schema does', (f) => {
    const value: unknown = parse(readFileSync(join('test/fixtures/policies-broken', f), 'utf8'));
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    expect(ajv.validate(policyJsonSchema(), value)).toBe(false);
  });
});

describe('docs/policy-language.md', () => {
  const doc = readFileSync('docs/policy-language.md', 'utf8');

  test('its complete example is a valid policy', () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const r = checkPolicies([{ file: 'docs/policy-language.md#example', text: example! }]);
    expect(r.problems).toEqual([]);
    // It uses every section.
    for (const key of ['scope', 'constraints', 'objectives', 'execution', 'when']) expect(example).toContain(`\n${key}:`);
  });

  test('its reference lists every field of the schema', () => {
    const leaves: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      const props = node['properties'] as Record<string, Record<string, unknown>> | undefined;
      if (props && node['additionalProperties'] === false) {
        for (const [k, v] of Object.entries(props)) walk(v, path ? `${path}.${k}` : k);
        return;
      }
      const items = node['items'] as Record<string, unknown> | undefined;
      if (node['type'] === 'array' && items?.['properties']) return walk(items, `${path}[]`);
      leaves.push(path);
    };
    walk(policyJsonSchema(), '');
    expect(leaves.length).toBeGreaterThan(50);
    expect(leaves.filter((l) => !doc.includes(`\`${l}\``))).toEqual([]);
  });
});
